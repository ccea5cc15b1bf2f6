import { createHash } from "node:crypto";
import { crc32 } from "node:zlib";
import { SaxesParser } from "saxes";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  download,
  filesGet,
  filesToken,
  listAll,
  pgpDecrypt,
  sha256,
  signedUrl,
  unzip,
  type FileMetadata,
} from "./export-test-client";
import { CRC32_OF_ONE_GIB_OF_ZEROS } from "./export-zip";
import { startSymphonySandbox, type ExportFault, type SymphonySandbox } from "./index";

const END = Date.UTC(2025, 4, 2, 15);
let sandbox: SymphonySandbox;
let token: string;
beforeAll(async () => {
  sandbox = await startSymphonySandbox({
    seed: "ce-faults",
    org: { users: 8, messages: 60, largeAttachments: false, end: END, periodDays: 20 },
    contentExport: {},
  });
  token = await filesToken(sandbox);
});
afterAll(() => sandbox.close());

const ce = () => sandbox.contentExport!;
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");
const metadataOf = async (id: string) =>
  (await (await filesGet(sandbox, token, `/files/v1/${id}/metadata?type=ContentExport`)).json()) as FileMetadata;
const xmlOf = async (id: string) => {
  const entries = await unzip(await pgpDecrypt(ce().pgp, await download(sandbox, token, id)));
  return { entries, xml: (await entries.find((e) => e.name.endsWith(".xml"))!.read()).toString("utf8") };
};
const parses = (xml: string) => {
  try {
    new SaxesParser().write(xml).close();
    return true;
  } catch {
    return false;
  }
};

async function faulty(fault: ExportFault) {
  const file = await ce().addFaultyFile(fault);
  expect(file).toMatchObject({ fault, jobType: "ADHOC" });
  return file;
}

describe("per-file faults", () => {
  it("truncated: the bytes are cut short while the metadata and .md5 describe the whole file", async () => {
    const file = await faulty("truncated");
    const bytes = await download(sandbox, token, file.id);
    expect(bytes.length).toBeLessThan(file.size);
    const meta = await metadataOf(file.id);
    expect(meta).toMatchObject({ size: file.size, integrityHash: file.sha256 });
    expect(sha256(bytes)).not.toBe(meta.integrityHash);
    expect(await (await fetch(await signedUrl(sandbox, token, file.md5File!.id))).text()).toContain(file.md5);
  });

  it("hash-mismatch: integrityHash and the .md5 both disagree with good bytes", async () => {
    const file = await faulty("hash-mismatch");
    const bytes = await download(sandbox, token, file.id);
    expect(sha256(bytes)).toBe(file.sha256);
    expect((await metadataOf(file.id)).integrityHash).not.toBe(sha256(bytes));
    const sidecar = await (await fetch(await signedUrl(sandbox, token, file.md5File!.id))).text();
    expect(sidecar.slice(0, 32)).not.toBe(md5(bytes));
    expect(await unzip(await pgpDecrypt(ce().pgp, bytes))).not.toHaveLength(0);
  });

  it("wrong-key: encrypted to the other key pair, and its metadata says so", async () => {
    const file = await faulty("wrong-key");
    const bytes = await download(sandbox, token, file.id);
    expect((await metadataOf(file.id)).encryption).toEqual({ encryptionKeyId: ce().otherPgp.keyId, alg: "PGP" });
    expect(ce().otherPgp.keyId).not.toBe(ce().pgp.keyId);
    await expect(pgpDecrypt(ce().pgp, bytes)).rejects.toThrow();
    expect(await unzip(await pgpDecrypt(ce().otherPgp, bytes))).not.toHaveLength(0);
  });

  it("zip-bomb: an entry declaring 1 GiB from about 1 MB, referenced by the XML", async () => {
    const file = await faulty("zip-bomb");
    const { entries, xml } = await xmlOf(file.id);
    const bomb = entries.find((e) => e.uncompressedSize === 2 ** 30)!;
    expect(bomb.compressedSize).toBeLessThan(2 ** 21);
    expect(xml).toContain(`<FileName>${bomb.name}</FileName>`);
    // The declared CRC is that of 1 GiB of zeros.
    const mib = Buffer.alloc(2 ** 20);
    let crc = 0;
    for (let i = 0; i < 1024; i++) crc = crc32(mib, crc);
    expect(crc).toBe(CRC32_OF_ONE_GIB_OF_ZEROS);
  });

  it("path-traversal: an entry named ../../evil.txt beside a good XML", async () => {
    const file = await faulty("path-traversal");
    const { entries, xml } = await xmlOf(file.id);
    expect(entries.map((e) => e.name)).toContain("../../evil.txt");
    expect(parses(xml)).toBe(true);
  });

  it("malformed-xml: the XML stops in the middle of an element", async () => {
    const { xml } = await xmlOf((await faulty("malformed-xml")).id);
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<FileDump>')).toBe(true);
    expect(xml).not.toContain("</FileDump>");
    expect(parses(xml)).toBe(false);
  });

  it("xxe: a DOCTYPE declares an external entity that a Content uses", async () => {
    const { xml } = await xmlOf((await faulty("xxe")).id);
    expect(xml).toContain('<!ENTITY xxe SYSTEM "file:///etc/passwd">');
    expect(xml).toContain("<Content>&xxe;</Content>");
  });

  it("symphony-xml: a SYMPHONY file whose root is not FileDump", async () => {
    const file = await faulty("symphony-xml");
    expect(file.name.startsWith("s_")).toBe(true);
    expect((await metadataOf(file.id)).typeSpecificMetadata.fileFormat).toBe("SYMPHONY");
    const { xml } = await xmlOf(file.id);
    expect(xml).toContain("<SymphonyExport");
    expect(xml).not.toContain("<FileDump>");
  });

  it("expired-url: the signed URL handed out has already expired", async () => {
    const file = await faulty("expired-url");
    const res = await fetch(await signedUrl(sandbox, token, file.id));
    expect(res.status).toBe(403);
  });

  it("being-written: no size, hash or .md5 yet, and the bytes grow between listings until it completes", async () => {
    const file = await faulty("being-written");
    expect(file.md5File).toBeNull();
    const listed = async () => (await listAll(sandbox, token)).filter((f) => f.name.startsWith(file.name));
    const [first] = await listed();
    expect(first).toMatchObject({ size: null, integrityHash: null });
    const sizeA = (await download(sandbox, token, file.id)).length;
    await listed();
    const sizeB = (await download(sandbox, token, file.id)).length;
    expect(sizeB).toBeGreaterThan(sizeA);
    expect(sizeB).toBeLessThan(file.size);

    const done = await ce().setFileFault(file.id, null);
    expect(done.uploadTime).toBeGreaterThan(file.uploadTime);
    const now = await listed();
    expect(now.map((f) => f.name)).toEqual([file.name, `${file.name}.md5`]);
    expect(now[0]).toMatchObject({ size: done.size, integrityHash: done.sha256 });
    expect(sha256(await download(sandbox, token, file.id))).toBe(done.sha256);
  });

  it("no-integrity-hash: whole bytes and their size, with no hash and no .md5, uploaded when asked", async () => {
    const uploadTime = Date.now() - 3 * 3_600_000;
    const file = await ce().addFaultyFile("no-integrity-hash", { uploadTime });
    expect(file).toMatchObject({ md5File: null, uploadTime });
    const listed = (await listAll(sandbox, token)).filter((f) => f.name.startsWith(file.name));
    expect(listed).toEqual([expect.objectContaining({ size: file.size, integrityHash: null })]);
    expect(sha256(await download(sandbox, token, file.id))).toBe(file.sha256);
    // A good file: its messages are among those expected.
    expect(ce().expectedItems().length).toBeGreaterThan(0);
  });

  it("no-upload-time: whole bytes listed with only what the spec requires, no size, hash, upload time or .md5", async () => {
    const file = await ce().addFaultyFile("no-upload-time");
    expect(file).toMatchObject({ md5File: null });
    const listed = (await listAll(sandbox, token)).filter((f) => f.name.startsWith(file.name));
    expect(listed).toEqual([expect.objectContaining({ id: file.id, size: null, integrityHash: null })]);
    expect(listed[0]).not.toHaveProperty("uploadTime");
    expect(sha256(await download(sandbox, token, file.id))).toBe(file.sha256);
  });
});

describe("setFileFault", () => {
  it("takes a recurring file's items out of expectedItems() while it is faulty; cleared, it serves good bytes", async () => {
    const before = ce().expectedItems();
    // The last day: the faulty files above are ad-hoc files of the first one (one of them now good).
    const recurring = (await ce().files()).filter((f) => f.jobType === "SCHEDULED").at(-1)!;
    const broken = await ce().setFileFault(recurring.id, "malformed-xml");
    expect(broken.sha256).not.toBe(recurring.sha256);
    const during = ce().expectedItems();
    expect(during.length).toBeLessThan(before.length);
    expect(during.every((i) => i.sentAt < recurring.period.start || i.sentAt >= recurring.period.end)).toBe(true);

    const fixed = await ce().setFileFault(recurring.id, null);
    expect(fixed).toMatchObject({ id: recurring.id, name: recurring.name, fault: null, sha256: recurring.sha256 });
    expect(sha256(await download(sandbox, token, recurring.id))).toBe(recurring.sha256);
    expect(ce().expectedItems()).toEqual(before);
  });

  it("refuses wrong-key on a file that is not encrypted", async () => {
    const plain = await startSymphonySandbox({
      seed: "ce-faults-plain",
      org: { users: 4, messages: 10, largeAttachments: false, end: END },
      contentExport: { encrypt: false },
    });
    try {
      const [file] = await plain.contentExport!.files();
      expect(file).toMatchObject({ encrypted: false, encryptionKeyId: null });
      expect(file!.name.endsWith(".zip")).toBe(true);
      await expect(plain.contentExport!.setFileFault(file!.id, "wrong-key")).rejects.toThrow(/not encrypted/);
      expect((await plain.contentExport!.addFaultyFile("wrong-key")).name.endsWith(".zip.pgp")).toBe(true);
    } finally {
      await plain.close();
    }
  });
});
