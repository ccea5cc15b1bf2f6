// Items and attachments the writer tests import into the Microsoft 365 sandbox.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { ImportAttachment, ImportItem } from "./item";
import type { M365SettingsInput } from "./settings";

/** The import app's settings for an M365 sandbox (client secret). */
export function sandboxSettings(sandbox: {
  tenantId: string;
  url: string;
  graphBaseUrl: string;
  app: { clientId: string; clientSecret: string };
}): M365SettingsInput {
  return {
    tenantId: sandbox.tenantId,
    clientId: sandbox.app.clientId,
    clientSecret: sandbox.app.clientSecret,
    authorityHost: sandbox.url,
    graphBaseUrl: sandbox.graphBaseUrl,
  };
}

export const ALICE = "alice@contoso.test";

export function item(key: string, options: { time?: string; attachments?: ImportAttachment[] } = {}): ImportItem {
  const time = options.time ?? "2024-01-02T03:04:05Z";
  return {
    key,
    graph: {
      subject: `Subject ${key}`,
      body: { contentType: "html", content: `<p>Message ${key}</p>` },
      from: { emailAddress: { name: "Sender", address: "sender@contoso.test" } },
      sender: { emailAddress: { name: "Sender", address: "sender@contoso.test" } },
      toRecipients: [{ emailAddress: { name: "Alice Archer", address: ALICE } }],
      internetMessageId: `<${key}@symphony.test>`,
      isRead: true,
      singleValueExtendedProperties: [
        { id: "Integer 0x0E07", value: "1" },
        { id: "SystemTime 0x0E06", value: time },
        { id: "SystemTime 0x0039", value: time },
      ],
    },
    attachments: options.attachments ?? [],
  };
}

export function bytesAttachment(name: string, bytes: Buffer): ImportAttachment {
  const pieces = Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) =>
    bytes.subarray(i * 65_536, (i + 1) * 65_536),
  );
  return {
    name,
    contentType: "application/octet-stream",
    size: bytes.length,
    isInline: false,
    open: () => Readable.from(pieces),
  };
}

export async function readAll(attachment: ImportAttachment): Promise<Buffer> {
  return Buffer.concat(await Readable.from(await attachment.open()).toArray());
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}
