// What the wizard's Test connection shows for a Content Export delivery. Never throws: a failure comes
// back as a reason an admin can act on, without any secret or any text of the foreign server in it
// (that goes to the server's log).
import type { ZodError } from "zod";
import { logger } from "@/lib/logger";
import { HTTPS_REQUIRED, SymphonyError } from "@/lib/symphony";
import { createFilesApiDelivery, filesApiSettingsSchema, type FilesApiOptions } from "./files-api";
import type { RemoteExportFile } from "./remote-file";
import { createSftpDelivery, probeSftpHostKey, type SftpOptions } from "./sftp";
import { HostKeyMismatchError, SftpError } from "./sftp-errors";
import { sftpSettingsSchema } from "./sftp-settings";

const NEWEST = 5;

export type FilesApiTestReport =
  { ok: true; files: RemoteExportFile[]; stillWriting: string[] } | { ok: false; reason: string };

export type SftpTestReport =
  | {
      ok: true;
      fingerprint: string;
      algorithm: string;
      /**
       * False on the first test (no confirmed key yet): only the host key was read, nothing was sent,
       * and the admin confirms the fingerprint before the connector signs in.
       */
      confirmed: boolean;
      files: RemoteExportFile[];
    }
  | {
      ok: false;
      reason: string;
      /** The key the server presented when it differs from the confirmed one, for the admin to confirm (or not). */
      presentedFingerprint?: string;
    };

/** Signs in, obtains a Files API token and lists the newest export files. */
export async function testFilesApi(
  input: unknown,
  options: FilesApiOptions = { retry: { maxAttempts: 2 }, requestTimeoutMs: 15_000 },
): Promise<FilesApiTestReport> {
  const parsed = filesApiSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, reason: zodReason(parsed.error) };
  const settings = parsed.data;
  const delivery = createFilesApiDelivery(settings, options);
  try {
    return { ok: true, ...(await delivery.listNewest(NEWEST)) };
  } catch (error) {
    if (!(error instanceof SymphonyError)) throw error;
    logger.warn(
      { endpoint: error.endpoint, code: error.code, serverMessage: error.serverMessage },
      "Content Export (Files API) test connection failed",
    );
    return { ok: false, reason: explainFilesApiFailure(error, settings) };
  } finally {
    await delivery.close();
  }
}

/**
 * Without a confirmed host key: reads the server's key (nothing else is sent) and returns its
 * fingerprint for the admin to confirm. With one: connects pinned to it, signs in and lists the
 * newest files of the folder.
 */
export async function testSftp(input: unknown, options: SftpOptions = {}): Promise<SftpTestReport> {
  const parsed = sftpSettingsSchema.safeParse(input);
  if (!parsed.success) return { ok: false, reason: zodReason(parsed.error) };
  const settings = parsed.data;
  try {
    const key = await probeSftpHostKey(settings, options);
    if (!settings.hostKeySha256) return { ok: true, ...key, confirmed: false, files: [] };
    if (key.fingerprint !== settings.hostKeySha256) {
      const host = `${settings.host}:${settings.port}`;
      throw new HostKeyMismatchError({ host, expected: settings.hostKeySha256, presented: key.fingerprint });
    }
    const delivery = createSftpDelivery(settings, options);
    try {
      return { ok: true, ...key, confirmed: true, files: await delivery.listNewest(NEWEST) };
    } finally {
      await delivery.close();
    }
  } catch (error) {
    if (error instanceof HostKeyMismatchError) {
      logger.warn({ expected: error.expected, presented: error.presented }, "SFTP host key changed");
      return { ok: false, reason: error.message, presentedFingerprint: error.presented };
    }
    if (!(error instanceof SftpError)) throw error;
    logger.warn({ code: error.code, detail: error.detail }, "Content Export (SFTP) test connection failed");
    return { ok: false, reason: explainSftpFailure(error, settings.folder) };
  }
}

function explainFilesApiFailure(error: SymphonyError, settings: { podUrl: string; botUsername: string }): string {
  const detail = error.message.replace(`${error.endpoint}: `, "");
  const pod = `the pod at ${settings.podUrl}`;
  switch (error.code) {
    case "forbidden":
      return error.endpoint === "POST /login/idm/tokens"
        ? `The service account "${settings.botUsername}" signed in but lacks the Content Export Reader role. ` +
            `Assign the role to it in the Symphony Admin Portal, then test again.`
        : `The service account "${settings.botUsername}" may not call ${error.endpoint} (${detail}).`;
    case "auth_rejected":
      return (
        `The pod rejected the service account's key for user "${settings.botUsername}". Check the user name, and ` +
        `that the public key of this private key is registered on that service account.`
      );
    case "unauthorized":
      return `Sign-in refused: ${pod} did not accept the service account's session even after signing in again.`;
    case "network":
      return `Cannot reach ${pod} (${detail}). Check the pod URL and that this server can reach it.`;
    case "blocked_host":
      return (
        `The pod URL ${settings.podUrl} points at a loopback, link-local or private address, which this server ` +
        `does not call. When the pod is on your own network, the operator sets SYMPHONY_ALLOW_PRIVATE_HOSTS=true ` +
        `(link-local and cloud metadata addresses stay refused even then).`
      );
    case "insecure_url":
      return (
        `The pod URL ${settings.podUrl} ${HTTPS_REQUIRED}: over http:// the service account's sign-in and ` +
        `tokens would cross the internet unencrypted.`
      );
    case "redirect":
      return `${capitalize(pod)} answered with a redirect (${detail}); redirects are not followed. Enter the URL it redirects to, if you trust it.`;
    case "timeout":
      return `${capitalize(pod)} did not answer in time. Check the pod URL and the network.`;
    case "not_found":
      return (
        `${capitalize(pod)} has no ${error.endpoint}. Check the pod URL (base URL, without /pod), and that ` +
        `Content Export through the File Management API is enabled for your pod.`
      );
    case "invalid_response":
      return `${capitalize(pod)} did not answer like Symphony's File Management API (${detail}). Check the pod URL.`;
    case "rate_limited":
      return `${capitalize(pod)} is rate-limiting the service account; try again in a minute.`;
    default:
      return `${capitalize(pod)} answered ${detail} to ${error.endpoint}.`;
  }
}

function explainSftpFailure(error: SftpError, folder: string): string {
  switch (error.code) {
    case "not_found":
      return `The remote folder ${folder} does not exist on the SFTP server. Check the folder.`;
    case "permission_denied":
      return `The SFTP user may not read the remote folder ${folder}. Check the folder and the user's rights.`;
    default:
      return error.message;
  }
}

function zodReason(error: ZodError): string {
  return error.issues.map((issue) => issue.message).join("; ");
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
