// The file ledger's database side: which export files a connector knows, and each one's way from
// NEW to DONE or FAILED. A DONE file is never processed again; any other one is picked up by the next run.
import { db } from "@/lib/db";
import type { ExportFile } from "@/lib/generated/prisma/client";
import type { ExportDelivery, RemoteExportFile } from "@/lib/content-export";
import { storable, storableKey } from "./ledger";

/** Listing again from a day before the newest known upload: a late-numbered file is never missed. */
const LISTING_OVERLAP_MS = 86_400_000;

/**
 * Lists the delivery, records every file not seen before (files whose period ends before the start
 * date are ignored), refreshes what the source says of files not yet DONE, and returns the files to
 * process, oldest content first.
 */
export async function syncExportFiles(
  connectorId: string,
  delivery: ExportDelivery,
  options: { startDate: Date | null; signal?: AbortSignal; runId?: string },
): Promise<{ files: ExportFile[]; stillWriting: string[] }> {
  const [newest, unfinished] = await Promise.all([
    db.exportFile.aggregate({ where: { connectorId }, _max: { uploadTime: true } }),
    db.exportFile.aggregate({ where: { connectorId, status: { not: "DONE" } }, _min: { uploadTime: true } }),
  ]);
  // From a day before the newest known upload, or from the oldest file not DONE: what the source
  // says of a failed file now (a corrected hash, new bytes) is what its next attempt is checked against.
  const from = [
    newest._max.uploadTime && newest._max.uploadTime.getTime() - LISTING_OVERLAP_MS,
    unfinished._min.uploadTime && unfinished._min.uploadTime.getTime() - 1,
  ].filter((time): time is number => typeof time === "number");
  // A file waiting with no upload time (a sighting) or one not DONE without one: nothing says whether
  // the pod filters it by upload-after, so such a connector lists everything until they are read.
  const [sightings, untimed] = await Promise.all([
    db.exportFileSighting.findMany({ where: { connectorId } }),
    db.exportFile.count({ where: { connectorId, status: { not: "DONE" }, uploadTime: null } }),
  ]);
  const uploadedAfter =
    from.length > 0 && sightings.length === 0 && untimed === 0 ? new Date(Math.min(...from)) : undefined;
  const firstListed = new Map(sightings.map((sighting) => [sighting.sourceId, sighting.firstListedAt]));
  const listing = await delivery.listReady({
    uploadedAfter,
    signal: options.signal,
    firstListed: (id) => firstListed.get(storableKey(id)),
  });
  // A file with no upload time waits from when a listing first showed it; the sightings of files no
  // longer waiting (read now, gone, or given a time) are dropped.
  const waiting = (listing.unstamped ?? []).map((id) => storableKey(id));
  await db.exportFileSighting.createMany({
    data: waiting.map((sourceId) => ({ connectorId, sourceId, firstListedAt: new Date() })),
    skipDuplicates: true,
  });
  if (sightings.some((sighting) => !waiting.includes(sighting.sourceId)))
    await db.exportFileSighting.deleteMany({ where: { connectorId, sourceId: { notIn: waiting } } });
  // A period's end is exclusive (a daily file ends at the next midnight): one ending at the start date holds nothing after it.
  const wanted = listing.ready.filter(
    (file) => !(options.startDate && file.periodEnd && file.periodEnd <= options.startDate),
  );
  await db.exportFile.createMany({
    data: wanted.map((file) => ({ connectorId, sourceId: storableKey(file.sourceId), ...describe(file) })),
    skipDuplicates: true,
  });
  // A file not DONE takes what the source says now (a fixed file may come back with new bytes and hash);
  // a DONE file keeps what it was imported from. One the listing itself cannot vouch for keeps what was
  // known of it and fails with why, as a file of this run (the next listing decides again); the others go on.
  const withProblems: string[] = [];
  for (const file of wanted) {
    const sourceId = storableKey(file.sourceId);
    const problem = file.problem ?? (sourceId !== file.sourceId ? "its id holds characters no file id can" : undefined);
    await db.exportFile.updateMany({
      where: { connectorId, sourceId, status: { not: "DONE" } },
      data: problem
        ? { status: "FAILED", reason: storable(problem).slice(0, 2000), runId: options.runId ?? null }
        : describe(file),
    });
    if (problem) withProblems.push(sourceId);
  }
  const files = await db.exportFile.findMany({
    where: { connectorId, status: { not: "DONE" }, sourceId: { notIn: withProblems } },
    orderBy: [{ periodStart: { sort: "asc", nulls: "last" } }, { uploadTime: "asc" }, { id: "asc" }],
  });
  return { files, stillWriting: listing.stillWriting };
}

function describe(file: RemoteExportFile) {
  return {
    name: storable(file.name),
    format: file.format,
    jobType: file.jobType,
    periodStart: file.periodStart,
    periodEnd: file.periodEnd,
    generatedAt: file.generatedAt,
    uploadTime: file.uploadTime,
    sizeBytes: file.size === null ? null : BigInt(file.size),
    expectedSha256: file.integrityHash?.toLowerCase() ?? null,
    expectedMd5: file.md5?.toLowerCase() ?? null,
  };
}

/** The remote file a ledger row stands for (what the delivery needs to download it again). */
export function remoteFileOf(row: ExportFile): RemoteExportFile {
  return {
    sourceId: row.sourceId,
    name: row.name,
    size: row.sizeBytes === null ? null : Number(row.sizeBytes),
    integrityHash: row.expectedSha256,
    md5: row.expectedMd5,
    uploadTime: row.uploadTime,
    format: row.format as RemoteExportFile["format"],
    jobType: row.jobType,
    periodStart: row.periodStart,
    periodEnd: row.periodEnd,
    generatedAt: row.generatedAt,
    encryptionKeyId: null,
    encrypted: /\.(pgp|gpg)$/i.test(row.name),
  };
}

export async function startAttempt(id: bigint, runId: string): Promise<void> {
  await db.exportFile.update({ where: { id }, data: { runId, attempts: { increment: 1 } } });
}

export async function markDownloaded(
  id: bigint,
  data: {
    blobName: string;
    sha256: string;
    md5: string;
    verifiedBy: string[];
    sizeBytes: bigint;
    receivedBytes: bigint;
  },
): Promise<void> {
  await db.exportFile.update({ where: { id }, data: { ...data, status: "DOWNLOADED", reason: null } });
}

/** A staged copy reused: the hashes published now that it matches. */
export async function markVerified(id: bigint, verifiedBy: string[]): Promise<void> {
  await db.exportFile.update({ where: { id }, data: { verifiedBy } });
}

export async function markParsed(
  id: bigint,
  data: { format: string; conversations: number; messagesInFile: number },
): Promise<void> {
  await db.exportFile.update({ where: { id }, data: { ...data, status: "PARSED", reason: null } });
}

export async function markDone(id: bigint): Promise<void> {
  await db.exportFile.update({ where: { id }, data: { status: "DONE", reason: null } });
}

export async function markFailed(id: bigint, reason: string): Promise<void> {
  await db.exportFile.update({ where: { id }, data: { status: "FAILED", reason: reason.slice(0, 2000) } });
}

/** Files of the run that failed, for the run's summary. */
export async function failedFilesOf(runId: string): Promise<Array<{ name: string; reason: string | null }>> {
  return db.exportFile.findMany({ where: { runId, status: "FAILED" }, select: { name: true, reason: true } });
}
