import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { createBase64Decoder } from "./base64-decode";

async function decode(chunks: string[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks.map((c) => Buffer.from(c, "latin1"))), createBase64Decoder(), async (source) => {
    for await (const chunk of source) out.push(chunk as Buffer);
  });
  return Buffer.concat(out);
}

function splitAtRandom(text: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(Math.random() * 11);
    parts.push(text.slice(i, i + n));
    i += n;
  }
  return parts;
}

describe("createBase64Decoder", () => {
  it.each([0, 1, 2, 3, 4, 5, 1000, 65_537])("decodes %i bytes split at arbitrary chunk boundaries", async (size) => {
    const bytes = randomBytes(size);
    const decoded = await decode(splitAtRandom(bytes.toString("base64")));
    expect(createHash("sha256").update(decoded).digest("hex")).toBe(createHash("sha256").update(bytes).digest("hex"));
  });

  it("ignores line breaks and the quotes of a JSON string", async () => {
    const bytes = randomBytes(300);
    const wrapped = `"${bytes.toString("base64").replace(/.{76}/g, "$&\r\n")}"`;
    expect((await decode(splitAtRandom(wrapped))).equals(bytes)).toBe(true);
  });

  it("fails on text that is not base64 instead of dropping characters", async () => {
    await expect(decode(["SGVsbG8", "<html>error</html>"])).rejects.toThrow(/not base64/);
  });

  it("fails on data after the padding", async () => {
    await expect(decode(["SGk=", "SGk="])).rejects.toThrow(/after padding/);
  });
});
