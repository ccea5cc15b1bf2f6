// Each connector's Symphony side, through the wizard's own Test connection functions: sign-in with the
// stored RSA key (REST source, Files API) or the SFTP server, the roles the API says are missing, and
// the pod's clock against ours (the login JWT is short-lived).
import { testFilesApi, testSftp, type FilesApiOptions } from "@/lib/content-export";
import { decryptBotKey, decryptSftpCredential } from "@/lib/connectors";
import type { Connector } from "@/lib/generated/prisma/client";
import { JWT_LIFETIME_SECONDS, testConnection, type ResponseEvent, type SymphonyClientOptions } from "@/lib/symphony";
import { clockOffsetMs, clockOutcome, duration, type ClockLimits } from "./clock";
import { guarded, skipped } from "./guard";
import type { CheckGroup, CheckResult, Outcome } from "./types";

export type ConnectorCheckOptions = {
  /** SYMPHONY_ALLOW_PRIVATE_HOSTS */
  allowPrivateHosts: boolean;
  /** Per request. */
  requestTimeoutMs: number;
};

/** The group of one connector's checks, and the secrets it used (for the report to be scrubbed of). */
export type ConnectorChecks = { group: CheckGroup; secrets: string[] };

const POD_LOGIN = "POST /login/pubkey/authenticate";
const KEY_MANAGER_LOGIN = "POST /relay/pubkey/authenticate";
const FILES_TOKEN = "POST /login/idm/tokens";

/**
 * Symphony takes a login JWT whose expiry is between its own now and five minutes later
 * (rest-api.symphony.com/main/bot-authentication/rsa-session-authenticate); the connector signs it
 * for JWT_LIFETIME_SECONDS. So our clock may run ahead of the pod's by the rest of those five
 * minutes, and behind it by the JWT's lifetime.
 */
const SYMPHONY_CLOCK: ClockLimits = {
  aheadMs: (300 - JWT_LIFETIME_SECONDS) * 1000,
  behindMs: JWT_LIFETIME_SECONDS * 1000,
  because: `Symphony accepts a login JWT only while it expires within 5 minutes of the pod's time, and the connector signs it for ${duration(JWT_LIFETIME_SECONDS * 1000)}.`,
};

export async function connectorChecks(connector: Connector, options: ConnectorCheckOptions): Promise<ConnectorChecks> {
  const secrets: string[] = [];
  const source =
    connector.sourceKind === "DATAHOSE"
      ? "real time (Datahose)"
      : connector.sourceKind === "CONVERSATIONS"
        ? "conversations of the service account"
        : connector.exportDelivery === "SFTP"
          ? "Content Export through SFTP"
          : "Content Export through the File Management API";
  const checks =
    connector.sourceKind === "CONVERSATIONS" || connector.sourceKind === "DATAHOSE"
      ? await restChecks(connector, options, secrets)
      : connector.exportDelivery === "SFTP"
        ? await sftpChecks(connector, options, secrets)
        : await filesApiChecks(connector, options, secrets);
  return {
    group: { id: `connector.${connector.id}`, title: `Connector "${connector.name}": ${source}`, checks },
    secrets,
  };
}

type Ids = { signIn: CheckResult["id"]; roles: CheckResult["id"]; clock: CheckResult["id"] };

function idsOf(connector: Connector): Ids {
  const prefix = `connector.${connector.id}`;
  return { signIn: `${prefix}.signin`, roles: `${prefix}.roles`, clock: `${prefix}.clock` };
}

const KEY_FIX =
  "Set SECRETS_KEY to the value the connector was saved with (npm start keeps a generated one in DATA_DIR/secrets.json), " +
  "or enter the key again in the connector's Source step (Edit).";
const SETTINGS_FIX = "Complete the connector's Source step (Edit), then run the checks again.";

/** The stored bot key, or why it cannot be used. */
function botKey(connector: Connector, secrets: string[]): { pem: string } | { outcome: Outcome } {
  if (!connector.privateKeyEncrypted) {
    return {
      outcome: { status: "fail", detail: "No private key of the service account is on file.", fix: SETTINGS_FIX },
    };
  }
  try {
    const pem = decryptBotKey({ stored: { connectorId: connector.id, ciphertext: connector.privateKeyEncrypted } });
    secrets.push(pem);
    return { pem };
  } catch {
    return {
      outcome: {
        status: "fail",
        detail: "The stored private key cannot be decrypted with this SECRETS_KEY.",
        fix: KEY_FIX,
      },
    };
  }
}

function answered(events: ResponseEvent[], endpoint: string, status: number): boolean {
  return events.some((event) => event.endpoint === endpoint && event.status === status);
}

function clockCheck(id: string, events: ResponseEvent[]): CheckResult {
  const title = "Clock (Symphony pod)";
  const offset = clockOffsetMs(events);
  return offset === undefined
    ? skipped(id, title, "The pod did not answer, so its time is not known.")
    : { id, title, ...clockOutcome("the Symphony pod", offset, SYMPHONY_CLOCK) };
}

/** A sign-in failure, with the clock named when it is the likely cause. */
function signInFailure(reason: string, events: ResponseEvent[]): Outcome {
  const offset = clockOffsetMs(events);
  const skewed =
    offset !== undefined && (-offset > SYMPHONY_CLOCK.aheadMs || offset > SYMPHONY_CLOCK.behindMs)
      ? ` This server's clock is ${duration(Math.abs(offset))} ${offset < 0 ? "ahead of" : "behind"} the pod's, which alone makes the pod refuse the login JWT: see the clock check.`
      : "";
  return { status: "fail", detail: `${reason}${skewed}` };
}

type TestReport = { ok: true } | { ok: false; reason: string };

/** How one Symphony source is tested with the wizard's Test connection, and what its answers mean. */
type SymphonySource<R extends TestReport> = {
  signInTitle: string;
  rolesTitle: string;
  /** What is missing from the saved settings, or undefined. */
  missing: string | undefined;
  test(privateKeyPem: string, options: FilesApiOptions & SymphonyClientOptions): Promise<R>;
  /** Signed in although the test failed later (a role missing): what the answers show. */
  signedIn(events: ResponseEvent[]): boolean;
  signedInDetail(events: ResponseEvent[], report: R): string;
  rolesDetail(report: Extract<R, { ok: true }>): string;
  rolesFix(events: ResponseEvent[]): string | undefined;
};

/** Sign-in, then the roles the API says are missing (when signed in), then the pod's clock. */
async function symphonyChecks<R extends TestReport>(
  connector: Connector,
  options: ConnectorCheckOptions,
  secrets: string[],
  source: SymphonySource<R>,
): Promise<CheckResult[]> {
  const ids = idsOf(connector);
  const notSignedIn = skipped(ids.roles, source.rolesTitle, "Not signed in: see the sign-in check.");
  if (source.missing) {
    return [
      { id: ids.signIn, title: source.signInTitle, status: "fail", detail: source.missing, fix: SETTINGS_FIX },
      notSignedIn,
    ];
  }
  const key = botKey(connector, secrets);
  if ("outcome" in key) return [{ id: ids.signIn, title: source.signInTitle, ...key.outcome }, notSignedIn];

  const events: ResponseEvent[] = [];
  let report: R | undefined;
  const signIn = await guarded(ids.signIn, source.signInTitle, async () => {
    report = await source.test(key.pem, {
      retry: { maxAttempts: 2 },
      requestTimeoutMs: options.requestTimeoutMs,
      allowPrivateHosts: options.allowPrivateHosts,
      onResponse: (event) => events.push(event),
    });
    return report.ok || source.signedIn(events)
      ? { status: "ok", detail: source.signedInDetail(events, report) }
      : signInFailure(report.reason, events);
  });

  const final = report;
  let roles = notSignedIn;
  if (final?.ok) {
    roles = {
      id: ids.roles,
      title: source.rolesTitle,
      status: "ok",
      detail: source.rolesDetail(final as Extract<R, { ok: true }>),
    };
  } else if (final && signIn.status === "ok") {
    const fix = source.rolesFix(events);
    roles = { id: ids.roles, title: source.rolesTitle, status: "fail", detail: final.reason, ...(fix ? { fix } : {}) };
  }
  return [signIn, roles, clockCheck(ids.clock, events)];
}

function restChecks(connector: Connector, options: ConnectorCheckOptions, secrets: string[]): Promise<CheckResult[]> {
  const { podUrl, agentUrl, keyManagerUrl, botUsername } = connector;
  // A pod offering simplified key delivery needs no key manager sign-in: only a refused one counts.
  const keyManager = (events: ResponseEvent[]) =>
    answered(events, KEY_MANAGER_LOGIN, 200) ? ` and the key manager (${keyManagerUrl})` : "";
  return symphonyChecks(connector, options, secrets, {
    signInTitle: "Symphony sign-in (pod, key manager, agent)",
    rolesTitle: "Service account roles",
    missing:
      podUrl && agentUrl && keyManagerUrl && botUsername
        ? undefined
        : "The pod, agent or key manager URL or the bot user name is missing.",
    test: (privateKeyPem, http) =>
      testConnection({ podUrl, agentUrl, keyManagerUrl, botUsername, privateKeyPem }, http),
    signedIn: (events) =>
      answered(events, POD_LOGIN, 200) &&
      !events.some((event) => event.endpoint === KEY_MANAGER_LOGIN && event.status !== 200) &&
      events.some((event) => event.status === 403),
    signedInDetail: (events, report) =>
      `Signed in as ${botUsername} to the pod (${podUrl})${keyManager(events)}` +
      (report.ok ? `, and reached the agent (${agentUrl}).` : "."),
    rolesDetail: (report) =>
      `The service account listed the pod's ${report.streams} conversations, which needs the User Provisioning ` +
      `role. It is a member of ${report.readable} of them: the only ones it can archive.`,
    rolesFix: () =>
      "In the Symphony Admin Portal, give the service account the User Provisioning role, then run the checks again.",
  });
}

function filesApiChecks(
  connector: Connector,
  options: ConnectorCheckOptions,
  secrets: string[],
): Promise<CheckResult[]> {
  const { podUrl, botUsername } = connector;
  return symphonyChecks(connector, options, secrets, {
    signInTitle: "Symphony sign-in (pod)",
    rolesTitle: "Content Export Reader role and file list",
    missing: podUrl && botUsername ? undefined : "The pod URL or the service account's user name is missing.",
    test: (privateKeyPem, http) => testFilesApi({ podUrl, botUsername, privateKeyPem }, http),
    signedIn: (events) => answered(events, POD_LOGIN, 200),
    signedInDetail: () => `Signed in to the pod (${podUrl}) as ${botUsername}.`,
    rolesDetail: (report) =>
      `The service account obtained a File Management API token (it has the Content Export Reader role) and listed ` +
      (report.files.length > 0
        ? `the Content Export files: the newest is ${report.files[0]!.name}.`
        : "the Content Export files: there are none yet."),
    rolesFix: (events) =>
      answered(events, FILES_TOKEN, 403)
        ? "In the Symphony Admin Portal, give the service account the Content Export Reader role."
        : undefined,
  });
}

async function sftpChecks(
  connector: Connector,
  options: ConnectorCheckOptions,
  secrets: string[],
): Promise<CheckResult[]> {
  const id = idsOf(connector).signIn;
  const title = "SFTP server";
  const { sftpHost, sftpPort, sftpUsername, sftpFolder, sftpHostKeySha256, sftpCredentialEncrypted } = connector;
  const server = `${sftpHost}:${sftpPort}`;
  if (!sftpHost || !sftpUsername || !sftpCredentialEncrypted) {
    return [
      { id, title, status: "fail", detail: "The SFTP host, user name or credential is missing.", fix: SETTINGS_FIX },
    ];
  }
  if (!sftpHostKeySha256) {
    return [
      {
        id,
        title,
        status: "fail",
        detail: `No host key of ${server} has been confirmed, so the connector does not sign in to it.`,
        fix: "Run Test connection in the connector's Source step and confirm the server's fingerprint.",
      },
    ];
  }
  return [
    await guarded(id, title, async () => {
      let credential: ReturnType<typeof decryptSftpCredential>;
      try {
        credential = decryptSftpCredential({
          stored: { connectorId: connector.id, ciphertext: sftpCredentialEncrypted },
        });
      } catch {
        return {
          status: "fail",
          detail: "The stored SFTP credential cannot be decrypted with this SECRETS_KEY.",
          fix: KEY_FIX,
        };
      }
      secrets.push("password" in credential ? credential.password : credential.privateKeyPem);
      const folder = sftpFolder ?? "/";
      const report = await testSftp(
        {
          host: sftpHost,
          port: sftpPort,
          username: sftpUsername,
          folder,
          hostKeySha256: sftpHostKeySha256,
          ...credential,
        },
        { timeoutMs: options.requestTimeoutMs, allowPrivateHosts: options.allowPrivateHosts },
      );
      if (!report.ok) {
        return {
          status: "fail",
          detail: report.reason,
          ...(report.presentedFingerprint
            ? {
                fix: "Confirm the new fingerprint in the Source step only once the server's administrator has told you the key changed.",
              }
            : {}),
        };
      }
      return {
        status: "ok",
        detail:
          `${server} presented the confirmed host key; signed in as ${sftpUsername} and listed ${folder}` +
          (report.files.length > 0
            ? `: the newest file is ${report.files[0]!.name}.`
            : ": it holds no export files yet."),
      };
    }),
  ];
}
