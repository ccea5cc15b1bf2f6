// Poison messages (issue 12): content that used to exhaust the worker's heap (256 MB then, 192 MB now). Each is
// converted, staged as MIME, read back and turned into Graph JSON in a child process started as
// `npm start` starts the worker (--max-old-space-size=WORKER_HEAP_MB), which must complete with bounded output.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { buildEmail, MAX_SUBJECT_LENGTH } from "./email";
import { POISON, poisonMessage, type HeapCapReport, type PoisonKind } from "./heap-cap-check";
import { MAX_COLUMN_WIDTH, MAX_HTML_BYTES, MAX_TEXT_BYTES, ORIGINAL_DATA_FILE, ORIGINAL_MESSAGE_FILE } from "./limits";
import { MAX_NAME_LENGTH } from "./names";
import { renderPresentationML } from "./presentation";
import { WORKER_HEAP_MB } from "@/scripts/worker-build";
import { underWorkerHeap } from "@/lib/testing";

const MB = 1024 * 1024;

async function underHeapCap(kind: PoisonKind): Promise<HeapCapReport> {
  return (await underWorkerHeap("lib/convert/heap-cap-check.ts", [kind])) as HeapCapReport;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe(`poison messages under the worker's ${WORKER_HEAP_MB} MB heap`, () => {
  it("a 41 KB table with one 20,000-character cell and 660 rows renders in bounded text", async () => {
    const report = await underHeapCap("table");
    expect(report.inputBytes).toBeGreaterThan(41_000);
    expect(report.notRendered).toBeUndefined();
    // Before: every row padded to 20,000 characters, a 13 MB text part, and out of memory.
    expect(report.textBytes).toBeLessThan(60_000);
    expect(report.htmlBytes).toBeLessThan(50_000);
    expect(report.mimeBytes).toBeLessThan(200_000);
  }, 150_000);

  for (const kind of ["text", "br"] as const) {
    it(`${kind === "text" ? "a 10 MB text message" : "4 MB of <br>"} is imported with its original attached, byte for byte`, async () => {
      const report = await underHeapCap(kind);
      const input = POISON[kind]();
      expect(report.inputBytes).toBe(Buffer.byteLength(input));
      expect(report.notRendered).toMatch(/more than the 1\.0 MB the archive renders/);
      expect(report.htmlBytes).toBeLessThan(1000);
      expect(report.textBytes).toBeLessThan(1000);
      expect(report.graphJsonBytes).toBeLessThan(2000);
      expect(report.attachments).toEqual([
        { name: ORIGINAL_MESSAGE_FILE, size: Buffer.byteLength(input), sha256: sha256(input) },
      ]);
    }, 150_000);
  }

  it("8 M characters of plain text from a Content Export are imported with the text attached, never escaped whole", async () => {
    const report = await underHeapCap("plainText");
    const input = POISON.plainText();
    expect(report.notRendered).toBe("its content is 8.0 MB, more than the 1.0 MB the archive renders");
    expect(report.htmlBytes).toBeLessThan(1000);
    expect(report.attachments).toEqual([
      { name: ORIGINAL_MESSAGE_FILE, size: Buffer.byteLength(input), sha256: sha256(input) },
    ]);
  }, 150_000);

  it("a sender and a room named with 8 M invisible characters each are shown escaped and shortened", async () => {
    const report = await underHeapCap("names");
    expect(report.notRendered).toBeUndefined();
    expect(report.subject).toMatch(/^Symphony room: (\\u202E){10}/);
    expect(report.subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(report.from).toMatch(/^(\\u202E){10}.*…$/);
    expect(report.from.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
  }, 150_000);
});

describe("rendering limits", () => {
  it("aligns table columns up to a width and never pads to a long cell", () => {
    const { text } = renderPresentationML(POISON.table(), undefined, []);
    const lines = text.split("\n");
    expect(lines).toHaveLength(661);
    expect(lines[0]).toBe("W".repeat(20_000));
    expect(lines[1]).toBe(`abc${" ".repeat(MAX_COLUMN_WIDTH - 3)} | de`);
    const short = renderPresentationML(
      "<table><tr><td>a</td><td>b</td></tr><tr><td>ccc</td><td>d</td></tr></table>",
      "",
      [],
    );
    expect(short.text).toBe("a   | b\nccc | d");
  });

  it("keeps a long message that fits", () => {
    const body = `<p>${"word ".repeat(150_000).trim()}</p>`;
    const { text, notRendered } = renderPresentationML(body, undefined, []);
    expect(notRendered).toBeUndefined();
    expect(text).toHaveLength(150_000 * 5 - 1);
  });

  const cases: Record<string, { presentationML: string; data?: string; reason: RegExp }> = {
    "content over 1 MB": { presentationML: `<p>${"x".repeat(MB + 1)}</p>`, reason: /its content is 1\.0 MB/ },
    "data over 1 MB": {
      presentationML: "<p>x</p>",
      data: JSON.stringify({ x: "y".repeat(MB) }),
      reason: /its data is 1\.0 MB/,
    },
    "too many elements": { presentationML: "<b></b>".repeat(120_000), reason: /more than 100,000 elements/ },
    "too many Symphony Elements": { presentationML: "<chime/>".repeat(120_000), reason: /more than 100,000 elements/ },
    "a text area line by line": {
      presentationML: `<textarea>${"x\n".repeat(400_000)}</textarea>`,
      reason: /more than 100,000 elements/,
    },
    "an HTML rendering over 1 MB": { presentationML: "&".repeat(250_000), reason: /HTML rendering is larger/ },
    "nesting that multiplies the text": {
      presentationML: `${"<blockquote>".repeat(90)}<pre>${"q\n".repeat(200_000)}</pre>`,
      reason: /plain-text rendering is too large/,
    },
    "a long name mentioned many times": {
      presentationML: '<mention uid="1"/>'.repeat(20_000),
      reason: /its text is larger than 1\.0 MB/,
    },
    "a long entity repeated": {
      presentationML: '<span class="entity" data-entity-id="h">#</span>'.repeat(2_000),
      data: JSON.stringify({
        h: {
          type: "org.symphonyoss.taxonomy",
          id: [{ type: "org.symphonyoss.taxonomy.hashtag", value: "h".repeat(2_000) }],
        },
      }),
      reason: /its text is larger than 1\.0 MB/,
    },
  };
  for (const [name, { presentationML, data, reason }] of Object.entries(cases)) {
    it(`attaches instead of rendering: ${name}`, () => {
      const email = buildEmail({
        messageId: "m1",
        streamId: "s1",
        streamType: "IM",
        timestamp: new Date(0),
        sender: { userId: "1", displayName: "N".repeat(200) },
        participants: [],
        presentationML,
        data,
        attachments: [{ id: "a1", name: "own.pdf", size: 10 }],
      });
      expect(email.notRendered).toMatch(reason);
      expect(Buffer.byteLength(email.html)).toBeLessThan(MAX_HTML_BYTES);
      expect(Buffer.byteLength(email.text)).toBeLessThan(MAX_TEXT_BYTES);
      expect(email.text).toContain(ORIGINAL_MESSAGE_FILE);
      expect(email.originals?.map((o) => o.content)).toEqual(data ? [presentationML, data] : [presentationML]);
      expect(email.attachments.map((a) => a.name)).toEqual([
        ORIGINAL_MESSAGE_FILE,
        ...(data ? [ORIGINAL_DATA_FILE] : []),
        "own.pdf",
      ]);
    });
  }
});

describe("poisonMessage", () => {
  it("builds the inputs of the issue", () => {
    expect(Buffer.byteLength(poisonMessage("table").presentationML)).toBeGreaterThan(41_000);
    expect(Buffer.byteLength(poisonMessage("text").presentationML)).toBeGreaterThanOrEqual(10 * MB);
    expect(Buffer.byteLength(poisonMessage("br").presentationML)).toBeGreaterThanOrEqual(4 * MB);
  });
});
