import { afterEach, describe, expect, it } from "vitest";
import { buildEmail } from "./email";
import { ORIGINAL_MESSAGE_FILE } from "./limits";
import { ConversionPool } from "./pool";
import type { ChatMessage } from "./types";

const MB = 1024 * 1024;

function message(id: string, presentationML: string): ChatMessage {
  return {
    messageId: id,
    streamId: "stream-1",
    streamType: "ROOM",
    conversationName: "Rates desk",
    timestamp: new Date("2026-11-02T09:15:30.250Z"),
    sender: { userId: "1", email: "alice@example.com", displayName: "Alice" },
    participants: [{ userId: "2", email: "bob@example.com", displayName: "Bob" }],
    presentationML,
    attachments: [],
  };
}

const ordinary = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    message(`m${i}`, `<div data-format="PresentationML"><p>message <b>${i}</b></p><ul><li>a</li></ul></div>`),
  );
/** Within the input limit, but 100,000 table cells take more than 24 MB (and hundreds of ms) to parse. */
const heavy = message("heavy", `<table><tr>${"<td>x</td>".repeat(Math.floor((MB - 100) / 10))}</tr></table>`);

let pool: ConversionPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe("ConversionPool", () => {
  it("converts in a thread exactly as buildEmail does", async () => {
    pool = new ConversionPool({ threads: 1 });
    const messages = [...ordinary(40), message("rtl", '<p dir="rtl">שלום</p>'), message("empty", "")];
    const emails = await Promise.all(messages.map((m) => pool!.convert(m)));
    expect(emails).toEqual(messages.map((m) => buildEmail(m)));
  });

  it("rejects a message buildEmail refuses, and converts the others", async () => {
    pool = new ConversionPool({ threads: 1 });
    const [bad, good] = await Promise.allSettled([
      pool.convert({ ...message("x", "<p>x</p>"), messageId: "bad\r\nid" }),
      pool.convert(message("ok", "<p>ok</p>")),
    ]);
    expect(bad?.status === "rejected" && String(bad.reason)).toMatch(/messageId/);
    expect(good).toMatchObject({ status: "fulfilled", value: { text: "ok" } });
  });

  it("a message that exhausts its thread's heap fails only itself: its original is attached", async () => {
    pool = new ConversionPool({ threads: 1, heapMb: 24 });
    const others = ordinary(20);
    const [heavyEmail, ...otherEmails] = await Promise.all([heavy, ...others].map((m) => pool!.convert(m)));
    expect(otherEmails).toEqual(others.map((m) => buildEmail(m)));
    expect(heavyEmail!.notRendered).toMatch(/more than the converter's 24 MB of memory/);
    expect(heavyEmail!.text).toContain(ORIGINAL_MESSAGE_FILE);
    expect(heavyEmail!.originals?.map(({ ref, content }) => [ref.name, ref.size, content])).toEqual([
      [ORIGINAL_MESSAGE_FILE, Buffer.byteLength(heavy.presentationML), heavy.presentationML],
    ]);
    // The pool goes on with a fresh thread.
    expect((await pool.convert(message("after", "<p>after</p>"))).text).toBe("after");
  }, 60_000);

  it("a message that takes too long fails only itself", async () => {
    pool = new ConversionPool({ threads: 1, timeoutMs: 50 });
    await Promise.all(ordinary(50).map((m) => pool!.convert(m))); // started and warm
    const others = ordinary(10);
    const [heavyEmail, ...otherEmails] = await Promise.all([heavy, ...others].map((m) => pool!.convert(m)));
    expect(otherEmails).toEqual(others.map((m) => buildEmail(m)));
    expect(heavyEmail!.notRendered).toBe("converting it took longer than 50 ms");
    expect(heavyEmail!.originals?.[0]?.content).toBe(heavy.presentationML);
  }, 60_000);

  it("attaches content over the input limit without sending it to a thread", async () => {
    pool = new ConversionPool({ threads: 1 });
    const huge = message("huge", `<p>${"x".repeat(3 * MB)}</p>`);
    const email = await pool.convert(huge);
    expect(email.notRendered).toMatch(/its content is 3\.0 MB, more than the 1\.0 MB/);
    expect(email.originals?.[0]?.content).toBe(huge.presentationML);
  });
});
