// The demo world `npm start` and `npm run sandbox` bring up when no real tenant is configured:
// a Microsoft 365 sandbox whose mailboxes are the demo organisation's people, and a Symphony sandbox
// holding their conversations, with Content Export (Files API and SFTP) switched on. The bot key, the
// PGP key pair, the SFTP keys, the ports and the organisation's time line are kept in `dir`, so a
// connector saved in the wizard still works after a restart.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ensureSandboxCa } from "./m365/ca";
import { connectorRedirectUris, startM365Sandbox } from "./m365";
import { freePorts } from "./ports";
import { generatePgpKeyPair, generateSftpSecrets, rsaKeyPair, startSymphonySandbox, type PgpKeyPair } from "./symphony";

interface DemoState {
  orgEnd: number;
  ports: { pod: number; agent: number; keyManager: number; m365: number; storage: number; sftp: number };
  bot: { privateKeyPem: string; publicKeyPem: string };
  appSecret: string;
  webAppSecret: string;
  /** Content Export: the key pair files are encrypted to, and the SFTP server's and user's secrets. */
  contentExport: { pgp: PgpKeyPair; sftp: { hostKeyPem: string; privateKeyPem: string; password: string } };
}

export interface Demo {
  /** Settings for the product's processes (what a real deployment puts in its environment). */
  env: Record<string, string>;
  /** What to tell the person who started it. */
  instructions: string[];
  close(): Promise<void>;
}

export const DEMO_ORG = { seed: "demo", users: 20, messages: 300 } as const;

/**
 * The one person of the demo whose older Symphony address is an alias of their mailbox, so automatic
 * mapping finds them and their items name them by the mailbox's address. The others whose address
 * differs have no mailbox under it: the wizard lists them as unmapped.
 */
export function demoAliasedPerson<
  P extends { id: number; external: boolean; symphonyEmail: string; m365Address: string | null },
>(people: P[]): P | undefined {
  return people.find((p) => !p.external && p.m365Address && p.symphonyEmail !== p.m365Address);
}

/** `appUrl`: where the connector runs (APP_URL); its app registrations hold the redirect URIs under it. */
export async function startDemoSandboxes(options: { dir: string; appUrl: string }): Promise<Demo> {
  const dir = path.resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const state = await loadState(dir);
  const ca = ensureSandboxCa(path.join(dir, "ca"));

  const symphony = await startSymphonySandbox({
    seed: DEMO_ORG.seed,
    org: { users: DEMO_ORG.users, messages: DEMO_ORG.messages, end: state.orgEnd },
    botKey: state.bot,
    // The demo's service account is the pod's Content Export service user (it downloads any chat's files).
    botIsContentExportUser: true,
    ports: state.ports,
    contentExport: {
      pgpKey: state.contentExport.pgp,
      sftp: state.contentExport.sftp,
      ports: { storage: state.ports.storage, sftp: state.ports.sftp },
    },
  });
  const contentExport = symphony.contentExport!;
  const sftp = contentExport.sftp!;
  const redirect = connectorRedirectUris(options.appUrl);
  const aliased = demoAliasedPerson(symphony.org.people);
  const mailboxes = symphony.org.people
    .filter((person) => person.m365Address)
    .map((person) => ({
      address: person.m365Address!,
      displayName: person.displayName,
      aliases: person.id === aliased?.id ? [person.symphonyEmail] : [],
    }));
  const m365 = await startM365Sandbox({
    port: state.ports.m365,
    caDir: path.dirname(ca.caCertPath),
    dataDir: path.join(dir, "m365"),
    mailboxes,
    // The import app holds both of the connector's redirect URIs, the sign-in app the sign-in one. The
    // sign-in app signs ID tokens with a key of its own, so every demo sign-in needs `?appid=` discovery.
    app: { clientSecret: state.appSecret, redirectUris: [redirect.signIn, redirect.consent] },
    webApp: { clientSecret: state.webAppSecret, redirectUris: [redirect.signIn], customSigningKey: true },
  });

  const keyFile = path.join(dir, "symphony-bot-key.pem");
  writeFileSync(keyFile, state.bot.privateKeyPem, { mode: 0o600 });
  const pgpKeyFile = path.join(dir, "content-export-pgp-private.asc");
  writeFileSync(pgpKeyFile, state.contentExport.pgp.privateKeyArmored, { mode: 0o600 });
  const sftpKeyFile = path.join(dir, "content-export-sftp-user-key");
  writeFileSync(sftpKeyFile, sftp.privateKeyPem, { mode: 0o600 });
  // Secrets go to files, never to the console (where they would end up in logs).
  const pgpPassphraseFile = path.join(dir, "content-export-pgp-passphrase.txt");
  writeFileSync(pgpPassphraseFile, state.contentExport.pgp.passphrase, { mode: 0o600 });
  const sftpPasswordFile = path.join(dir, "content-export-sftp-password.txt");
  writeFileSync(sftpPasswordFile, sftp.password, { mode: 0o600 });
  const people = m365.signInUsers.map((user) => `${user.email} (${user.roles.join(", ") || "no app role"})`);

  return {
    env: {
      ENTRA_AUTHORITY_HOST: m365.url,
      ENTRA_TENANT_ID: m365.tenantId,
      ENTRA_CLIENT_ID: m365.app.clientId,
      ENTRA_CLIENT_SECRET: m365.app.clientSecret,
      AUTH_CLIENT_ID: m365.webApp.clientId,
      AUTH_CLIENT_SECRET: m365.webApp.clientSecret,
      GRAPH_BASE_URL: m365.url,
      NODE_EXTRA_CA_CERTS: ca.caCertPath,
      SANDBOX_CONSOLE_URL: m365.url,
    },
    instructions: [
      `Sign in with the Microsoft 365 sandbox as ${people.join(", ")}; its apps hold the redirect URIs ${redirect.signIn} and ${redirect.consent}.`,
      `Symphony sandbox for the wizard: pod ${symphony.podUrl}, agent ${symphony.agentUrl}, key manager ${symphony.keyManagerUrl},`,
      `  bot user name ${symphony.bot.username}, private key file ${keyFile}`,
      `Content Export (Files API on the pod above, daily files): PGP private key file ${pgpKeyFile},`,
      `  passphrase in ${pgpPassphraseFile} (key id ${contentExport.pgp.keyId})`,
      `Content Export over SFTP: host ${sftp.host}, port ${sftp.port}, user ${sftp.username}, password in ${sftpPasswordFile}`,
      `  or private key file ${sftpKeyFile}; folder ${sftp.folder}; host key ${sftp.hostKeySha256}`,
      `Imported items can be seen at ${m365.url}/sandbox/mailbox/<address>`,
    ],
    async close() {
      await Promise.all([symphony.close(), m365.close()]);
    },
  };
}

async function loadState(dir: string): Promise<DemoState> {
  const file = path.join(dir, "demo-state.json");
  const saved = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Partial<DemoState>) : {};
  // A state saved before Content Export gains its parts; what it already has is kept.
  if (saved.ports && saved.contentExport && saved.ports.storage && saved.ports.sftp) return saved as DemoState;
  // Ports of a saved state are free now (the demo is not running): never hand them out again.
  const taken = new Set(Object.values(saved.ports ?? {}));
  const fresh = (await freePorts(6 + taken.size)).filter((port) => !taken.has(port));
  const [pod, agent, keyManager, m365, storage, sftp] = fresh as [number, number, number, number, number, number];
  const state: DemoState = {
    orgEnd: saved.orgEnd ?? Date.now(),
    ports: { pod, agent, keyManager, m365, storage, sftp, ...saved.ports },
    bot: saved.bot ?? (await rsaKeyPair()),
    appSecret: saved.appSecret ?? randomBytes(24).toString("base64url"),
    webAppSecret: saved.webAppSecret ?? randomBytes(24).toString("base64url"),
    contentExport: saved.contentExport ?? {
      pgp: await generatePgpKeyPair("Demo Content Export"),
      sftp: generateSftpSecrets(),
    },
  };
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}
