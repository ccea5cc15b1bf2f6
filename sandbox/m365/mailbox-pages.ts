import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SandboxContext } from "./context";
import { folderPath } from "./admin";
import { escapeHtml, sendHtml } from "./http";
import type { Message } from "./state";

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}iframe{width:100%;height:24rem;border:1px solid #ccc}
.muted{color:#666}</style></head><body>${body}</body></html>`;
}

const enc = encodeURIComponent;

/** Read-only pages for people running the demo: /sandbox/mailbox, /sandbox/mailbox/{address}[/messages/{id}[/attachments/{id}]]. */
export function handleMailboxPages(ctx: SandboxContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const [address, section, messageId, sub, attachmentId] = url.pathname
    .split("/")
    .filter(Boolean)
    .slice(2)
    .map(decodeURIComponent);
  if (address === undefined) return sendHtml(res, 200, mailboxList(ctx));
  const user = ctx.state.findUser(address);
  if (!user) return sendHtml(res, 404, layout("Not found", `<h1>No mailbox ${escapeHtml(address)}</h1>`));
  if (section === undefined) return sendHtml(res, 200, itemList(ctx, user.mail, url.searchParams.get("folder")));
  const message = ctx.state.messages.get(messageId ?? "");
  if (section !== "messages" || !message || message.userId !== user.id) {
    return sendHtml(res, 404, layout("Not found", "<h1>No such item</h1>"));
  }
  if (sub === undefined) return sendHtml(res, 200, itemPage(ctx, user.mail, message));
  const attachment = sub === "attachments" ? message.attachments.find((a) => a.id === attachmentId) : undefined;
  if (!attachment) return sendHtml(res, 404, layout("Not found", "<h1>No such attachment</h1>"));
  res.writeHead(200, {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(attachment.size),
    "Content-Disposition": `attachment; filename*=UTF-8''${enc(attachment.name)}`,
    "X-Content-Type-Options": "nosniff",
  });
  fs.createReadStream(attachment.file).pipe(res);
}

function mailboxList(ctx: SandboxContext): string {
  const rows = [...ctx.state.users.values()]
    .map(
      (
        u,
      ) => `<tr><td><a href="/sandbox/mailbox/${enc(u.mail)}">${escapeHtml(u.displayName)}</a></td><td>${escapeHtml(u.mail)}</td>
<td>${ctx.state.messages.countOfUser(u.id)}</td></tr>`,
    )
    .join("");
  return layout(
    "Sandbox mailboxes",
    `<h1>Sandbox mailboxes</h1><table><tr><th>Name</th><th>Address</th><th>Items</th></tr>${rows}</table>`,
  );
}

function itemList(ctx: SandboxContext, address: string, folderFilter: string | null): string {
  const user = ctx.state.findUser(address)!;
  const items = ctx.state.messages
    .ofUser(user.id)
    .map((m) => ({ m, folder: folderPath(ctx, m.parentFolderId) }))
    .filter(({ folder }) => !folderFilter || folder === folderFilter)
    .sort((a, b) => b.m.receivedDateTime.localeCompare(a.m.receivedDateTime));
  const folders = [
    ...new Set([...ctx.state.folders.values()].filter((f) => f.userId === user.id).map((f) => folderPath(ctx, f.id))),
  ].sort();
  const links = folders.map((f) => `<a href="?folder=${enc(f)}">${escapeHtml(f)}</a>`).join(" · ");
  const rows = items
    .map(
      ({ m, folder }) => `<tr><td>${escapeHtml(m.receivedDateTime)}</td><td>${escapeHtml(folder)}</td>
<td><a href="/sandbox/mailbox/${enc(address)}/messages/${enc(m.id)}">${escapeHtml(m.subject || "(no subject)")}</a></td>
<td>${escapeHtml(m.from?.emailAddress.address ?? "")}</td><td>${m.attachments.length}</td><td>${m.isDraft ? "draft" : ""}</td></tr>`,
    )
    .join("");
  return layout(
    `Mailbox ${address}`,
    `<p><a href="/sandbox/mailbox">All mailboxes</a></p><h1>${escapeHtml(user.displayName)} &lt;${escapeHtml(address)}&gt;</h1>
<p>Folders: <a href="?">all</a> · ${links}</p><p class="muted">${items.length} item(s)</p>
<table><tr><th>Received</th><th>Folder</th><th>Subject</th><th>From</th><th>Attachments</th><th></th></tr>${rows}</table>`,
  );
}

function itemPage(ctx: SandboxContext, address: string, m: Message): string {
  const people = (list: Message["toRecipients"]) =>
    escapeHtml(list.map((r) => r.emailAddress.address ?? "").join(", "));
  const attachments = m.attachments
    .map(
      (
        a,
      ) => `<li><a href="/sandbox/mailbox/${enc(address)}/messages/${enc(m.id)}/attachments/${enc(a.id)}">${escapeHtml(a.name)}</a>
<span class="muted">${escapeHtml(a.contentType)}, ${a.size} bytes${a.isInline ? ", inline" : ""}</span></li>`,
    )
    .join("");
  const properties = m.extendedProperties
    .map((p) => `<tr><td>${escapeHtml(p.id)}</td><td>${escapeHtml(p.value)}</td></tr>`)
    .join("");
  const headers = (m.internetMessageHeaders ?? [])
    .map((h) => `<tr><td>${escapeHtml(h.name)}</td><td>${escapeHtml(h.value)}</td></tr>`)
    .join("");
  // The body is shown in a sandboxed frame without scripts: imported content may be hostile.
  const body = m.body.contentType === "html" ? m.body.content : `<pre>${escapeHtml(m.body.content)}</pre>`;
  return layout(
    m.subject,
    `<p><a href="/sandbox/mailbox/${enc(address)}">Back to ${escapeHtml(address)}</a></p><h1>${escapeHtml(m.subject || "(no subject)")}</h1>
<table><tr><th>From</th><td>${escapeHtml(m.from?.emailAddress.name ?? "")} &lt;${escapeHtml(m.from?.emailAddress.address ?? "")}&gt;</td></tr>
<tr><th>To</th><td>${people(m.toRecipients)}</td></tr><tr><th>Cc</th><td>${people(m.ccRecipients)}</td></tr>
<tr><th>Sent</th><td>${escapeHtml(m.sentDateTime)}</td></tr><tr><th>Received</th><td>${escapeHtml(m.receivedDateTime)}</td></tr>
<tr><th>Folder</th><td>${escapeHtml(folderPath(ctx, m.parentFolderId))}</td></tr><tr><th>Draft</th><td>${m.isDraft}</td></tr>
<tr><th>Internet message id</th><td>${escapeHtml(m.internetMessageId)}</td></tr></table>
<h2>Body</h2><iframe sandbox srcdoc="${escapeHtml(body)}" title="Message body"></iframe>
<h2>Internet message headers</h2>${headers ? `<table>${headers}</table>` : "<p class=muted>none</p>"}
<h2>Attachments</h2><ul>${attachments || "<li class=muted>none</li>"}</ul>
<h2>Extended properties</h2><table>${properties}</table>`,
  );
}
