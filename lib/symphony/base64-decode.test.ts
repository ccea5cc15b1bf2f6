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

/** Chunks of 1 to 11 characters in a fixed irregular pattern, so every boundary position occurs. */
function splitIrregularly(text: string): string[] {
  const parts: string[] = [];
  for (let i = 0, n = 0; i < text.length; n++) {
    const size = 1 + ((n * 7 + 3) % 11);
    parts.push(text.slice(i, i + size));
    i += size;
  }
  return parts;
}

describe("createBase64Decoder", () => {
  it.each([0, 1, 2, 3, 4, 5, 1000, 65_537])("decodes %i bytes split at arbitrary chunk boundaries", async (size) => {
    const bytes = randomBytes(size);
    const decoded = await decode(splitIrregularly(bytes.toString("base64")));
    expect(createHash("sha256").update(decoded).digest("hex")).toBe(createHash("sha256").update(bytes).digest("hex"));
  });

  it("decodes padding split across chunks at every position", async () => {
    for (const encoded of ["SQ==", "SGk=", "SGVsbG8="]) {
      for (let cut = 0; cut <= encoded.length; cut++) {
        const decoded = await decode([encoded.slice(0, cut), encoded.slice(cut)]);
        expect(decoded.equals(Buffer.from(encoded, "base64"))).toBe(true);
      }
    }
    expect((await decode(["SQ", "=", "=", "\n"])).toString()).toBe("I");
    expect((await decode(["SGV", "sbG8", "="])).toString()).toBe("Hello");
  });

  it("ignores line breaks and the quotes of a JSON string", async () => {
    const bytes = randomBytes(300);
    const wrapped = `"${bytes.toString("base64").replace(/.{76}/g, "$&\r\n")}"`;
    expect((await decode(splitIrregularly(wrapped))).equals(bytes)).toBe(true);
  });

  it("fails on text that is not base64 instead of dropping characters", async () => {
    await expect(decode(["SGVsbG8", "<html>error</html>"])).rejects.toThrow(/not base64/);
  });

  it("fails on data after the padding", async () => {
    await expect(decode(["SGk=", "SGk="])).rejects.toThrow(/after padding/);
  });
});
