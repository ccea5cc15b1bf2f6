import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attachmentBytes } from "./attachments";
import { startSymphonySandbox, type SymphonySandbox, type V4Message } from "./index";
import { loginHeaders } from "./test-client";

let sandbox: SymphonySandbox;
let headers: Record<string, string>;
let message: V4Message;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "attachments",
    org: { users: 6, messages: 40, largeAttachments: false },
  });
  headers = await loginHeaders(sandbox);
  const stream = sandbox.org.streams.find((s) => s.botIsMember)!;
  message = sandbox.addMessage({ streamId: stream.id, text: "files", attachments: [{ name: "a.bin", size: 3000 }] });
});
afterAll(() => sandbox?.close());

const download = (fileId: string, accept?: string) =>
  fetch(
    `${sandbox.agentUrl}/agent/v1/stream/${message.stream.streamId}/attachment?fileId=${fileId}&messageId=${message.messageId}`,
    { headers: { ...headers, ...(accept ? { accept } : {}) } },
  );

describe("ids and attachment download as the agent has them", () => {
  it("gives messages 34-character URL-safe ids and attachments internal_<user>%2F<base64> ids", () => {
    expect(message.messageId).toMatch(/^[A-Za-z0-9_-]{34}$/);
    // e.g. internal_14362370637825%2FT2vTuh%2BgWTtZFQtI%2FHDXYg%3D%3D (symphony-bdk-java test resources)
    expect(message.attachments[0]!.id).toMatch(
      new RegExp(`^internal_${message.user.userId}%2F([A-Za-z0-9]|%2B|%2F){21,}%3D%3D$`),
    );
  });

  it("serves the bytes as base64 to Accept: application/octet-stream, and 406 to a JSON-only Accept", async () => {
    const file = message.attachments[0]!;
    const ok = await download(encodeURIComponent(file.id), "application/octet-stream");
    expect(ok.status).toBe(200);
    const expected = createHash("sha256");
    for await (const chunk of attachmentBytes(sandbox.org.seed, file)) expected.update(chunk as Buffer);
    expect(
      createHash("sha256")
        .update(Buffer.from(await ok.text(), "base64"))
        .digest("hex"),
    ).toBe(expected.digest("hex"));
    expect((await download(encodeURIComponent(file.id), "*/*")).status).toBe(200);
    const refused = await download(encodeURIComponent(file.id), "application/json");
    expect(refused.status).toBe(406);
    expect(await refused.json()).toMatchObject({ code: 406 });
  });

  it("finds the attachment only when its id is encoded exactly once", async () => {
    const id = message.attachments[0]!.id;
    expect((await download(id)).status).toBe(404); // %2F read as "/"
    expect((await download(encodeURIComponent(encodeURIComponent(id)))).status).toBe(404);
    expect((await download(encodeURIComponent(id))).status).toBe(200);
  });
});
