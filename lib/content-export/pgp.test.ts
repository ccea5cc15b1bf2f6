import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import * as openpgp from "openpgp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DecryptionKeyError, ExportFileError } from "./errors";
import { decryptToFile, encryptionKeyIdsOf, readDecryptionKey } from "./pgp";
import { tempDir, zeros } from "./test-files";

const MiB = 1024 * 1024;
const PASSPHRASE = "correct horse battery staple";
let dir: string;
let remove: () => Promise<void>;
let ours: { privateKey: string; publicKey: string };
let theirs: { privateKey: string; publicKey: string };
let counter = 0;

const generate = (passphrase?: string, config?: openpgp.PartialConfig) =>
  openpgp.generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "Content export", email: "export@acme.example" }],
    ...(passphrase && { passphrase }),
    ...(config && { config }),
  });

beforeAll(async () => {
  ({ dir, remove } = await tempDir());
  [ours, theirs] = await Promise.all([generate(PASSPHRASE), generate()]);
});
afterAll(() => remove());

/** Encrypts a stream to a file without holding it in memory; returns the file and the plaintext's SHA-256. */
async function encryptToFile(
  plaintext: Readable,
  armoredPublicKey: string,
  config?: openpgp.PartialConfig,
): Promise<{ file: string; sha256: string }> {
  const hash = createHash("sha256");
  const hashed = plaintext.on("data", (chunk: Buffer) => hash.update(chunk));
  const message = await openpgp.createMessage({ binary: Readable.toWeb(hashed) as WebReadableStream<Uint8Array> });
  // openpgp's stream types come from a package it does not install: typed here.
  const encrypted = (await openpgp.encrypt({
    message,
    encryptionKeys: await openpgp.readKey({ armoredKey: armoredPublicKey }),
    format: "binary",
    ...(config && { config }),
  })) as unknown as WebReadableStream<Uint8Array>;
  const file = path.join(dir, `m${++counter}.zip.pgp`);
  await pipeline(Readable.fromWeb(encrypted), createWriteStream(file));
  return { file, sha256: hash.digest("hex") };
}

function randomStream(bytes: number): Readable {
  return Readable.from(
    (function* () {
      for (let left = bytes; left > 0; left -= MiB) yield randomBytes(Math.min(MiB, left));
    })(),
  );
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => new Error("did not fail"),
    (caught: unknown) => caught as Error,
  );
  return error;
}

describe("readDecryptionKey", () => {
  it("unlocks the key and lists its key ids and fingerprint", async () => {
    const key = await readDecryptionKey(ours.privateKey, PASSPHRASE);
    expect(key.keyIds).toHaveLength(2);
    for (const id of key.keyIds) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(key.fingerprint).toMatch(/^[0-9a-f]{40}$/);
    expect(key.fingerprint.endsWith(key.keyIds[0] ?? "-")).toBe(true);
    // A key without a passphrase needs none (and a passphrase given anyway does no harm).
    expect((await readDecryptionKey(theirs.privateKey, "unused")).keyIds).toHaveLength(2);
  });

  it.each([
    [
      "a wrong passphrase",
      () => readDecryptionKey(ours.privateKey, "wrong horse"),
      "the passphrase does not unlock the PGP decryption key",
    ],
    [
      "no passphrase",
      () => readDecryptionKey(ours.privateKey),
      "the PGP decryption key is protected by a passphrase, and none was given",
    ],
    [
      "the public key",
      () => readDecryptionKey(ours.publicKey),
      /^the PGP decryption key is a public key: give the private key/,
    ],
    [
      "garbage",
      () =>
        readDecryptionKey("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnot a key\n-----END PGP PRIVATE KEY BLOCK-----"),
      /^the PGP decryption key is not a readable armored private key/,
    ],
  ])("refuses %s with a clear reason that quotes no secret", async (_case, read, reason) => {
    const error = await failure(read());
    expect(error).toBeInstanceOf(DecryptionKeyError);
    expect(error.message).toMatch(reason);
    const keyBody = ours.privateKey.split("\n")[3] ?? "";
    expect(keyBody.length).toBeGreaterThan(20);
    for (const secret of [PASSPHRASE, "wrong horse", keyBody, "-----", "not a key"])
      expect(error.message).not.toContain(secret);
  });
});

describe("encryptionKeyIdsOf", () => {
  it("reads the recipient key ids from the first bytes, or from a stream, without decrypting", async () => {
    const key = await readDecryptionKey(ours.privateKey, PASSPHRASE);
    const { file } = await encryptToFile(Readable.from([Buffer.from("zip bytes")]), ours.publicKey);
    const bytes = await readFile(file);
    const ids = await encryptionKeyIdsOf(bytes.subarray(0, 200));
    expect(ids).toEqual([key.keyIds[1]]); // the encryption subkey
    expect(await encryptionKeyIdsOf(createReadStream(file))).toEqual(ids);
    await expect(encryptionKeyIdsOf(Buffer.from("PK\u0003\u0004 a zip"))).rejects.toThrow(
      "the file is not a binary OpenPGP message (an armored or other file?)",
    );
  });
});

describe("decryptToFile", () => {
  it("decrypts a large message streaming, in bounded memory, byte for byte", async () => {
    const key = await readDecryptionKey(ours.privateKey, PASSPHRASE);
    const { file, sha256 } = await encryptToFile(randomStream(64 * MiB), ours.publicKey);
    const out = path.join(dir, "large.zip");
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
    try {
      await decryptToFile(file, key, out);
    } finally {
      clearInterval(sampler);
    }
    expect((await stat(out)).size).toBe(64 * MiB);
    expect(await sha256Of(out)).toBe(sha256);
    // Buffering the plaintext (openpgp's default for this message format) would take more than all of it.
    expect(rssPeak - rssBefore).toBeLessThan(56 * MiB);
    expect(existsSync(`${out}.partial`)).toBe(false);
  }, 30_000);

  it("decrypts an AEAD (SEIPDv2) message and a compressed one", async () => {
    const aeadKeys = await generate(undefined, { aeadProtect: true });
    const key = await readDecryptionKey(aeadKeys.privateKey);
    const aead = await encryptToFile(randomStream(3 * MiB), aeadKeys.publicKey, { aeadProtect: true });
    expect((await readFile(aead.file)).includes(Buffer.from([0xd2, 0x02]))).toBe(true);
    await decryptToFile(aead.file, key, path.join(dir, "aead.zip"));
    expect(await sha256Of(path.join(dir, "aead.zip"))).toBe(aead.sha256);

    const compressed = await encryptToFile(zeros(4 * MiB)(), aeadKeys.publicKey, {
      preferredCompressionAlgorithm: openpgp.enums.compression.zlib,
    });
    await decryptToFile(compressed.file, key, path.join(dir, "compressed.zip"));
    expect(await sha256Of(path.join(dir, "compressed.zip"))).toBe(compressed.sha256);
    // A compressed message that would expand beyond the limit stops there.
    const error = await failure(decryptToFile(compressed.file, key, path.join(dir, "capped.zip"), { maxBytes: MiB }));
    expect(error).toBeInstanceOf(ExportFileError);
    expect(error.message).toMatch(/more than the 1048576 bytes allowed|Maximum decompressed message size exceeded/);
    expect(existsSync(path.join(dir, "capped.zip"))).toBe(false);
  }, 20_000);

  it("refuses a flood of session key packets before openpgp reads them, and a plaintext far larger than the file", async () => {
    const key = await readDecryptionKey(ours.privateKey, PASSPHRASE);
    const { file } = await encryptToFile(Readable.from([Buffer.from("zip bytes")]), ours.publicKey);
    const bytes = await readFile(file);
    // The first packet is the session key for our key (new format, a one- or two-byte length).
    const o1 = bytes[1]!;
    const sessionKeyEnd = o1 < 192 ? 2 + o1 : 3 + ((o1 - 192) << 8) + bytes[2]! + 192;
    const flood = path.join(dir, "flood.zip.pgp");
    await writeFile(
      flood,
      Buffer.concat([
        ...Array.from({ length: 17 }, () => bytes.subarray(0, sessionKeyEnd)),
        bytes.subarray(sessionKeyEnd),
      ]),
    );
    const refused = await failure(decryptToFile(flood, key, path.join(dir, "flood.zip")));
    expect(refused.message).toBe("the PGP message has more than 16 session key packets");

    // 80 MiB of zeros compress to a few KB: more than 20 times the file plus 64 MiB is a bomb.
    const bomb = await encryptToFile(zeros(80 * MiB)(), ours.publicKey, {
      preferredCompressionAlgorithm: openpgp.enums.compression.zlib,
    });
    const allowed = 64 * MiB + 20 * (await stat(bomb.file)).size;
    const error = await failure(decryptToFile(bomb.file, key, path.join(dir, "bomb.zip")));
    expect(error.message).toMatch(
      new RegExp(`more than the ${allowed} bytes allowed|Maximum decompressed message size exceeded`),
    );
    expect(existsSync(path.join(dir, "bomb.zip"))).toBe(false);
  }, 30_000);

  it("refuses a message encrypted to another key, naming both key ids", async () => {
    const key = await readDecryptionKey(ours.privateKey, PASSPHRASE);
    const other = await readDecryptionKey(theirs.privateKey);
    const { file } = await encryptToFile(Readable.from([Buffer.from("secret")]), theirs.publicKey);
    const out = path.join(dir, "other.zip");
    const error = await failure(decryptToFile(file, key, out));
    expect(error).toBeInstanceOf(ExportFileError);
    expect(error.message).toBe(
      `the file is encrypted to PGP key ${other.keyIds[1]}, not to the configured decryption key (${key.keyIds.join(", ")})`,
    );
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [
      "truncated",
      (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2)),
      /^the PGP message is truncated or corrupt: /,
    ],
    [
      "altered",
      (bytes: Buffer) =>
        Buffer.concat([bytes.subarray(0, 5000), Buffer.from([bytes[5000]! ^ 0x01]), bytes.subarray(5001)]),
      /^the PGP message failed its integrity check: it was altered or damaged/,
    ],
    [
      "cut short by its last byte",
      (bytes: Buffer) => bytes.subarray(0, bytes.length - 1),
      /^the PGP message is truncated or corrupt: /,
    ],
  ])(
    "fails a message that was %s with a clear reason, leaving no file behind",
    async (_case, damage, reason) => {
      const key = await readDecryptionKey(ours.privateKey, PASSPHRASE);
      for (const config of [undefined, { aeadProtect: true }]) {
        const keys = config ? await generate(undefined, config) : ours;
        const decryptionKey = config ? await readDecryptionKey(keys.privateKey) : key;
        const { file } = await encryptToFile(randomStream(2 * MiB), keys.publicKey, config);
        await writeFile(file, damage(await readFile(file)));
        const out = path.join(dir, `damaged-${++counter}.zip`);
        const error = await failure(decryptToFile(file, decryptionKey, out));
        expect(error, `${_case}, ${config ? "AEAD" : "MDC"}`).toBeInstanceOf(ExportFileError);
        expect(error.message).toMatch(reason);
        expect(existsSync(out)).toBe(false);
        expect(existsSync(`${out}.partial`)).toBe(false);
      }
    },
    20_000,
  );
});
