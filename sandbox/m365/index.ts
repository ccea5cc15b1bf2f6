import fs from "node:fs";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ensureSandboxCa } from "./ca";
import type { SandboxContext } from "./context";
import { adminControls, handleAdmin, mailboxItems } from "./admin";
import { handleEntra } from "./entra";
import { handleGraphHttp } from "./graph-endpoint";
import { sendJson } from "./http";
import { createAppCertificate, createSigningKey } from "./keys";
import { handleMailboxPages } from "./mailbox-pages";
import {
  defaultDataDir,
  defaultSignInUsers,
  mailboxSchema,
  newSecret,
  parseOptions,
  type Faults,
  type Limits,
  type M365SandboxOptions,
  type Mailbox,
  type MailboxPolicy,
  type SignInUser,
} from "./options";

import { createState, type Stats, type User } from "./state";
import { createThrottle } from "./throttle";
import { handleUpload } from "./upload";

export type { M365SandboxOptions, Mailbox, MailboxPolicy, SignInUser, Limits, Faults, Stats, User };
export { ensureSandboxCa } from "./ca";
export { ADMIN_ROLE, READER_ROLE, connectorRedirectUris } from "./options";

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

export type M365Sandbox = {
  /** https://localhost:port */
  url: string;
  /** Host to put in msal's knownAuthorities: "localhost:port". */
  authorityHost: string;
  /** `${url}/${tenantId}`: the msal authority. */
  authority: string;
  tenantId: string;
  tenantDomain: string;
  /** `${url}/v1.0` */
  graphBaseUrl: string;
  caCertPath: string;
  dataDir: string;
  app: {
    clientId: string;
    clientSecret: string;
    certificatePem: string;
    privateKeyPem: string;
    thumbprint: string;
    thumbprintSha256: string;
  };
  webApp: { clientId: string; clientSecret: string };
  signInUsers: SignInUser[];
  mailboxes: () => User[];
  /** Every item of a mailbox with folder path, extended properties and attachment metadata. */
  items: (address: string) => ReturnType<typeof mailboxItems>;
  addMailbox: (mailbox: Mailbox) => User;
  /** Changes what Exchange does with a mailbox: no mailbox, blocked by an access policy, full, MaxReceiveSize. */
  setMailbox: (address: string, policy: Partial<MailboxPolicy>) => void;
  /** The user deletes a folder under their Inbox for good (Shift+Delete in Outlook), with its messages. */
  deleteInboxFolder: (address: string, displayName: string) => void;
  setConsent: (consented: boolean) => void;
  setLimits: (limits: Partial<Limits>) => void;
  setFaults: (faults: Partial<Faults>) => void;
  reset: () => void;
  stats: () => Stats;
  /** What each mailbox took of Outlook's limits per app per mailbox: requests (refused ones too), bytes admitted. */
  mailboxUsage: () => Array<{ address: string; requests: number; uploadBytes: number }>;
  close: () => Promise<void>;
};

export async function startM365Sandbox(input: M365SandboxOptions = {}): Promise<M365Sandbox> {
  const options = parseOptions(input);
  const dataDir = options.dataDir ?? defaultDataDir();
  const ownsDataDir = !options.dataDir;
  const tls = ensureSandboxCa(options.caDir);
  const state = createState(options, dataDir);
  let port = 0;
  const ctx: SandboxContext = {
    state,
    signingKey: createSigningKey(),
    app: {
      clientId: options.app.clientId,
      clientSecret: options.app.clientSecret ?? newSecret(),
      certificate: createAppCertificate(options.app),
      displayName: "Symphony archive connector",
      redirectUris: options.app.redirectUris,
      signingKey: options.app.customSigningKey ? createSigningKey() : undefined,
    },
    webApp: {
      clientId: options.webApp.clientId,
      clientSecret: options.webApp.clientSecret ?? newSecret(),
      displayName: "Symphony archive connector (admin sign-in)",
      redirectUris: options.webApp.redirectUris,
      signingKey: options.webApp.customSigningKey ? createSigningKey() : undefined,
    },
    signInUsers: options.signInUsers ?? defaultSignInUsers(options.tenantDomain),
    origin: () => `https://localhost:${port}`,
    uploadOrigin: () => `https://127.0.0.1:${port}`,
  };
  const throttle = createThrottle(() => state.limits);
  const controls = adminControls(ctx, throttle);

  const server = https.createServer(
    { cert: fs.readFileSync(tls.certPath), key: fs.readFileSync(tls.keyPath) },
    (req, res) => {
      if (options.clockSkewSeconds !== 0) {
        res.setHeader("date", new Date(Date.now() + options.clockSkewSeconds * 1000).toUTCString());
      }
      const url = new URL(req.url ?? "/", ctx.origin());
      Promise.resolve()
        .then(() => route(url)(req, res, url))
        .catch((error: unknown) => {
          if (!res.headersSent)
            sendJson(res, 500, {
              error: {
                code: "InternalServerError",
                message: error instanceof Error ? error.message : "Unexpected error",
              },
            });
          else res.destroy();
        });
    },
  );

  function route(url: URL): Handler {
    const path = url.pathname;
    if (path === "/v1.0" || path.startsWith("/v1.0/"))
      return (req, res, u) => handleGraphHttp(ctx, throttle, req, res, u);
    if (path.startsWith("/api/v2.0/")) return (req, res, u) => handleUpload(ctx, throttle, req, res, u);
    if (path.startsWith("/sandbox/admin/")) return (req, res, u) => handleAdmin(ctx, controls, req, res, u);
    if (path === "/sandbox/mailbox" || path.startsWith("/sandbox/mailbox/"))
      return (req, res, u) => handleMailboxPages(ctx, req, res, u);
    return async (req, res, u) => {
      if (!(await handleEntra(ctx, req, res, u)))
        sendJson(res, 404, { error: "not_found", error_description: `No sandbox endpoint at ${u.pathname}` });
    };
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = ctx.origin();

  return {
    url,
    authorityHost: `localhost:${port}`,
    authority: `${url}/${options.tenantId}`,
    tenantId: options.tenantId,
    tenantDomain: options.tenantDomain,
    graphBaseUrl: `${url}/v1.0`,
    caCertPath: tls.caCertPath,
    dataDir,
    app: {
      clientId: ctx.app.clientId,
      clientSecret: ctx.app.clientSecret,
      certificatePem: ctx.app.certificate.certificatePem,
      privateKeyPem: ctx.app.certificate.privateKeyPem,
      thumbprint: ctx.app.certificate.thumbprint,
      thumbprintSha256: ctx.app.certificate.thumbprintSha256,
    },
    webApp: { clientId: ctx.webApp.clientId, clientSecret: ctx.webApp.clientSecret },
    signInUsers: ctx.signInUsers,
    mailboxes: () => [...state.users.values()],
    items: (address) => mailboxItems(ctx, address),
    addMailbox: (mailbox) => state.addMailbox(mailboxSchema.parse(mailbox)),
    setMailbox: (address, policy) => {
      const user = state.findUser(address);
      if (!user) throw new Error(`no sandbox user ${address}`);
      user.policy = { ...user.policy, ...policy };
    },
    deleteInboxFolder: (address, displayName) => {
      const user = state.findUser(address);
      const inbox = user && state.findFolder(user.id, "inbox");
      const folder = inbox && state.childFolders(inbox.id).find((child) => child.displayName === displayName);
      if (!folder) throw new Error(`no folder Inbox/${displayName} for ${address}`);
      for (const message of state.folderMessages(folder.id)) state.deleteMessage(message.id);
      state.folders.delete(folder.id);
    },
    setConsent: controls.setConsent,
    setLimits: controls.setLimits,
    setFaults: controls.setFaults,
    reset: controls.reset,
    stats: () => structuredClone(state.stats),
    mailboxUsage: () =>
      throttle
        .usage()
        .map(({ mailboxId, ...usage }) => ({ address: state.findUser(mailboxId)?.mail ?? mailboxId, ...usage })),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      state.messages.close();
      if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
