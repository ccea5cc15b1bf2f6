import { describe, expect, it } from "vitest";
import { buildEmail } from "./email";
import { toGraphMessage } from "./graph";
import { MAX_INPUT_BYTES, ORIGINAL_SHARED_DATA_FILE, ORIGINAL_SHARED_FILE } from "./limits";
import type { ChatMessage, Person, SharedPost } from "./types";

const alice: Person = { userId: "1001", email: "alice@example.com", displayName: "Alice Smith" };
const bob: Person = { userId: "1002", email: "bob@example.com", displayName: "Bob Jones" };

const pml = (inner: string) => `<div data-format="PresentationML" data-version="2.0">${inner}</div>`;

function post(overrides: Partial<SharedPost> = {}): SharedPost {
  return {
    messageId: "c2hhcmVkLXBvc3QtaWQ=",
    sender: bob,
    timestamp: new Date("2026-11-01T08:00:00.000Z"),
    presentationML: pml("<p>Rates are <b>up</b> today</p>"),
    files: [{ name: "rates.pdf", size: 2048 }],
    ...overrides,
  };
}

function sharing(shared: SharedPost, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    messageId: "bWVzc2FnZS1pZA==",
    streamId: "d2FsbC1zdHJlYW0=",
    streamType: "POST",
    timestamp: new Date("2026-11-02T09:00:00.000Z"),
    sender: alice,
    participants: [],
    presentationML: pml("<p>Worth a read</p>"),
    attachments: [],
    shared,
    ...overrides,
  };
}

describe("a message that shares a post", () => {
  it("shows the shared post below the message: its author, time, content and files", () => {
    const email = buildEmail(sharing(post()));
    expect(email.text).toBe(
      [
        "Worth a read",
        "",
        "Shared post by Bob Jones, 2026-11-01T08:00:00.000Z",
        "> Rates are up today",
        "Files of the shared post (they belong to the original post and are not attached here): rates.pdf (2.0 KB).",
      ].join("\n"),
    );
    expect(email.html).toContain("<b>Shared post by Bob Jones, 2026-11-01T08:00:00.000Z</b>");
    expect(email.html).toMatch(/<blockquote>.*Rates are <b>up<\/b> today.*<\/blockquote>/);
    expect(email.headers["X-Symphony-Shared-Message-Id"]).toBe("c2hhcmVkLXBvc3QtaWQ=");
    expect(email.attachments).toEqual([]);
    expect(email.notRendered).toBeUndefined();
    expect(toGraphMessage(email).internetMessageHeaders?.map((header) => header.name)).toContain(
      "X-Symphony-Shared-Message-Id",
    );
  });

  it("a message without content of its own still shows what it shares", () => {
    const email = buildEmail(sharing(post({ files: [] }), { presentationML: "" }));
    expect(email.text).toBe("Shared post by Bob Jones, 2026-11-01T08:00:00.000Z\n> Rates are up today");
  });

  it("renders the shared post as safely as a message: no script, no event handlers", () => {
    const hostile = pml('<p onclick="steal()">Hi<script>alert(1)</script><img src="x" onerror="steal()"/></p>');
    const email = buildEmail(sharing(post({ presentationML: hostile, files: [] })));
    expect(email.html).not.toMatch(/<script|onclick|onerror/i);
    expect(email.text).toContain("> Hi");
  });

  it("a shared post too large to render is attached byte for byte, and the message is still shown", () => {
    const large = pml(`<p>${"x".repeat(MAX_INPUT_BYTES)}</p>`);
    const data = '{"mention1":{"type":"com.symphony.user.mention"}}';
    const email = buildEmail(sharing(post({ presentationML: large, data })));
    expect(email.text).toMatch(/^Worth a read\n\nShared post by Bob Jones, 2026-11-01T08:00:00.000Z: not shown here: /);
    expect(email.text).toContain(`attached as ${ORIGINAL_SHARED_FILE} (and its data as ${ORIGINAL_SHARED_DATA_FILE})`);
    expect(email.text).toContain("rates.pdf (2.0 KB)");
    expect(email.originals?.map((original) => [original.ref.name, original.content])).toEqual([
      [ORIGINAL_SHARED_FILE, large],
      [ORIGINAL_SHARED_DATA_FILE, data],
    ]);
    expect(email.attachments.map((ref) => ref.name)).toEqual([ORIGINAL_SHARED_FILE, ORIGINAL_SHARED_DATA_FILE]);
    expect(email.notRendered).toMatch(/^the shared post: /);
  });

  it("a message and a shared post that fit alone but not together: the post is attached", () => {
    const half = (text: string) => pml(`<p>${text.repeat(700 * 1024)}</p>`);
    const email = buildEmail(sharing(post({ presentationML: half("b") }), { presentationML: half("a") }));
    expect(email.text).toContain("not shown here: with the message it is larger than the 1.0 MB");
    expect(email.text.startsWith("a".repeat(1000))).toBe(true);
    expect(email.originals?.map((original) => original.ref.name)).toEqual([ORIGINAL_SHARED_FILE]);
  });

  it("when the message itself is not rendered, both are attached as sent", () => {
    const email = buildEmail(sharing(post()), { notRendered: "its conversion ran out of time" });
    expect(email.originals?.map((original) => original.content)).toEqual([
      pml("<p>Worth a read</p>"),
      pml("<p>Rates are <b>up</b> today</p>"),
    ]);
    expect(email.text).toContain(
      "Shared post by Bob Jones, 2026-11-01T08:00:00.000Z: not shown here: its conversion ran out of time.",
    );
    expect(email.notRendered).toBe("its conversion ran out of time");
  });

  it("a message too large to render still shows the post it shares", () => {
    const large = pml(`<p>${"x".repeat(MAX_INPUT_BYTES)}</p>`);
    const email = buildEmail(sharing(post(), { presentationML: large }));
    expect(email.text).toMatch(/^This Symphony message is not shown here: its content is /);
    expect(email.text).toContain("Shared post by Bob Jones, 2026-11-01T08:00:00.000Z\n> Rates are up today");
    expect(email.originals?.map((original) => original.content)).toEqual([large]);
  });

  it("a message that fills the body alone is attached, and the post is shown below why", () => {
    const nearLimit = pml(`<p>${"a".repeat(1024 * 1024 - 200)}</p>`);
    const email = buildEmail(sharing(post(), { presentationML: nearLimit }));
    expect(email.text).toMatch(
      /^This Symphony message is not shown here: with the post it shares it is larger than the 1\.0 MB an archived item shows\./,
    );
    expect(email.text).toContain("\n\nShared post by Bob Jones, 2026-11-01T08:00:00.000Z\n> Rates are up today");
    expect(email.originals?.map((original) => [original.ref.name, original.content])).toEqual([
      ["symphony-message.txt", nearLimit],
    ]);
    expect(Buffer.byteLength(email.html)).toBeLessThan(10_000);
  });

  it("a shared post Symphony sent in a form the connector cannot read is attached as sent", () => {
    const raw = '{"attachments":7}';
    const email = buildEmail(
      sharing(
        post({
          presentationML: raw,
          unreadable: "Symphony sent it in a form the connector cannot read (attachments: expected array)",
          files: [],
        }),
      ),
    );
    expect(email.text).toContain(
      "Shared post by Bob Jones, 2026-11-01T08:00:00.000Z: not shown here: Symphony sent it in a form the connector cannot read (attachments: expected array)",
    );
    expect(email.originals?.map((original) => [original.ref.name, original.content])).toEqual([
      [ORIGINAL_SHARED_FILE, raw],
    ]);
  });

  it("escapes the author's name and file names, names at most 20 files, and names no id that is not a plain one", () => {
    const files = Array.from({ length: 25 }, (_, i) => ({ name: `<img src=x onerror=steal()>${i}.pdf`, size: 10 }));
    const email = buildEmail(
      sharing(
        post({
          messageId: "x".repeat(300),
          sender: { userId: "1002", displayName: '<script>alert("name")</script>' },
          files,
        }),
      ),
    );
    expect(email.html).not.toMatch(/<script|<img/i);
    expect(email.html).toContain("&lt;script&gt;");
    expect(email.text).toContain("19.pdf (10 bytes)");
    expect(email.text).not.toContain("20.pdf (");
    expect(email.text).toContain("and 5 more.");
    expect(email.headers["X-Symphony-Shared-Message-Id"]).toBeUndefined();
  });
});
