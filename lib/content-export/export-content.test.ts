import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExportFileError } from "./errors";
import { openExportContent, SYMPHONY_XML_UNSUPPORTED, type ExportContent } from "./export-content";
import { patchBytes, readAll, tempDir, writeZip, zeros, type ZipFixtureEntry } from "./test-files";
import type { ExportItem } from "./types";

const MiB = 1024 * 1024;
const T0 = 1_700_000_000;
let dir: string;
let remove: () => Promise<void>;
let counter = 0;

beforeAll(async () => ({ dir, remove } = await tempDir()));
afterAll(() => remove());

const zipOf = (entries: ZipFixtureEntry[]) => writeZip(path.join(dir, `e${++counter}.zip`), entries);

const actiance = (conversation: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<FileDump>\n<Conversation Perspective="Deals">\n<RoomID>room-9</RoomID>\n${conversation}\n</Conversation>\n</FileDump>\n`;
const entered = (login: string, at: number) =>
  `<ParticipantEntered><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><CorporateEmailID>${login}@acme.example</CorporateEmailID></ParticipantEntered>`;
const message = (login: string, at: number, content: string, id: string) =>
  `<Message><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><Content>${content}</Content><MessageId>${id}</MessageId></Message>`;
const ended = (login: string, at: number, userName: string, fileName: string) =>
  `<FileTransferEnded><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><UserFileName>${userName}</UserFileName><FileName>${fileName}</FileName><Status>Completed</Status></FileTransferEnded>`;

/** A conversation Alice and Bob entered at T0, then `records`. */
const aliceAndBob = (...records: string[]) =>
  actiance([entered("alice", T0), entered("bob", T0), ...records].join("\n"));

async function itemsOf(content: ExportContent): Promise<ExportItem[]> {
  const items: ExportItem[] = [];
  for await (const item of content.items()) items.push(item);
  return items;
}

async function refusal(file: string): Promise<string> {
  const error = await openExportContent(file).then(
    async (content) => {
      await content.close();
      return new Error("opened");
    },
    (refused: unknown) => refused as Error,
  );
  expect(error).toBeInstanceOf(ExportFileError);
  return error.message;
}

describe("openExportContent", () => {
  it("opens an Actiance zip: counts, items, and the bytes of its file transfers", async () => {
    const pdf = randomBytes(200_000);
    const file = await zipOf([
      {
        name: "e_acme_SD-2023-11-14-00_ED-2023-11-15-00_GD-2023-11-15_1700010000000.xml",
        data: aliceAndBob(
          message("alice", T0 + 1, "hello", "m1"),
          ended("bob", T0 + 2, "deck.pdf", "files/abc/deck.pdf"),
        ),
      },
      { name: "files/abc/deck.pdf", data: pdf, compress: false },
    ]);
    const content = await openExportContent(file);
    try {
      expect([content.format, content.conversations, content.messages]).toEqual(["ACTIANCE", 1, 2]);
      const items = await itemsOf(content);
      expect(items.map((item) => item.key)).toEqual(["m1", expect.stringMatching(/^ce-[0-9a-f]{64}$/)]);
      const transfer = items[1];
      if (transfer?.kind !== "chat") throw new Error("a chat item was expected");
      expect(transfer.attachments).toEqual([{ name: "deck.pdf", zipPath: "files/abc/deck.pdf", size: 200_000 }]);
      expect((await readAll(await content.openAttachment("files/abc/deck.pdf"))).equals(pdf)).toBe(true);
      expect(transfer.recipients.map((r) => r.email)).toEqual(["alice@acme.example", "bob@acme.example"]);
    } finally {
      await content.close();
    }
  });

  it("fails an Actiance file that refers to an attachment missing from the zip after a completed transfer", async () => {
    const file = await zipOf([
      { name: "export.xml", data: actiance(ended("bob", T0, "deck.pdf", "files/abc/deck.pdf")) },
      { name: "files/abc/other.pdf", data: "x" },
    ]);
    expect(await refusal(file)).toBe('"export.xml" refers to the file "files/abc/deck.pdf", which is not in the zip');
  });

  it.each([
    ["ended as Failed", (record: string) => record.replace("Completed", "Failed")],
    [
      "started and never ended",
      (record: string) => record.replaceAll("FileTransferEnded", "FileTransferStarted").replace("Completed", "Started"),
    ],
  ])(
    "reads an Actiance file whose transfer %s has no bytes in the zip: only that transfer's message cannot be opened",
    async (_, unfinished) => {
      const file = await zipOf([
        {
          name: "export.xml",
          data: aliceAndBob(
            message("alice", T0 + 1, "before", "m1"),
            unfinished(ended("bob", T0 + 2, "deck.pdf", "files/abc/deck.pdf")),
            message("alice", T0 + 3, "after", "m2"),
          ),
        },
        { name: "files/abc/other.pdf", data: "x" },
      ]);
      const content = await openExportContent(file);
      try {
        const items = await itemsOf(content);
        expect(items.map((item) => (item.kind === "chat" ? item.content : ""))).toEqual(["before", "", "after"]);
        await expect(content.openAttachment("files/abc/deck.pdf")).rejects.toThrow(
          new ExportFileError('the export names "files/abc/deck.pdf", but its zip does not hold it'),
        );
        expect((await readAll(await content.openAttachment("files/abc/other.pdf"))).toString()).toBe("x");
      } finally {
        await content.close();
      }
    },
  );

  it("fails malformed XML with its line before any item is handed out", async () => {
    const good = [1, 2, 3].map((n) => message("alice", T0 + n, `message ${n}`, `m${n}`)).join("\n");
    const file = await zipOf([{ name: "export.xml", data: actiance(`${good}\n<Message><LoginName>x</Message>`) }]);
    expect(await refusal(file)).toMatch(/^the XML is malformed at line 8, column \d+: /);
  });

  it("refuses an XML with an external entity and never reads the file it names", async () => {
    const file = await zipOf([
      {
        name: "export.xml",
        data: `<?xml version="1.0"?>\n<!DOCTYPE FileDump [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<FileDump><Conversation><RoomID>r</RoomID>${message("a", T0, "&xxe;", "m1")}</Conversation></FileDump>`,
      },
    ]);
    const reason = await refusal(file);
    expect(reason).toMatch(/^the XML declares a DOCTYPE \(external entities and DTDs are refused\)/);
    expect(reason).not.toMatch(/root:x:0/);
  });

  it("refuses Symphony XML with the reason an admin can act on", async () => {
    const file = await zipOf([
      { name: "export.xml", data: '<?xml version="1.0"?><Export><Record type="message"/></Export>' },
    ]);
    expect(await refusal(file)).toBe(SYMPHONY_XML_UNSUPPORTED);
    expect(SYMPHONY_XML_UNSUPPORTED).toBe(
      "Symphony XML is not supported yet: choose Actiance or EML in the Admin Portal's Export Content settings",
    );
  });

  it("opens an EML zip: one item per conversation, its bytes readable", async () => {
    const emlOf = (room: string, from: string) =>
      `Message-ID: <${room}.1@content-export.symphony.invalid>\r\nDate: Wed, 15 Nov 2023 00:00:00 +0000\r\nFrom: ${from}\r\nTo: bob@acme.example\r\nSubject: Symphony chat\r\nX-Symphony-Stream-Id: ${room}\r\n\r\ntranscript of ${room}\r\n`;
    const file = await zipOf([
      { name: "room-1.eml", data: emlOf("room-1", "alice@acme.example") },
      { name: "room-2.eml", data: emlOf("room-2", "carol@acme.example") },
    ]);
    const content = await openExportContent(file);
    try {
      expect([content.format, content.conversations, content.messages]).toEqual(["EML", 2, 2]);
      const items = await itemsOf(content);
      expect(items.map((item) => [item.key, item.kind === "eml" && item.conversationId])).toEqual([
        ["room-1.1@content-export.symphony.invalid", "room-1"],
        ["room-2.1@content-export.symphony.invalid", "room-2"],
      ]);
      expect((await readAll(await content.openAttachment("room-2.eml"))).toString()).toBe(
        emlOf("room-2", "carol@acme.example"),
      );
    } finally {
      await content.close();
    }
  });

  it("says what it found in a zip that holds no content it can read", async () => {
    expect(await refusal(await zipOf([{ name: "readme.txt", data: "hi" }]))).toBe(
      'the zip holds neither an Actiance XML file nor .eml files at its root (its entries: "readme.txt")',
    );
    expect(await refusal(await zipOf([]))).toBe("the zip is empty");
  });

  it("refuses a zip bomb and a path-traversal entry before reading any content", async () => {
    const bomb = await zipOf([
      { name: "export.xml", data: actiance("") },
      { name: "files/x/zeros.bin", data: zeros(4 * MiB) },
    ]);
    expect(await refusal(bomb)).toMatch(
      /^zip entry "files\/x\/zeros\.bin" has a \d+:1 compression ratio .* a zip bomb$/,
    );

    const traversal = await zipOf([
      { name: "export.xml", data: actiance("") },
      { name: "aa/aa/aa/passwd", data: "root::0:0" },
    ]);
    await patchBytes(traversal, "aa/aa/aa/passwd", "../../../passwd");
    expect(await refusal(traversal)).toBe('zip entry "../../../passwd" has an unsafe path (it climbs out with ..)');
  });
});
