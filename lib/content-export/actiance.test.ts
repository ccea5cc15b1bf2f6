import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { indexActiance, readActianceItems, type OpenXml } from "./actiance";
import { benchActianceParse } from "./bench";
import { ExportFileError } from "./errors";
import type { ExportChatItem } from "./types";
import { DEFAULT_XML_LIMITS, DOCTYPE_REFUSED, type XmlLimits } from "./xml-stream";

/** The XML in small chunks, so that elements straddle chunk boundaries. */
const xmlSource =
  (xml: string | Buffer): OpenXml =>
  () => {
    const bytes = Buffer.from(xml);
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 97) chunks.push(bytes.subarray(at, at + 97));
    return Promise.resolve(Readable.from(chunks));
  };

async function readAll(xml: string | Buffer, limits?: XmlLimits) {
  const open = xmlSource(xml);
  const index = await indexActiance(open, limits);
  const items: ExportChatItem[] = [];
  for await (const item of readActianceItems(open, index, (path) => path.length, limits)) items.push(item);
  return { index, items };
}

const T0 = 1_700_000_000; // seconds
const person = (element: string, login: string, at: number, extra = "") =>
  `<${element}><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><InternalFlag>${login === "ext" ? "false" : "true"}</InternalFlag><CorporateEmailID>${login}@acme.example</CorporateEmailID><DisplayName>${login.toUpperCase()}</DisplayName>${extra}</${element}>`;
const message = (login: string, at: number, content: string, id?: string, extra = "") =>
  `<Message><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><Content>${content}</Content>${id ? `<MessageId>${id}</MessageId>` : ""}${extra}</Message>`;
const transfer = (element: string, login: string, at: number, userName: string, fileName: string) =>
  `<${element}><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><UserFileName>${userName}</UserFileName><FileName>${fileName}</FileName><Status>${element === "FileTransferEnded" ? "Completed" : "Started"}</Status></${element}>`;

/**
 * A room over a period with mid-period presence changes, its elements deliberately out of time order
 * (bob's leave and carol's join come before the messages they affect); then an IM in milliseconds
 * and a MIM.
 */
const ROOM_XML = `<?xml version="1.0" encoding="UTF-8"?>
<FileDump>
  <Conversation Perspective="Project X">
    ${person("ParticipantLeft", "bob", T0 + 40)}
    <RoomID>room-1</RoomID>
    <StartTimeUTC>${T0}</StartTimeUTC>
    ${person("ParticipantEntered", "alice", T0)}
    ${person("ParticipantEntered", "carol", T0 + 20)}
    ${person("ParticipantEntered", "bob", T0)}
    ${message("alice", T0 + 10, "&lt;p&gt;before carol&lt;/p&gt;", "m1")}
    ${message("bob", T0 + 30, "<![CDATA[<b>all three</b>]]>", "m2")}
    ${message("alice", T0 + 40, "at the second bob leaves", "m3")}
    ${message("carol", T0 + 50, "after bob left")}
    ${message("alice", T0 + 60, "orginal", "m4", "<UpdatedType>EditedOriginalMsg</UpdatedType><UpdatedDateTimeUTC>" + (T0 + 70) + "</UpdatedDateTimeUTC><EditedNewMsgId>m5</EditedNewMsgId>")}
    ${message("alice", T0 + 70, "original", "m5", "<UpdatedType>EditedNewMsg</UpdatedType><UpdatedDateTimeUTC>" + (T0 + 70) + "</UpdatedDateTimeUTC>")}
    ${transfer("FileTransferStarted", "carol", T0 + 80, "report.pdf", "files/f1/report.pdf")}
    ${transfer("FileTransferEnded", "carol", T0 + 81, "report.pdf", "files/f1/report.pdf")}
    ${transfer("FileTransferStarted", "alice", T0 + 90, "notes.txt", "files/f2/notes.txt")}
    ${person("ParticipantLeft", "alice", T0 + 100)}
    ${person("ParticipantLeft", "carol", T0 + 100)}
    <EndTimeUTC>${T0 + 100}</EndTimeUTC>
  </Conversation>
  <Conversation Perspective="Chat">
    <RoomID>im-1</RoomID>
    ${person("ParticipantEntered", "alice", T0 * 1000)}
    ${person("ParticipantEntered", "ext", T0 * 1000)}
    ${message("ext", T0 * 1000 + 1234, "hi from outside", "i1")}
    <Unknown><Nested>ignored</Nested></Unknown>
  </Conversation>
  <Conversation Perspective="">
    <RoomID>mim-1</RoomID>
    ${["alice", "bob", "dave"].map((login) => person("ParticipantEntered", login, T0)).join("")}
    ${message("dave", T0 + 5, "three of us", "x1")}
  </Conversation>
</FileDump>`;

const logins = (item: ExportChatItem | undefined) => item?.recipients.map((r) => r.loginName).sort();

describe("Actiance XML", () => {
  it("indexes the file, then yields every item in document order", async () => {
    const { index, items } = await readAll(ROOM_XML);
    expect(index.conversations).toHaveLength(3);
    expect(index.messages).toBe(10);
    expect([...index.fileNames]).toEqual(["files/f1/report.pdf", "files/f2/notes.txt"]);
    expect(items.map((item) => item.messageId ?? item.content ?? "")).toEqual([
      "m1",
      "m2",
      "m3",
      "after bob left",
      "m4",
      "m5",
      "",
      "",
      "i1",
      "x1",
    ]);
  });

  it("gives each message the people present at its time: a late joiner none before, a leaver none after", async () => {
    const { items } = await readAll(ROOM_XML);
    const byContent = (text: string) => items.find((item) => item.content.includes(text));
    expect(logins(byContent("before carol"))).toEqual(["alice", "bob"]);
    expect(logins(byContent("all three"))).toEqual(["alice", "bob", "carol"]);
    // A Left at exactly the message's time: still present (no Left in [entered, t)).
    expect(logins(byContent("at the second bob leaves"))).toEqual(["alice", "bob", "carol"]);
    expect(logins(byContent("after bob left"))).toEqual(["alice", "carol"]);
    const bob = byContent("all three")?.recipients.find((r) => r.loginName === "bob");
    expect(bob).toEqual({ loginName: "bob", email: "bob@acme.example", displayName: "BOB", internal: true });
    const im = items.find((item) => item.conversationId === "im-1");
    expect(im?.sender).toEqual({ loginName: "ext", email: "ext@acme.example", displayName: "EXT", internal: false });
  });

  it("adds the sender when absent, and a rejoin after a leave counts again", async () => {
    const xml = `<FileDump><Conversation Perspective="R"><RoomID>r</RoomID>
      ${person("ParticipantEntered", "alice", T0)}${person("ParticipantLeft", "alice", T0 + 10)}${person("ParticipantEntered", "alice", T0 + 20)}
      ${message("ghost", T0 + 5, "a")}${message("ghost", T0 + 15, "b")}${message("ghost", T0 + 25, "c")}
    </Conversation></FileDump>`;
    const { items } = await readAll(xml);
    expect(items.map(logins)).toEqual([["alice", "ghost"], ["ghost"], ["alice", "ghost"]]);
    expect(items[0]?.sender).toEqual({ loginName: "ghost", internal: true });
  });

  it("reads times in seconds or milliseconds, and names the conversation types", async () => {
    const { items } = await readAll(ROOM_XML);
    expect(items[0]?.sentAt.toISOString()).toBe(new Date((T0 + 10) * 1000).toISOString());
    const im = items.find((item) => item.conversationId === "im-1");
    expect(im?.sentAt.getTime()).toBe(T0 * 1000 + 1234);
    expect([items[0], im, items.at(-1)].map((item) => [item?.conversationType, item?.conversationName])).toEqual([
      ["ROOM", "Project X"],
      ["IM", undefined],
      ["MIM", undefined],
    ]);
    expect(items[0]?.content).toBe("<p>before carol</p>");
    expect(items[1]?.content).toBe("<b>all three</b>");
  });

  it("links an edit to its original and dates it", async () => {
    const { items } = await readAll(ROOM_XML);
    const edited = items.find((item) => item.messageId === "m5");
    expect(edited?.editOf).toBe("m4");
    expect(edited?.editedAt?.getTime()).toBe((T0 + 70) * 1000);
    expect(items.find((item) => item.messageId === "m4")?.editOf).toBeUndefined();
  });

  it("keys a message by its id in the APIs' URL-safe form, whichever base64 the file uses", async () => {
    const standard = "c88ubx+NEOAT8lRq6u7e/g1alQAAAAAACg==";
    const urlSafe = "c88ubx-NEOAT8lRq6u7e_g1alQAAAAAACg";
    const xml = `<?xml version="1.0" encoding="UTF-8"?><FileDump><Conversation Perspective="Chat"><RoomID>im-9</RoomID>${person("ParticipantEntered", "alice", T0)}${message("alice", T0 + 1, "old", standard, `<UpdatedType>EditedOriginalMsg</UpdatedType><UpdatedDateTimeUTC>${T0 + 2}</UpdatedDateTimeUTC><EditedNewMsgId>n+w/</EditedNewMsgId>`)}${message("alice", T0 + 2, "new", "n+w/", "<UpdatedType>EditedNewMsg</UpdatedType>")}</Conversation></FileDump>`;
    const { items } = await readAll(xml);
    expect(items.map((item) => [item.key, item.editOf])).toEqual([
      [urlSafe, undefined],
      ["n-w_", urlSafe],
    ]);
  });

  it("makes one item per file transfer, the Ended one when there is one", async () => {
    const { items } = await readAll(ROOM_XML);
    const transfers = items.filter((item) => item.attachments.length > 0);
    expect(transfers.map((item) => [item.sender.loginName, item.sentAt.getTime() / 1000, item.attachments])).toEqual([
      ["carol", T0 + 81, [{ name: "report.pdf", zipPath: "files/f1/report.pdf", size: 19 }]],
      ["alice", T0 + 90, [{ name: "notes.txt", zipPath: "files/f2/notes.txt", size: 18 }]],
    ]);
    expect(transfers.every((item) => item.content === "" && item.key.startsWith("ce-"))).toBe(true);
  });

  it("keys a message without MessageId by a hash that is the same in every reading and in files of either precision", async () => {
    const first = (await readAll(ROOM_XML)).items.find((item) => item.content === "after bob left");
    const second = (await readAll(ROOM_XML)).items.find((item) => item.content === "after bob left");
    expect(first?.key).toMatch(/^ce-[0-9a-f]{64}$/);
    expect(second?.key).toBe(first?.key);
    // The same message in an ad-hoc file (milliseconds) keys the same as in the recurring one (seconds).
    const inMillis = ROOM_XML.replace(
      `<DateTimeUTC>${T0 + 50}</DateTimeUTC>`,
      `<DateTimeUTC>${(T0 + 50) * 1000 + 417}</DateTimeUTC>`,
    );
    const adHoc = (await readAll(inMillis)).items.find((item) => item.content === "after bob left");
    expect(adHoc?.sentAt.getTime()).toBe((T0 + 50) * 1000 + 417);
    expect(adHoc?.key).toBe(first?.key);
  });

  it("keeps two identical messages in the same second apart", async () => {
    const xml = `<FileDump><Conversation><RoomID>r</RoomID>${message("a", T0, "ok")}${message("a", T0, "ok")}${message("a", T0, "ok!")}</Conversation></FileDump>`;
    const keys = (await readAll(xml)).items.map((item) => item.key);
    expect(new Set(keys).size).toBe(3);
    expect((await readAll(xml)).items.map((item) => item.key)).toEqual(keys);
  });

  it.each([
    [
      "a missing time",
      message("a", T0, "x").replace(/<DateTimeUTC>\d+<\/DateTimeUTC>/, ""),
      "the <Message> at line 1 has no DateTimeUTC",
    ],
    [
      "a garbled time",
      message("a", T0, "x").replace(String(T0), "yesterday"),
      'the <Message> at line 1 has a garbled DateTimeUTC "yesterday"',
    ],
    [
      "an implausible time",
      message("a", T0, "x").replace(String(T0), "12345"),
      /DateTimeUTC "12345" that is no epoch time between 2000 and 2200/,
    ],
    ["no sender", message("", T0, "x"), "the <Message> at line 1 has no LoginName"],
    [
      "a file transfer without FileName",
      transfer("FileTransferEnded", "a", T0, "x", ""),
      "the <FileTransferEnded> at line 1 has no FileName",
    ],
    [
      "an unsafe FileName",
      transfer("FileTransferEnded", "a", T0, "x", "../../etc/passwd"),
      /names the file "\.\.\/\.\.\/etc\/passwd", an unsafe path/,
    ],
  ])("fails the file on %s", async (_case, record, reason) => {
    const xml = `<FileDump><Conversation><RoomID>r</RoomID>${record}</Conversation></FileDump>`;
    const error = await indexActiance(xmlSource(xml)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ExportFileError);
    expect((error as Error).message).toMatch(reason);
  });

  it("fails a conversation without RoomID, and a file whose root is not FileDump", async () => {
    await expect(indexActiance(xmlSource("<FileDump>\n<Conversation>\n</Conversation></FileDump>"))).rejects.toThrow(
      "the <Conversation> at line 2 has no RoomID",
    );
    await expect(indexActiance(xmlSource("<Export><Message/></Export>"))).rejects.toThrow(
      "this is not an Actiance XML file (root <Export>)",
    );
  });

  it("fails malformed XML anywhere in pass 1 with its line, so that nothing is yielded", async () => {
    const broken = ROOM_XML.replace(
      '</Conversation>\n  <Conversation Perspective="">',
      "</Conversaton>\n  <Conversation>",
    );
    const line = broken.slice(0, broken.indexOf("</Conversaton>")).split("\n").length;
    const error = await indexActiance(xmlSource(broken)).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ExportFileError);
    expect((error as Error).message).toMatch(new RegExp(`^the XML is malformed at line ${line}, column \\d+: `));
    await expect(indexActiance(xmlSource(ROOM_XML.slice(0, -20)))).rejects.toThrow(/^the XML is malformed at line/);
  });

  it("reads a message holding a control character XML 1.0 does not allow, raw or as a reference, with the file's others", async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<FileDump><Conversation><RoomID>r</RoomID>${person("ParticipantEntered", "alice", T0)}${message("alice", T0 + 1, "rate\u000B1.0832", "m1")}${message("alice", T0 + 2, "page&#12;break &#x1F600;", "m2")}${message("alice", T0 + 3, "plain", "m3")}</Conversation></FileDump>`;
    const { items } = await readAll(xml);
    expect(items.map((item) => [item.key, item.content])).toEqual([
      ["m1", "rate\u000B1.0832"],
      ["m2", "page&#12;break 😀"],
      ["m3", "plain"],
    ]);
    // A broken structure still refuses the file, and so does a "<" in an attribute (saxes would drop it).
    await expect(readAll(xml.replace("</Message>", "</Mesage>"))).rejects.toThrow(/^the XML is malformed at line/);
    await expect(readAll(xml.replace("<RoomID>", '<RoomID a="x<y">'))).rejects.toThrow(
      /^the XML is malformed at line 2, column \d+: disallowed character\.$/,
    );
  });

  it("refuses a DOCTYPE: neither an external entity (XXE) nor billion laughs is ever expanded", async () => {
    const xxe = `<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<FileDump><Conversation><RoomID>r</RoomID>${message("a", T0, "&xxe;")}</Conversation></FileDump>`;
    const laughs = `<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, n) => `<!ENTITY lol${n + 1} "${`&lol${n || ""};`.repeat(10)}">`).join("")}]>\n<FileDump><Conversation><RoomID>r</RoomID>${message("a", T0, "&lol9;")}</Conversation></FileDump>`;
    const rssBefore = process.memoryUsage().rss;
    for (const xml of [xxe, laughs]) {
      const error = await indexActiance(xmlSource(xml)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ExportFileError);
      expect((error as Error).message).toMatch(/^the XML declares a DOCTYPE .* \(line 2, column \d+\)$/);
      expect((error as Error).message.startsWith(DOCTYPE_REFUSED)).toBe(true);
      expect((error as Error).message).not.toMatch(/root:|lollol/);
    }
    // Billion laughs expanded would take gigabytes.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(50 * 1024 * 1024);
    // An entity reference without any DOCTYPE is malformed, never resolved.
    const bare = `<FileDump><Conversation><RoomID>r</RoomID>${message("a", T0, "&xxe;")}</Conversation></FileDump>`;
    await expect(indexActiance(xmlSource(bare))).rejects.toThrow(
      /^the XML is malformed at line 1, column \d+: undefined entity/,
    );
  });

  it("refuses what it cannot read as UTF-8, another declared encoding, and text too long without markup", async () => {
    const latin1 = Buffer.concat([
      Buffer.from("<FileDump><Conversation><RoomID>caf"),
      Buffer.from([0xe9]),
      Buffer.from("</RoomID></Conversation></FileDump>"),
    ]);
    await expect(indexActiance(xmlSource(latin1))).rejects.toThrow(/^the XML is not valid UTF-8/);
    await expect(indexActiance(xmlSource('<?xml version="1.0" encoding="ISO-8859-1"?><FileDump/>'))).rejects.toThrow(
      'the XML declares the encoding "ISO-8859-1"; only UTF-8 is read',
    );
    const long = `<FileDump><Conversation><RoomID>r</RoomID>${message("a", T0, "z".repeat(5000))}</Conversation></FileDump>`;
    await expect(indexActiance(xmlSource(long), { ...DEFAULT_XML_LIMITS, maxTextChars: 1000 })).rejects.toThrow(
      /^the XML has more than 1000 characters without markup before line 1/,
    );
    expect((await readAll(long, { ...DEFAULT_XML_LIMITS, maxTextChars: 10_000 })).items[0]?.content).toHaveLength(5000);
  });

  it("refuses a field whose text outgrows the limit across markup inside it, and elements nested too deep", async () => {
    const limits = { ...DEFAULT_XML_LIMITS, maxTextChars: 1000 };
    // Each stretch of text is under the limit; together, inside one Content, they are not.
    const pieces = `${"z".repeat(600)}<b/>`.repeat(3);
    const spread = `<FileDump><Conversation><RoomID>r</RoomID>${message("a", T0, pieces)}</Conversation></FileDump>`;
    await expect(indexActiance(xmlSource(spread), limits)).rejects.toThrow(
      new ExportFileError("a <Content> has more than 1000 characters of text"),
    );
    const deep = `<FileDump><Conversation>${"<x>".repeat(100)}${"</x>".repeat(100)}</Conversation></FileDump>`;
    await expect(indexActiance(xmlSource(deep))).rejects.toThrow(/^the XML nests more than 64 elements at line 1/);
    const fine = `<FileDump><Conversation><RoomID>r</RoomID>${"<x>".repeat(60)}${"</x>".repeat(60)}</Conversation></FileDump>`;
    await expect(indexActiance(xmlSource(fine))).resolves.toBeDefined();
  });

  it("notices an XML that changed between the two readings", async () => {
    const index = await indexActiance(xmlSource(ROOM_XML));
    const other = ROOM_XML.replace(message("dave", T0 + 5, "three of us", "x1"), "");
    const reading = (async () => {
      for await (const _ of readActianceItems(xmlSource(other), index, () => 0));
    })();
    await expect(reading).rejects.toThrow("the XML changed between its two readings");
  });

  it("reads the benchmark's generated file whole (npm run bench)", async () => {
    const result = await benchActianceParse(1200);
    expect(result.messages).toBe(1200);
    expect(result.messagesPerSecond).toBeGreaterThan(0);
  });
});
