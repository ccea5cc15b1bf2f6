import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { open, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";

export type BundleSpoolOptions = {
  /** The folder the spools of this machine share; each spool keeps its files in a folder of its own there. */
  dir: string;
  maxBytes: number;
};

/**
 * Local copies of bundles, so that a bundle is downloaded once per worker rather than once per
 * mailbox that reads it (see store.ts). Bundles are named by the hash of their bytes, so a copy can
 * never go stale. Copies are encrypted with a key that lives only in this process's memory
 * (AES-256-CTR, which lets any range be read on its own): what a killed worker left on disk is noise,
 * and the next spool on the machine removes it.
 */
export type BundleSpool = {
  /**
   * Keeps a copy of a bundle's bytes (oldest read first out, within maxBytes); never fails the caller.
   * Reads `bytes` only before it returns (it encrypts them first), so the caller may fill them again.
   */
  put(name: string, bytes: Buffer): Promise<void>;
  /** Up to `length` bytes of the copy from `offset`; undefined when there is no copy (or it cannot be read). */
  read(name: string, offset: number, length: number): Promise<Buffer | undefined>;
  /** Removes every copy. */
  clear(): void;
};

/** A copy on disk; `nonce` is the first half of its counter blocks (see counterBlock). */
type Copy = { file: string; size: number; nonce: Buffer };
type OpenFile = { handle: Promise<FileHandle>; users: number; retired: boolean };

const BLOCK = 16;
/**
 * Copies are encrypted a piece at a time: a cipher's output of a whole bundle is a fresh buffer above
 * the worker's mmap threshold (scripts/worker-build.ts), and its page faults cost 15 times the cipher.
 */
const PIECE_BYTES = 16 * 1024;
/** Copies kept open for reading (the ones read last): most reads are a few entries of the same bundles. */
const OPEN_FILES_MAX = 16;
/** Folders of spools of this process: the only folders named with this process's id that are not stale. */
const ownFolders = new Set<string>();

export function createBundleSpool({ dir, maxBytes }: BundleSpoolOptions): BundleSpool {
  const folder = path.join(dir, `${process.pid}-${randomBytes(6).toString("hex")}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  checkOwnFolder(dir);
  removeStaleFolders(dir);
  mkdirSync(folder, { mode: 0o700 });
  if (ownFolders.size === 0) process.once("exit", removeOwnFolders);
  ownFolders.add(folder);

  const key = randomBytes(32);
  const copies = new Map<string, Copy>();
  const writing = new Set<string>();
  const openFiles = new Map<string, OpenFile>();
  let keptBytes = 0;
  let files = 0;

  function forget(name: string, copy: Copy) {
    copies.delete(name);
    keptBytes -= copy.size;
    const opened = openFiles.get(copy.file);
    openFiles.delete(copy.file);
    if (opened) retire(opened);
    void unlink(copy.file).catch(() => undefined);
  }

  /** Closes a file once nobody reads it. */
  function retire(opened: OpenFile) {
    opened.retired = true;
    if (opened.users === 0) void opened.handle.then((handle) => handle.close()).catch(() => undefined);
  }

  async function withOpenFile<T>(file: string, reader: (handle: FileHandle) => Promise<T>): Promise<T> {
    let opened = openFiles.get(file);
    if (opened) openFiles.delete(file);
    else {
      opened = { handle: open(file, "r"), users: 0, retired: false };
      opened.handle.catch(() => undefined);
    }
    openFiles.set(file, opened);
    for (const [oldest, old] of openFiles) {
      if (openFiles.size <= OPEN_FILES_MAX) break;
      openFiles.delete(oldest);
      retire(old);
    }
    opened.users++;
    try {
      return await reader(await opened.handle);
    } finally {
      opened.users--;
      if (opened.retired && opened.users === 0) retire(opened);
    }
  }

  return {
    async put(name, bytes) {
      if (copies.has(name) || writing.has(name) || bytes.length > maxBytes) return;
      writing.add(name);
      const copy: Copy = { file: path.join(folder, `${++files}.bin`), size: bytes.length, nonce: randomBytes(8) };
      try {
        const cipher = createCipheriv("aes-256-ctr", key, counterBlock(copy.nonce, 0));
        const sealed: Buffer[] = [];
        for (let at = 0; at < bytes.length; at += PIECE_BYTES)
          sealed.push(cipher.update(bytes.subarray(at, at + PIECE_BYTES)));
        const handle = await open(copy.file, "wx", 0o600);
        try {
          const { bytesWritten } = await handle.writev(sealed);
          if (bytesWritten !== bytes.length) throw new Error("short write");
        } finally {
          await handle.close();
        }
      } catch {
        // A full or failing disk costs downloads, never an import.
        void unlink(copy.file).catch(() => undefined);
        return;
      } finally {
        writing.delete(name);
      }
      copies.set(name, copy);
      keptBytes += copy.size;
      for (const [oldest, oldestCopy] of copies) {
        if (keptBytes <= maxBytes) break;
        forget(oldest, oldestCopy);
      }
    },

    async read(name, offset, length) {
      const copy = copies.get(name);
      if (!copy) return undefined;
      copies.delete(name);
      copies.set(name, copy);
      const from = offset - (offset % BLOCK);
      const to = Math.min(offset + length, copy.size);
      if (to <= offset) return Buffer.alloc(0);
      try {
        const sealed = Buffer.allocUnsafe(to - from);
        const { bytesRead } = await withOpenFile(copy.file, (handle) => handle.read(sealed, 0, sealed.length, from));
        if (bytesRead !== sealed.length) throw new Error("short read");
        // CTR's output is its input's length: final() adds nothing.
        return createDecipheriv("aes-256-ctr", key, counterBlock(copy.nonce, from / BLOCK))
          .update(sealed)
          .subarray(offset - from);
      } catch {
        // Let go meanwhile, or the disk failed: the caller downloads it.
        if (copies.get(name) === copy) forget(name, copy);
        return undefined;
      }
    },

    clear() {
      for (const [name, copy] of copies) forget(name, copy);
    },
  };
}

/**
 * AES-CTR's counter block at `block`: the copy's 8 random bytes, then the block number; a copy
 * smaller than 2^64 blocks never carries into the random half.
 */
function counterBlock(nonce: Buffer, block: number): Buffer {
  const counter = Buffer.alloc(BLOCK);
  nonce.copy(counter);
  counter.writeBigUInt64BE(BigInt(block), 8);
  return counter;
}

/**
 * The spools' folder must be a real folder of this process's user: in a shared temporary folder,
 * another user could have made it first (or made it a link elsewhere) to remove or swap the copies.
 */
function checkOwnFolder(dir: string) {
  const stats = lstatSync(dir);
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) {
    throw new Error(
      `STAGING_SPOOL_DIR ${dir} is not a folder of this user: set STAGING_SPOOL_DIR to a folder only the worker's user owns (or STAGING_SPOOL_MB=0)`,
    );
  }
}

/** Folders left by spools of processes that ended without removing them (a killed worker). */
function removeStaleFolders(dir: string) {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (!pid) continue;
    const stale = pid === process.pid ? !ownFolders.has(path.join(dir, name)) : !isRunning(pid);
    try {
      if (stale) rmSync(path.join(dir, name), { recursive: true, force: true });
    } catch {
      // Left for a later spool: a folder that cannot be removed costs disk, never the worker.
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function removeOwnFolders() {
  for (const folder of ownFolders) rmSync(folder, { recursive: true, force: true });
}
