import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type * as OpenPgp from "openpgp";
import { DecryptionKeyError, ExportFileError } from "./errors";

/** A private key ready to decrypt (its secret material unlocked). */
export type DecryptionKey = {
  /** 16 lowercase hex digits each: the primary key's and every subkey's. */
  keyIds: string[];
  fingerprint: string;
  privateKey: OpenPgp.PrivateKey;
};

/**
 * Reads and unlocks an armored private key. The reasons never quote the key, the passphrase or
 * the library's own message (which could).
 */
export async function readDecryptionKey(armoredPrivateKey: string, passphrase?: string): Promise<DecryptionKey> {
  const openpgp = await import("openpgp"); // loaded by the connectors that decrypt, not by every worker
  let privateKey: OpenPgp.PrivateKey;
  try {
    privateKey = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
  } catch {
    const publicKey = await openpgp.readKey({ armoredKey: armoredPrivateKey }).catch(() => undefined);
    throw new DecryptionKeyError(
      publicKey && !publicKey.isPrivate()
        ? "the PGP decryption key is a public key: give the private key (BEGIN PGP PRIVATE KEY BLOCK)"
        : "the PGP decryption key is not a readable armored private key (BEGIN PGP PRIVATE KEY BLOCK)",
    );
  }
  if (!privateKey.isDecrypted()) {
    if (!passphrase)
      throw new DecryptionKeyError("the PGP decryption key is protected by a passphrase, and none was given");
    try {
      privateKey = await openpgp.decryptKey({ privateKey, passphrase });
    } catch {
      throw new DecryptionKeyError("the passphrase does not unlock the PGP decryption key");
    }
  }
  const decryptionKeys = await privateKey.getDecryptionKeys().catch(() => []);
  if (decryptionKeys.length === 0) {
    throw new DecryptionKeyError("the PGP key has no key that can decrypt (no valid encryption subkey)");
  }
  return {
    keyIds: privateKey.getKeyIDs().map((id) => id.toHex()),
    fingerprint: privateKey.getFingerprint(),
    privateKey,
  };
}

const PROBE_BYTES = 64 * 1024;

/**
 * The key ids a binary OpenPGP message is encrypted to, from its public-key encrypted session key
 * packets, without decrypting anything. Reads at most 64 KiB (a Readable is consumed).
 * "0000000000000000" stands for an anonymous recipient.
 */
export async function encryptionKeyIdsOf(input: Uint8Array | Readable): Promise<string[]> {
  if (input instanceof Uint8Array) return finishProbe(readRecipientKeyIds(input));
  let bytes: Uint8Array = new Uint8Array(0);
  for await (const chunk of input as AsyncIterable<Uint8Array>) {
    bytes = Buffer.concat([bytes, chunk]);
    const probe = readRecipientKeyIds(bytes);
    if (probe.done) return finishProbe(probe);
    if (bytes.length >= PROBE_BYTES)
      throw new ExportFileError(`the PGP message's session key packets take more than ${PROBE_BYTES} bytes`);
  }
  return finishProbe(readRecipientKeyIds(bytes));
}

function finishProbe(probe: Probe): string[] {
  if (probe.error) throw new ExportFileError(probe.error);
  if (probe.keyIds.length === 0) {
    throw new ExportFileError(
      probe.done ? "the PGP message is not encrypted to a public key" : "the file is too short to be a PGP message",
    );
  }
  return probe.keyIds;
}

type Probe = { keyIds: string[]; done: boolean; error?: string };

/** Recipients a message may name: Symphony encrypts an export to one key; more is a flood to decrypt. */
const MAX_SESSION_KEYS = 16;
const PKESK = 1;
const SKESK = 3;
const MARKER = 10;

/** Walks the packet headers (RFC 9580 section 4.2) up to the first packet that is not a session key. */
function readRecipientKeyIds(bytes: Uint8Array): Probe {
  const keyIds: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const header = readPacketHeader(bytes, at);
    if (header === "invalid") {
      return { keyIds, done: true, error: "the file is not a binary OpenPGP message (an armored or other file?)" };
    }
    if (header === undefined) return { keyIds, done: false };
    if (header.tag !== PKESK && header.tag !== SKESK && header.tag !== MARKER) return { keyIds, done: true };
    const end = header.bodyStart + header.length;
    if (end > bytes.length) return { keyIds, done: false };
    if (header.tag === PKESK) {
      const keyId = pkeskKeyId(bytes.subarray(header.bodyStart, end));
      if (keyId === undefined)
        return { keyIds, done: true, error: "the PGP message has a malformed session key packet" };
      keyIds.push(keyId);
      if (keyIds.length > MAX_SESSION_KEYS)
        return { keyIds, done: true, error: `the PGP message has more than ${MAX_SESSION_KEYS} session key packets` };
    }
    at = end;
  }
  return { keyIds, done: false };
}

function readPacketHeader(bytes: Uint8Array, at: number) {
  const first = bytes[at];
  if (first === undefined) return undefined;
  if ((first & 0x80) === 0) return "invalid" as const;
  if (first & 0x40) {
    const tag = first & 0x3f;
    const o1 = bytes[at + 1];
    if (o1 === undefined) return undefined;
    if (o1 < 192) return { tag, bodyStart: at + 2, length: o1 };
    if (o1 < 224) {
      const o2 = bytes[at + 2];
      return o2 === undefined ? undefined : { tag, bodyStart: at + 3, length: ((o1 - 192) << 8) + o2 + 192 };
    }
    if (o1 === 255) {
      if (at + 6 > bytes.length) return undefined;
      return { tag, bodyStart: at + 6, length: Buffer.from(bytes.subarray(at + 2, at + 6)).readUInt32BE(0) };
    }
    // A partial body length: only data packets use it, so the session key packets are behind us.
    return { tag, bodyStart: at + 2, length: Infinity };
  }
  const tag = (first >> 2) & 0x0f;
  const lengthBytes = [1, 2, 4, 0][first & 0x03] ?? 0;
  if (lengthBytes === 0) return { tag, bodyStart: at + 1, length: Infinity };
  if (at + 1 + lengthBytes > bytes.length) return undefined;
  const length = Buffer.from(bytes.subarray(at + 1, at + 1 + lengthBytes)).readUIntBE(0, lengthBytes);
  return { tag, bodyStart: at + 1 + lengthBytes, length };
}

function pkeskKeyId(body: Uint8Array): string | undefined {
  const hex = (part: Uint8Array) => Buffer.from(part).toString("hex");
  if (body[0] === 3 && body.length >= 10) return hex(body.subarray(1, 9));
  if (body[0] === 6 && body.length >= 2) {
    const fieldLength = body[1] ?? 0;
    if (fieldLength === 0) return "0000000000000000";
    const keyVersion = body[2];
    const fingerprint = body.subarray(3, 2 + fieldLength);
    if (keyVersion === 4 && fingerprint.length === 20) return hex(fingerprint.subarray(12));
    if (keyVersion === 6 && fingerprint.length === 32) return hex(fingerprint.subarray(0, 8));
  }
  return undefined;
}

export type DecryptOptions = {
  /** The decrypted bytes beyond which the message is refused (a compressed PGP message can expand without bound). */
  maxBytes?: number;
};

const DEFAULT_MAX_DECRYPTED_BYTES = 20 * 1024 ** 3;
/**
 * What a message may decrypt to beyond its own size, as a multiple of it: an export's plaintext is a
 * zip, which compresses no further, so a much larger plaintext is a compression bomb.
 */
const MAX_EXPANSION = 20;
const EXPANSION_ALLOWANCE_BYTES = 64 * 1024 * 1024;

/**
 * Decrypts the binary OpenPGP message in the file `inputPath` to `outPath`, streaming, in bounded
 * memory. Its session key packets are looked at first (at most 16, within 64 KiB: openpgp holds every
 * packet before the encrypted data, and tries each). The plaintext is written to `<outPath>.partial`
 * and renamed only once its integrity (MDC or AEAD) is checked, so `outPath` never holds
 * unauthenticated bytes; on any failure nothing is left behind.
 */
export async function decryptToFile(
  inputPath: string,
  key: DecryptionKey,
  outPath: string,
  options: DecryptOptions = {},
): Promise<void> {
  await encryptionKeyIdsOf(createReadStream(inputPath));
  const { size } = await stat(inputPath);
  const maxBytes = Math.min(
    options.maxBytes ?? DEFAULT_MAX_DECRYPTED_BYTES,
    EXPANSION_ALLOWANCE_BYTES + MAX_EXPANSION * size,
  );
  const input = createReadStream(inputPath);
  // Releasing plaintext before the MDC at the end is checked is what keeps memory bounded (openpgp
  // otherwise buffers a whole v1 message); it is safe here because the file is renamed only after.
  const config = { allowUnauthenticatedStream: true, maxDecompressedMessageSize: maxBytes };
  const partialPath = `${outPath}.partial`;
  const openpgp = await import("openpgp");
  try {
    const message = await openpgp
      .readMessage({ binaryMessage: Readable.toWeb(input) as WebReadableStream<Uint8Array>, config })
      .catch((error: unknown) => {
        throw asMessageError(error, "the file is not a readable OpenPGP message");
      });
    const recipients = message.getEncryptionKeyIDs().map((id) => id.toHex());
    if (recipients.length === 0) throw new ExportFileError("the PGP message is not encrypted to a public key");
    const anonymous = recipients.includes("0000000000000000");
    if (!anonymous && !recipients.some((id) => key.keyIds.includes(id))) {
      throw new ExportFileError(
        `the file is encrypted to PGP key ${recipients.join(", ")}, not to the configured decryption key (${key.keyIds.join(", ")})`,
      );
    }
    const decrypted = await openpgp
      .decrypt({ message, decryptionKeys: key.privateKey, format: "binary", config })
      .catch((error: unknown) => {
        throw asMessageError(error, "the PGP message cannot be decrypted");
      });
    const plaintext = Readable.fromWeb(decrypted.data as WebReadableStream<Uint8Array>);
    await pipeline(plaintext, new ByteLimit(maxBytes), createWriteStream(partialPath)).catch((error: unknown) => {
      throw asMessageError(error, "the PGP message is truncated or corrupt");
    });
    await rename(partialPath, outPath);
  } catch (error) {
    input.destroy();
    await rm(partialPath, { force: true });
    throw error;
  }
}

class ByteLimit extends Transform {
  private bytes = 0;
  constructor(private readonly maxBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      done(new ExportFileError(`the PGP message decrypts to more than the ${this.maxBytes} bytes allowed`));
    } else {
      done(null, chunk);
    }
  }
}

/** openpgp's errors name what is wrong with the message; system errors (disk) stay as they are. */
function asMessageError(error: unknown, context: string): unknown {
  if (error instanceof ExportFileError || !(error instanceof Error)) return error;
  if (typeof (error as NodeJS.ErrnoException).syscall === "string") return error;
  const detail = error.message;
  if (/Modification detected|Authentication tag mismatch|unable to authenticate/i.test(detail)) {
    return new ExportFileError(`the PGP message failed its integrity check: it was altered or damaged (${detail})`);
  }
  return new ExportFileError(`${context}: ${detail}`);
}
