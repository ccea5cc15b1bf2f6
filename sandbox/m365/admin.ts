import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { SandboxContext } from "./context";
import { readBody, sendJson } from "./http";
import { faultsSchema, limitsSchema } from "./options";
import type { Throttle } from "./throttle";

export type AdminControls = {
  setConsent: (consented: boolean) => void;
  setLimits: (limits: Partial<z.input<typeof limitsSchema>>) => void;
  setFaults: (faults: Partial<z.input<typeof faultsSchema>>) => void;
  reset: () => void;
};

export function adminControls(ctx: SandboxContext, throttle: Throttle): AdminControls {
  const { state } = ctx;
  return {
    setConsent: (consented) => state.setConsent(state.options.tenantId, consented),
    setLimits: (limits) => {
      state.limits = limitsSchema.parse({ ...state.limits, ...limits });
      throttle.reset();
    },
    setFaults: (faults) => {
      state.faults = faultsSchema.parse({ ...state.faults, ...faults });
    },
    reset: () => {
      state.reset();
      throttle.reset();
    },
  };
}

/** Items of a mailbox with folder names and every extended property, for tests and people. */
export function mailboxItems(ctx: SandboxContext, address: string) {
  const user = ctx.state.findUser(address);
  if (!user) return null;
  return ctx.state.messages
    .ofUser(user.id)
    .map((m) => ({
      id: m.id,
      folder: folderPath(ctx, m.parentFolderId),
      subject: m.subject,
      isDraft: m.isDraft,
      isRead: m.isRead,
      receivedDateTime: m.receivedDateTime,
      sentDateTime: m.sentDateTime,
      internetMessageId: m.internetMessageId,
      from: m.from?.emailAddress.address ?? null,
      extendedProperties: m.extendedProperties,
      attachments: m.attachments.map(({ file: _file, ...a }) => a),
    }));
}

export function folderPath(ctx: SandboxContext, folderId: string): string {
  const names: string[] = [];
  let folder = ctx.state.folders.get(folderId);
  while (folder) {
    names.unshift(folder.displayName);
    folder = ctx.state.folders.get(folder.parentFolderId);
  }
  return names.join("/");
}

/** A change to a mailbox's policy (see mailboxSchema): only the fields given change. */
const mailboxPolicyPatch = z
  .object({
    mailboxEnabled: z.boolean(),
    noMailboxAnswer: z.enum(["MailboxNotEnabledForRESTAPI", "ResourceNotFound"]),
    onDedicatedExchange: z.boolean(),
    appAccessBlocked: z.boolean(),
    outsideRbacScope: z.boolean(),
    full: z.boolean(),
    fullAnswer: z.enum(["ErrorQuotaExceeded", "QuotaExceededException"]),
    maxReceiveSize: z
      .number()
      .int()
      .min(1)
      .max(150 * 1024 * 1024),
  })
  .partial()
  .strict();

/** JSON admin API under /sandbox/admin (no auth: loopback test harness only). */
export async function handleAdmin(
  ctx: SandboxContext,
  controls: AdminControls,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
): Promise<void> {
  const route = url.pathname.slice("/sandbox/admin".length);
  const method = req.method ?? "GET";
  const json = async () => JSON.parse((await readBody(req, 64 * 1024)).toString("utf8") || "{}") as unknown;
  try {
    if (method === "GET" && route === "/mailboxes") {
      return sendJson(res, 200, { value: [...ctx.state.users.values()] });
    }
    const [, address] = /^\/mailboxes\/([^/]+)\/items$/.exec(route) ?? [];
    if (method === "GET" && address !== undefined) {
      const value = mailboxItems(ctx, decodeURIComponent(address));
      return value ? sendJson(res, 200, { value }) : sendJson(res, 404, { error: "unknown mailbox" });
    }
    const [, policyOf] = /^\/mailboxes\/([^/]+)$/.exec(route) ?? [];
    if (method === "PATCH" && policyOf !== undefined) {
      const user = ctx.state.findUser(decodeURIComponent(policyOf));
      if (!user) return sendJson(res, 404, { error: "unknown mailbox" });
      const changes = mailboxPolicyPatch.parse(await json());
      user.policy = {
        ...user.policy,
        ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)),
      };
      return sendJson(res, 200, user.policy);
    }
    if (method === "GET" && route === "/stats") return sendJson(res, 200, ctx.state.stats);
    if (method === "POST" && route === "/reset") {
      controls.reset();
      return sendJson(res, 200, { ok: true });
    }
    if (method === "POST" && route === "/consent") {
      const { consented } = z.object({ consented: z.boolean() }).parse(await json());
      controls.setConsent(consented);
      return sendJson(res, 200, { consented });
    }
    if (method === "POST" && route === "/limits") {
      controls.setLimits(limitsSchema.partial().parse(await json()));
      return sendJson(res, 200, ctx.state.limits);
    }
    if (method === "POST" && route === "/faults") {
      controls.setFaults(faultsSchema.partial().parse(await json()));
      return sendJson(res, 200, ctx.state.faults);
    }
    sendJson(res, 404, { error: `No admin route ${method} ${route}` });
  } catch (error) {
    sendJson(res, 400, { error: error instanceof z.ZodError ? z.prettifyError(error) : "Invalid JSON body" });
  }
}
