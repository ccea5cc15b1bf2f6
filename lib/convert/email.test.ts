import { describe, expect, it } from "vitest";
import { buildEmail, messageIdFor } from "./email";
import { MAX_GRAPH_HEADERS, toGraphMessage } from "./graph";
import { visibleName } from "./names";
import type { ChatMessage, Person } from "./types";

const alice: Person = { userId: "1001", email: "alice@example.com", displayName: "Alice Smith" };
const bob: Person = { userId: "1002", email: "bob@example.com", displayName: "Bob Jones" };
const carol: Person = { userId: "1003", email: "carol@example.com", displayName: "Carol White" };
const external: Person = { userId: "9/9+", displayName: "Ext Partner" };

function message(overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    messageId: "kS6Pv+8mHq3/Xy2Wn1bL4Q==",
    streamId: "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA",
    streamType: "IM",
    timestamp: new Date("2026-11-02T09:15:30.250Z"),
    sender: alice,
    participants: [alice, bob],
    presentationML: '<div data-format="PresentationML" data-version="2.0"><p>Hello <b>Bob</b></p></div>',
    attachments: [],
    ...overrides,
  };
}

describe("buildEmail", () => {
  it("IM: from the sender to the other participant, subject names both", () => {
    const email = buildEmail(message());
    expect(email.from).toEqual({ name: "Alice Smith", address: "alice@example.com" });
    expect(email.to).toEqual([{ name: "Bob Jones", address: "bob@example.com" }]);
    expect(email.subject).toBe("Symphony IM: Alice Smith, Bob Jones");
    expect(email.date.toISOString()).toBe("2026-11-02T09:15:30.250Z");
    expect(email.text).toBe("Hello Bob");
  });

  it("the subject of a conversation is the same whoever sends", () => {
    expect(buildEmail(message({ sender: bob })).subject).toBe(buildEmail(message()).subject);
  });

  it("MIM: to everyone else, subject lists the group", () => {
    const email = buildEmail(message({ streamType: "MIM", participants: [carol, bob, alice] }));
    expect(email.to.map((a) => a.address)).toEqual(["carol@example.com", "bob@example.com"]);
    expect(email.subject).toBe("Symphony chat: Alice Smith, Bob Jones, Carol White");
  });

  it("MIM with many people names a few and counts the rest", () => {
    const many = Array.from({ length: 9 }, (_, i) => ({ userId: `u${i}`, displayName: `P${i}` }));
    expect(buildEmail(message({ streamType: "MIM", participants: many })).subject).toBe(
      "Symphony chat: Alice Smith, P0, P1, P2, P3 and 5 more",
    );
  });

  it("ROOM: subject is the room name, to the room members", () => {
    const email = buildEmail(
      message({
        streamType: "ROOM",
        conversationName: "Rates\r\nBcc: evil@example.com",
        participants: [alice, bob, carol],
      }),
    );
    // A line break is shown as an escape, as in display names: the header stays one line.
    expect(email.subject).toBe("Symphony room: Rates\\u000D\\u000ABcc: evil@example.com");
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.to.map((a) => a.name)).toEqual(["Bob Jones", "Carol White"]);
  });

  it("ROOM: the subject says the room name as sent, spaces kept and control characters escaped", () => {
    const room = (conversationName: string) =>
      buildEmail(message({ streamType: "ROOM", conversationName, participants: [alice, bob] })).subject;
    expect(room("Desk\u00a0A  FX\u0001")).toBe("Symphony room: Desk\u00a0A  FX\\u0001");
    expect(room(" \tRates\u0085\u2028desk\u202E ")).toBe("Symphony room: Rates\\u0085\\u2028desk\\u202E");
    // The same escapes as a display name gets.
    const name = "Desk\u00a0A  FX\u0001\r\n";
    expect(room(name)).toBe(`Symphony room: ${visibleName(name.trim())}`);
    expect(buildEmail(message({ sender: { ...alice, displayName: name } })).from.name).toBe(visibleName(name.trim()));
  });

  it("POST: subject names the author; with nobody else the sender is the recipient", () => {
    const email = buildEmail(message({ streamType: "POST", participants: [alice] }));
    expect(email.subject).toBe("Symphony post: Alice Smith");
    expect(email.to).toEqual([email.from]);
  });

  it("gives people without an email a stable address on the configured domain", () => {
    const email = buildEmail(message({ sender: external, participants: [external, bob] }), {
      domain: "archive.example.org",
    });
    expect(email.from).toEqual({ name: "Ext Partner", address: "symphony-user-9_9-@archive.example.org" });
  });

  it("carries the Symphony ids in headers and a deterministic Message-ID", () => {
    const email = buildEmail(message());
    expect(email.headers).toEqual({
      "X-Symphony-Message-Id": "kS6Pv+8mHq3/Xy2Wn1bL4Q==",
      "X-Symphony-Stream-Id": "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA",
      "X-Symphony-Stream-Type": "IM",
      "X-Symphony-Sender-Id": "1001",
      "X-Symphony-From-Address": "alice@example.com",
      "X-Symphony-To": "1002 <bob@example.com>",
    });
    expect(email.messageId).toBe("<kS6Pv-8mHq3_Xy2Wn1bL4Q@symphony.invalid>");
    expect(buildEmail(message({ messageId: "kS6Pv-8mHq3_Xy2Wn1bL4Q" })).messageId).toBe(email.messageId);
    expect(email.references).toEqual([]);
    expect(email.inReplyTo).toBeUndefined();
  });

  it("a reply says so and points at its parent", () => {
    const email = buildEmail(message({ parentMessageId: "parent1" }));
    expect(email.subject).toBe("Re: Symphony IM: Alice Smith, Bob Jones");
    expect(email.inReplyTo).toBe(messageIdFor("parent1"));
    expect(email.references).toEqual([messageIdFor("parent1")]);
    expect(email.headers["X-Symphony-Parent-Message-Id"]).toBe("parent1");
  });

  it("an edit is its own item referencing the original", () => {
    const email = buildEmail(
      message({ messageId: "v2", initialMessageId: "v1", initialTimestamp: new Date("2026-11-02T09:00:00Z") }),
    );
    expect(email.subject).toBe("Edited: Symphony IM: Alice Smith, Bob Jones");
    expect(email.messageId).toBe(messageIdFor("v2"));
    expect(email.inReplyTo).toBe(messageIdFor("v1"));
    expect(email.headers["X-Symphony-Initial-Message-Id"]).toBe("v1");
    expect(email.headers["X-Symphony-Initial-Timestamp"]).toBe("2026-11-02T09:00:00.000Z");
  });

  it("a first version that names itself as initial is not an edit", () => {
    const email = buildEmail(message({ messageId: "v1", initialMessageId: "v1" }));
    expect(email.subject).toBe("Symphony IM: Alice Smith, Bob Jones");
    expect(email.headers["X-Symphony-Initial-Message-Id"]).toBeUndefined();
  });

  it("shows mapped people by their Microsoft 365 address and keeps their Symphony address and id in headers", () => {
    const email = buildEmail(
      message({
        streamType: "ROOM",
        sender: { ...alice, mappedAddress: "alice.smith@corp.example" },
        participants: [
          { ...alice, mappedAddress: "alice.smith@corp.example" },
          { ...bob, mappedAddress: "bob.jones@corp.example" },
          { ...carol, email: "carol@partner.example" },
          external,
        ],
      }),
      { domain: "archive.example.org" },
    );
    expect(email.from).toEqual({ name: "Alice Smith", address: "alice.smith@corp.example" });
    expect(email.to).toEqual([
      { name: "Bob Jones", address: "bob.jones@corp.example" },
      { name: "Carol White", address: "carol@partner.example" },
      { name: "Ext Partner", address: "symphony-user-9_9-@archive.example.org" },
    ]);
    expect(email.headers).toMatchObject({
      "X-Symphony-Sender-Id": "1001",
      "X-Symphony-From-Address": "alice@example.com",
      "X-Symphony-To": "1002 <bob@example.com>, 1003 <carol@partner.example>, 9/9+",
    });
  });

  it("writes a login name that could break a header as one percent-encoded token, and omits an unsafe address", () => {
    const sender: Person = { userId: "jean dupont,\r\nBcc: x", email: "not an address", displayName: "Jean" };
    const email = buildEmail(message({ sender, participants: [sender, bob] }));
    expect(email.headers["X-Symphony-Sender-Id"]).toBe("jean%20dupont%2C%0D%0ABcc%3A%20x");
    expect(email.headers).not.toHaveProperty("X-Symphony-From-Address");
    // A mapped address that is not a plain one is not used either.
    expect(buildEmail(message({ sender: { ...alice, mappedAddress: "x\r\n@y" } })).from.address).toBe(
      "alice@example.com",
    );
  });

  it("rejects ids that could break a header, with a clear message", () => {
    expect(() => buildEmail(message({ messageId: "abc\r\nBcc: x@example.com" }))).toThrow(/messageId/);
  });
});

describe("toGraphMessage", () => {
  it("builds a received, read, non-draft message with the original times", () => {
    const email = buildEmail(message());
    expect(toGraphMessage(email)).toEqual({
      subject: "Symphony IM: Alice Smith, Bob Jones",
      body: { contentType: "html", content: email.html },
      from: { emailAddress: { name: "Alice Smith", address: "alice@example.com" } },
      sender: { emailAddress: { name: "Alice Smith", address: "alice@example.com" } },
      toRecipients: [{ emailAddress: { name: "Bob Jones", address: "bob@example.com" } }],
      internetMessageId: "<kS6Pv-8mHq3_Xy2Wn1bL4Q@symphony.invalid>",
      isRead: true,
      singleValueExtendedProperties: [
        { id: "Integer 0x0E07", value: "1" },
        { id: "SystemTime 0x0E06", value: "2026-11-02T09:15:30.250Z" },
        { id: "SystemTime 0x0039", value: "2026-11-02T09:15:30.250Z" },
      ],
      internetMessageHeaders: [
        { name: "X-Symphony-Message-Id", value: "kS6Pv+8mHq3/Xy2Wn1bL4Q==" },
        { name: "X-Symphony-Stream-Id", value: "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA" },
        { name: "X-Symphony-Sender-Id", value: "1001" },
        { name: "X-Symphony-From-Address", value: "alice@example.com" },
        { name: "X-Symphony-Stream-Type", value: "IM" },
      ],
    });
  });

  it("sends at most Graph's 5 custom headers, most useful first; the rest stay in the MIME only", () => {
    const email = buildEmail(
      message({
        messageId: "v2",
        parentMessageId: "parent1",
        initialMessageId: "v1",
        initialTimestamp: new Date("2026-11-02T09:00:00Z"),
      }),
    );
    expect(Object.keys(email.headers)).toHaveLength(9);
    expect(toGraphMessage(email).internetMessageHeaders?.map((h) => h.name)).toEqual([
      "X-Symphony-Message-Id",
      "X-Symphony-Stream-Id",
      "X-Symphony-Sender-Id",
      "X-Symphony-From-Address",
      "X-Symphony-Parent-Message-Id",
    ]);
    expect(MAX_GRAPH_HEADERS).toBe(5);

    // Order does not depend on the MIME's; names Graph refuses (not x-) and unsafe values never go.
    const graph = toGraphMessage({
      ...email,
      headers: {
        "X-Symphony-Stream-Type": "ROOM",
        "In-Reply-To": "<a@b>",
        "x-symphony-stream-id": "s1",
        "X-Symphony-Other": "line\r\nBcc: x@example.com",
        "X-Symphony-Long": "x".repeat(1000),
      },
    });
    expect(graph.internetMessageHeaders).toEqual([
      { name: "x-symphony-stream-id", value: "s1" },
      { name: "X-Symphony-Stream-Type", value: "ROOM" },
    ]);
    expect(toGraphMessage({ ...email, headers: {} })).not.toHaveProperty("internetMessageHeaders");
  });
});

describe("a message whose content is plain text (a Content Export record's)", () => {
  it("is rendered as written, and attached as sent, not as the markup made of it, when too large to show", () => {
    const shown = buildEmail(message({ presentationML: "if px<bid then sell\n& buy", contentIsText: true }));
    expect(shown.text).toContain("if px<bid then sell\n& buy");
    expect(shown.originals).toBeUndefined();

    const text = "&".repeat(300_000); // 300 KB as sent, 1.5 MB once escaped as markup
    const large = buildEmail(message({ presentationML: text, contentIsText: true }));
    expect(large.notRendered).toMatch(/more than the 1\.0 MB/);
    expect(large.originals?.[0]?.content).toBe(text);
  });
});
