import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MessageStore } from "./message-store";
import type { Message } from "./state";

function message(id: string, userId: string, overrides: Partial<Message> = {}): Message {
  return {
    id,
    userId,
    parentFolderId: "inbox-" + userId,
    createdDateTime: "2026-11-01T10:00:00Z",
    lastModifiedDateTime: "2026-11-01T10:00:00Z",
    receivedDateTime: "2026-11-01T10:00:00Z",
    sentDateTime: "2026-11-01T10:00:00Z",
    isDraft: false,
    isRead: true,
    subject: `Subject ${id}`,
    body: { contentType: "html", content: `<p>Grüße aus Zürich 名前 😀 ${id}</p>` },
    from: { emailAddress: { name: "Zoë", address: "zoe@example.com" } },
    sender: null,
    toRecipients: [{ emailAddress: { address: "a@example.com" } }],
    ccRecipients: [],
    bccRecipients: [],
    replyTo: [],
    internetMessageId: `<${id}@example.com>`,
    importance: "normal",
    conversationId: "c",
    extendedProperties: [{ id: "Integer 0x0E07", value: "1" }],
    internetMessageHeaders: [{ name: "X-Symphony-Stream", value: "s" }],
    attachments: [],
    ...overrides,
  };
}

describe("MessageStore", () => {
  let dir: string;
  let store: MessageStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "message-store-"));
    store = new MessageStore(path.join(dir, "messages"));
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("gives back every item exactly as saved, non-ASCII text included, and a copy each time", () => {
    const saved = [message("m1", "u1"), message("m2", "u2"), message("m3", "u1")];
    for (const m of saved) store.save(m);
    for (const m of saved) expect(store.get(m.id)).toEqual(m);
    expect(store.size).toBe(3);

    const copy = store.get("m1")!;
    copy.subject = "changed";
    copy.toRecipients.push({ emailAddress: { address: "b@example.com" } });
    expect(store.get("m1")).toEqual(saved[0]);
    expect(store.get("missing")).toBeUndefined();
  });

  it("keeps each mailbox's items in the order first stored; a saved change replaces the item in place", () => {
    store.save(message("m1", "u1"));
    store.save(message("m2", "u1"));
    store.save(message("m3", "u2"));
    store.save(message("m1", "u1", { isRead: false, subject: "edited" }));

    expect(store.ofUser("u1").map((m) => [m.id, m.subject])).toEqual([
      ["m1", "edited"],
      ["m2", "Subject m2"],
    ]);
    expect(store.summariesOfUser("u1").map((s) => [s.id, s.isRead])).toEqual([
      ["m1", false],
      ["m2", true],
    ]);
    expect(store.countOfUser("u2")).toBe(1);
    expect(store.countOfUser("nobody")).toBe(0);
  });

  it("summarizes what lists filter and sort on, and what an item adds to its folder's size", () => {
    const m = message("m1", "u1", {
      body: { contentType: "text", content: "0123456789" },
      attachments: [
        {
          id: "a1",
          name: "f.bin",
          contentType: "application/octet-stream",
          size: 1000,
          isInline: false,
          contentId: null,
          lastModifiedDateTime: "2026-11-01T10:00:00Z",
          file: "/x",
        },
      ],
    });
    store.save(m);
    expect(store.summariesOfUser("u1")).toEqual([
      {
        id: "m1",
        userId: "u1",
        parentFolderId: "inbox-u1",
        internetMessageId: "<m1@example.com>",
        isDraft: false,
        isRead: true,
        createdDateTime: m.createdDateTime,
        lastModifiedDateTime: m.lastModifiedDateTime,
        receivedDateTime: m.receivedDateTime,
        sentDateTime: m.sentDateTime,
        extendedProperties: m.extendedProperties,
        sizeInBytes: 1010,
      },
    ]);
  });

  it("forgets deleted items, and everything on clear", () => {
    store.save(message("m1", "u1"));
    store.save(message("m2", "u1"));
    expect(store.delete("m1")).toBe(true);
    expect(store.delete("m1")).toBe(false);
    expect(store.has("m1")).toBe(false);
    expect(store.ofUser("u1").map((m) => m.id)).toEqual(["m2"]);

    store.clear();
    expect(store.size).toBe(0);
    expect([...store.values()]).toEqual([]);
    store.save(message("m4", "u3"));
    expect([...store.values()].map((m) => m.id)).toEqual(["m4"]);
    expect(store.get("m4")).toEqual(message("m4", "u3"));
  });
});
