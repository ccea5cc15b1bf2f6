// The export files the sandbox holds: one recurring file per UTC day that has messages, plus ad-hoc,
// re-uploaded and faulty files added while running. Bytes are generated on first use and cached;
// a fault changes what a file's listing says or what its download serves.
import { createHash } from "node:crypto";
import { ACTIANCE_FAULTS, buildZip, damagedTransfer, type Fault } from "./export-build";
import { attachmentPath } from "./export-actiance";
import { expectedItems, type ExpectedItem } from "./export-items";
import { DAY, type ExportModel } from "./export-model";
import type { PgpEncrypter } from "./pgp";

export type ExportFormat = "ACTIANCE" | "EML";
export type JobType = "SCHEDULED" | "ADHOC";

/** One export file as tests see it; size and hashes are those of the complete bytes as generated. */
export type ExportFileInfo = {
  id: string;
  name: string;
  /** The `.md5` beside it (absent while the file is being written). */
  md5File: { id: string; name: string } | null;
  size: number;
  sha256: string;
  md5: string;
  uploadTime: number;
  format: ExportFormat | "SYMPHONY";
  jobType: JobType;
  /** The content period, epoch ms: [start, end). */
  period: { start: number; end: number };
  /** Epoch unit of the times inside the XML. */
  timeUnit: "s" | "ms";
  /** Whether its Message elements carry MessageId. */
  messageIds: boolean;
  encrypted: boolean;
  encryptionKeyId: string | null;
  fault: Fault | null;
  /** Under "damaged-transfer" or "failed-transfer": the zip path of the file transfer whose entry is damaged or missing (null: the period has none). */
  damagedTransfer: string | null;
};

/** A file or `.md5` as the Files API and the SFTP folder show it right now. */
export type ServedEntry = {
  id: string;
  name: string;
  /** When it was uploaded (what upload-after and sorting go by), even when the listing does not say. */
  uploadTime: number;
  /** The listing and metadata leave uploadTime out (the spec requires only id, name and type). */
  uploadTimeUnpublished?: true;
  contentType: string;
  /** What the listing says: null while the file is being written. */
  size: number | null;
  integrityHash: string | null;
  encryptionKeyId: string | null;
  jobType: JobType;
  fileFormat: ExportFormat | "SYMPHONY";
  period: { start: number; end: number };
  generatedAt: number;
  fault: Fault | null;
  /** The bytes a download gets now (cut short or still growing under some faults). */
  bytes: Buffer;
};

type FileRecord = {
  id: string;
  name: string;
  jobType: JobType;
  period: { start: number; end: number };
  unit: "s" | "ms";
  messageIds: boolean;
  encrypted: boolean;
  uploadTime: number;
  generatedAt: number;
  fault: Fault | null;
  /** Whose bytes these are: a re-upload shares its source's. */
  contentOf: string;
  /** How far a file being written has got, in eighths. */
  written: number;
};

type Generated = { bytes: Buffer; sha256: string; md5: string };

export type ExportFiles = {
  /** Every file and `.md5`; `observe` lets files being written grow (a listing or a stat). */
  entries(observe: boolean): Promise<ServedEntry[]>;
  entry(id: string, observe: boolean): Promise<ServedEntry | undefined>;
  files(): Promise<ExportFileInfo[]>;
  addAdhocExport(input: { day: string }): Promise<ExportFileInfo>;
  reuploadFile(id: string): Promise<ExportFileInfo>;
  addFaultyFile(fault: Fault, input?: { day?: string; uploadTime?: number }): Promise<ExportFileInfo>;
  setFileFault(id: string, fault: Fault | null): Promise<ExportFileInfo>;
  expectedItems(): ExpectedItem[];
};

export type ExportFilesOptions = {
  model: ExportModel;
  format: ExportFormat;
  encrypt: boolean;
  key: PgpEncrypter;
  otherKey: PgpEncrypter;
  now?: () => number;
};

const sha256 = (data: Uint8Array | string) => createHash("sha256").update(data).digest("hex");
const md5 = (data: Uint8Array) => createHash("md5").update(data).digest("hex");
const isoDate = (time: number) => new Date(time).toISOString().slice(0, 10);
const dateHour = (time: number) => new Date(time).toISOString().slice(0, 13).replace("T", "-");
/** Faults that change the bytes themselves (the others change the listing or the download). */
const BYTE_FAULTS: readonly Fault[] = [...ACTIANCE_FAULTS, "zip-bomb", "path-traversal", "wrong-key"];

export function parseDay(day: string): number {
  const time = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || Number.isNaN(time)) throw new Error(`Not a day (YYYY-MM-DD): ${day}`);
  return time;
}

/**
 * A good, whole file published without its hash or any .md5, which the Files API spec does not require
 * (`FileMetadata` requires only id, name and type).
 */
function wholeUnhashed(r: { fault: Fault | null }): boolean {
  return r.fault === "no-integrity-hash" || r.fault === "no-upload-time";
}

export function exportFiles(options: ExportFilesOptions): ExportFiles {
  const { model } = options;
  const now = options.now ?? Date.now;
  const company = model.org.companyName.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  const records: FileRecord[] = [];
  const cache = new Map<string, Promise<Generated>>();
  let lastUpload = 0;
  const nextUploadTime = (wanted: number) => (lastUpload = Math.max(wanted, lastUpload + 1));
  const newId = () => `ce${sha256(`${model.org.seed}\u0001export-file\u0001${records.length}`).slice(0, 22)}`;

  function name(
    jobType: JobType,
    period: { start: number; end: number },
    generatedAt: number,
    encrypted: boolean,
    symphony: boolean,
  ) {
    const dates =
      jobType === "SCHEDULED"
        ? `SD-${dateHour(period.start)}_ED-${dateHour(period.end)}`
        : `CD-${isoDate(period.start)}`;
    return `${symphony ? "s" : "e"}_${company}_${dates}_GD-${isoDate(generatedAt)}_${generatedAt}.zip${encrypted ? ".pgp" : ""}`;
  }

  /** A file uploaded at `uploadTime`, or just after the last upload if that is later (unless `exactly`). */
  function add(jobType: JobType, start: number, fault: Fault | null, uploadTime: number, exactly = false): FileRecord {
    const encrypted = options.encrypt || fault === "wrong-key";
    const period = { start, end: start + DAY };
    const upload = exactly ? uploadTime : nextUploadTime(uploadTime);
    const generatedAt = upload - 60_000;
    const record: FileRecord = {
      id: newId(),
      name: name(jobType, period, generatedAt, encrypted, fault === "symphony-xml"),
      jobType,
      period,
      unit: jobType === "SCHEDULED" ? "s" : "ms",
      messageIds: model.hasMessageIds(start),
      encrypted,
      uploadTime: upload,
      generatedAt,
      fault,
      contentOf: "",
      written: 1,
    };
    record.contentOf = record.id;
    records.push(record);
    return record;
  }

  // Recurring files are uploaded half an hour after their day ends, or at start-up for today's.
  const startedAt = now();
  for (const day of model.days) add("SCHEDULED", day, null, Math.min(day + DAY + 30 * 60_000, startedAt));

  function generated(record: FileRecord): Promise<Generated> {
    const variant = record.fault && BYTE_FAULTS.includes(record.fault) ? record.fault : "good";
    const cacheKey = `${record.contentOf}|${variant}`;
    let found = cache.get(cacheKey);
    if (!found) {
      found = (async () => {
        const zip = await buildZip(model, {
          format: options.format,
          period: record.period,
          unit: record.unit,
          messageIds: record.messageIds,
          baseName: record.name.replace(/\.zip(\.pgp)?$/, ""),
          fault: record.fault === "wrong-key" ? null : record.fault,
        });
        const key = record.fault === "wrong-key" ? options.otherKey : options.key;
        const bytes = record.encrypted ? await key.encrypt(zip) : zip;
        return { bytes, sha256: sha256(bytes), md5: md5(bytes) };
      })();
      cache.set(cacheKey, found);
      found.catch(() => cache.delete(cacheKey));
    }
    return found;
  }

  const fileFormat = (r: FileRecord): ServedEntry["fileFormat"] =>
    r.fault === "symphony-xml"
      ? "SYMPHONY"
      : r.fault && ACTIANCE_FAULTS.includes(r.fault)
        ? "ACTIANCE"
        : options.format;
  const keyId = (r: FileRecord) =>
    r.encrypted ? (r.fault === "wrong-key" ? options.otherKey : options.key).key.keyId : null;

  function served(r: FileRecord, g: Generated): ServedEntry[] {
    const writing = r.fault === "being-written";
    // With no-upload-time, the size and upload time are left out as well.
    const unstamped = r.fault === "no-upload-time";
    const unhashed = writing || wholeUnhashed(r);
    const common = {
      uploadTime: r.uploadTime,
      jobType: r.jobType,
      fileFormat: fileFormat(r),
      period: r.period,
      generatedAt: r.generatedAt,
      fault: r.fault,
    };
    let bytes = g.bytes;
    if (r.fault === "truncated") bytes = g.bytes.subarray(0, Math.floor(g.bytes.length * 0.6));
    if (writing) bytes = g.bytes.subarray(0, Math.floor((g.bytes.length * Math.min(r.written, 7)) / 8));
    const tampered = r.fault === "hash-mismatch";
    const file: ServedEntry = {
      ...common,
      id: r.id,
      name: r.name,
      contentType: r.encrypted ? "application/pgp-encrypted" : "application/zip",
      size: writing || unstamped ? null : g.bytes.length,
      ...(unstamped && { uploadTimeUnpublished: true as const }),
      integrityHash: unhashed ? null : tampered ? sha256(`tampered\u0001${g.sha256}`) : g.sha256,
      encryptionKeyId: keyId(r),
      bytes,
    };
    if (unhashed) return [file];
    const sidecar = Buffer.from(`${tampered ? md5(Buffer.from(`tampered${g.md5}`)) : g.md5}  ${r.name}\n`);
    return [
      file,
      {
        ...common,
        // The file's own URLs expire; its .md5 is served as usual.
        fault: r.fault === "expired-url" ? null : r.fault,
        id: `${r.id}-md5`,
        name: `${r.name}.md5`,
        contentType: "text/plain",
        size: sidecar.length,
        integrityHash: sha256(sidecar),
        encryptionKeyId: null,
        bytes: sidecar,
      },
    ];
  }

  async function info(r: FileRecord): Promise<ExportFileInfo> {
    const g = await generated(r);
    return {
      id: r.id,
      name: r.name,
      md5File: r.fault === "being-written" || wholeUnhashed(r) ? null : { id: `${r.id}-md5`, name: `${r.name}.md5` },
      size: g.bytes.length,
      sha256: g.sha256,
      md5: g.md5,
      uploadTime: r.uploadTime,
      format: fileFormat(r),
      jobType: r.jobType,
      period: r.period,
      timeUnit: r.unit,
      messageIds: r.messageIds,
      encrypted: r.encrypted,
      encryptionKeyId: keyId(r),
      fault: r.fault,
      damagedTransfer: damagedTransferPath(r) ?? null,
    };
  }

  function damagedTransferPath(r: FileRecord): string | undefined {
    if (r.fault !== "damaged-transfer" && r.fault !== "failed-transfer") return undefined;
    const damaged = damagedTransfer(model.conversations(r.period.start, r.period.end));
    return damaged && attachmentPath(damaged);
  }

  function record(id: string): FileRecord {
    const found = records.find((r) => r.id === id);
    if (!found) throw new Error(`No export file ${id}`);
    return found;
  }

  return {
    async entries(observe) {
      if (observe) for (const r of records) if (r.fault === "being-written") r.written++;
      const all = await Promise.all(records.map(async (r) => served(r, await generated(r))));
      return all.flat();
    },
    async entry(id, observe) {
      const r = records.find((x) => x.id === id || `${x.id}-md5` === id);
      if (!r) return undefined;
      if (observe && r.fault === "being-written") r.written++;
      return served(r, await generated(r)).find((e) => e.id === id);
    },
    files: () => Promise.all(records.map(info)),
    addAdhocExport: async ({ day }) => info(add("ADHOC", parseDay(day), null, now())),
    async reuploadFile(id) {
      const source = record(id);
      const copy: FileRecord = { ...source, id: newId(), uploadTime: nextUploadTime(now()), written: 1 };
      records.push(copy);
      return info(copy);
    },
    async addFaultyFile(fault, input = {}) {
      const day = input.day === undefined ? model.days[0] : parseDay(input.day);
      if (day === undefined) throw new Error("The organisation has no messages to export");
      // At `uploadTime`: held by the API for a while already (the connector was away).
      return info(add("ADHOC", day, fault, input.uploadTime ?? now(), input.uploadTime !== undefined));
    },
    async setFileFault(id, fault) {
      const r = record(id);
      if (fault === "wrong-key" && !r.encrypted)
        throw new Error(`${r.name} is not encrypted: wrong-key needs an encrypted file`);
      // A file that finishes being written is uploaded (and listed) anew; one that starts is being
      // uploaded now.
      if ((r.fault === "being-written") !== (fault === "being-written")) r.uploadTime = nextUploadTime(now());
      if (fault === "being-written") r.written = 1;
      r.fault = fault;
      return info(r);
    },
    expectedItems: () =>
      expectedItems(
        model,
        options.format,
        // A damaged or failed file transfer fails alone: the rest of its file is imported.
        records
          .filter(
            (r) =>
              r.fault === null || wholeUnhashed(r) || r.fault === "damaged-transfer" || r.fault === "failed-transfer",
          )
          .map((r) =>
            r.fault === null || wholeUnhashed(r)
              ? r.period
              : { ...r.period, format: "ACTIANCE" as const, withoutTransfer: damagedTransferPath(r) },
          ),
      ),
  };
}
