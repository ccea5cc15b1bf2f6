import { describe, expect, it } from "vitest";
import { buildEmail } from "@/lib/convert";
import { messageListSchema } from "@/lib/symphony";
import { toChatMessage, type Conversation } from "./chat-message";

const wall: Conversation = { stream: { id: "d2FsbA", type: "POST", attributes: {} }, members: [] };
const sharer = { userId: 7, displayName: "Uma Chen", email: "uma@bank.example" };

/** A wall post as Symphony's message list gives it, through the client's schema, to the email. */
function emailOf(sharedMessage: unknown) {
  const [message] = messageListSchema.parse([
    { messageId: "c2hhcmU", timestamp: 1764000000000, message: "<div>worth a read</div>", user: sharer, sharedMessage },
  ]);
  return buildEmail(toChatMessage(message!, wall, { messageId: "c2hhcmU", timestamp: 1764000000000 }));
}

describe("a message's shared post, from Symphony's message to the email", () => {
  it("shows the post it shares, by its author, with its files named", () => {
    const email = emailOf({
      messageId: "b3JpZ2luYWw",
      timestamp: 1763900000000,
      message: "<div>Rates are up</div>",
      user: { userId: 8, firstName: "Bob", lastName: "Jones" },
      attachments: [{ id: "f1", name: "rates.pdf", size: 2048 }],
    });
    expect(email.text).toContain("Shared post by Bob Jones, 2025-11-23T12:13:20.000Z\n> Rates are up");
    expect(email.text).toContain("rates.pdf (2.0 KB)");
    expect(email.headers["X-Symphony-Shared-Message-Id"]).toBe("b3JpZ2luYWw");
  });

  it("attaches a shared post Symphony could not decrypt, or sent in a form the connector cannot read, as sent", () => {
    const undecrypted = emailOf({ messageId: "b3JpZ2luYWw", diagnostic: "Unable to decrypt", user: { userId: 8 } });
    expect(undecrypted.text).toContain("worth a read");
    expect(undecrypted.text).toContain("not shown here: Symphony could not read it: Unable to decrypt.");
    expect(undecrypted.originals?.[0]?.content).toContain('"diagnostic":"Unable to decrypt"');

    const odd = emailOf({ messageId: "b3JpZ2luYWw", attachments: "rates.pdf" });
    expect(odd.text).toContain("not shown here: Symphony sent it in a form the connector cannot read (attachments");
    expect(odd.originals?.[0]?.content).toBe('{"messageId":"b3JpZ2luYWw","attachments":"rates.pdf"}');
  });
});

describe("a message Symphony sent without its time", () => {
  it("is archived at the time the collector settled on, and the item says so in its body and a header", () => {
    const [message] = messageListSchema.parse([{ messageId: "bm90aW1l", message: "<div>when?</div>", user: sharer }]);
    const email = buildEmail(
      toChatMessage(message!, wall, {
        messageId: "bm90aW1l",
        timestamp: 1764000000000,
        timeFrom: "the time of the message before it",
      }),
    );
    const note =
      "Symphony sent this message without its time: it is archived at 2025-11-24T16:00:00.000Z, the time of the message before it.";
    expect(email.date).toEqual(new Date(1764000000000));
    expect(email.text).toBe(`when?\n\n${note}`);
    expect(email.html).toContain(note);
    expect(email.headers["X-Symphony-Time-Note"]).toBe(note);
    // A message with its time says nothing of it.
    const [timed] = messageListSchema.parse([
      { messageId: "dGltZWQ", timestamp: 1764000000000, message: "<div>now</div>" },
    ]);
    const plain = buildEmail(toChatMessage(timed!, wall, { messageId: "dGltZWQ", timestamp: 1764000000000 }));
    expect(plain.headers["X-Symphony-Time-Note"]).toBeUndefined();
    expect(plain.text).toBe("now");
  });
});
