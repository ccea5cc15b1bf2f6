"use server";
import { redirect } from "next/navigation";
import { z } from "zod";
import { adminAction, formField } from "@/lib/auth";
import {
  MAX_PGP_KEY_BYTES,
  MAX_PRIVATE_KEY_BYTES,
  MAX_SSH_KEY_BYTES,
  normalisedUrlNotes,
  saveSource,
  testSource,
  wizardHref,
  type ExportFileInfo,
  type SourceStepInput,
  type SourceTestReport,
  type TestNote,
} from "@/lib/connectors";
import type { StepState } from "../wizard";

/** One export file as the Test connection table shows it. */
export type ExportFileRow = {
  name: string;
  format: string;
  size: string;
  period: string;
  encryption: string;
  /** The PGP key id the file is encrypted to, when the listing says. */
  encryptedTo?: string;
};

export interface SourceState extends StepState {
  test?: {
    tone: TestNote["tone"];
    message: string;
    files?: ExportFileRow[];
    notes?: TestNote[];
    hostKey?: SourceTestReport["hostKey"];
  };
}

const sourceForm = z.object({
  connectorId: formField.connectorId(),
  sourceKind: formField.text(),
  exportDelivery: formField.text(),
  podUrl: formField.text(),
  agentUrl: formField.text(),
  keyManagerUrl: formField.text(),
  botUsername: formField.text(),
  privateKeyPem: formField.text(),
  privateKeyFile: formField.file(),
  streamTypes: formField.list(),
  sftpHost: formField.text(),
  sftpPort: formField.text(),
  sftpUsername: formField.text(),
  sftpAuth: formField.text(),
  sftpPrivateKeyPem: formField.text(),
  sftpPrivateKeyFile: formField.file(),
  sftpPassword: formField.text(),
  sftpFolder: formField.text(),
  sftpHostKeySha256: formField.text(),
  sftpHostKeyFor: formField.text(),
  sftpHostKeyConfirmed: formField.checkbox(),
  pgpPrivateKey: formField.text(),
  pgpKeyFile: formField.file(),
  pgpPassphrase: formField.text(),
  startDate: formField.text(),
  realtime: formField.checkbox(),
});

type SourceForm = z.output<typeof sourceForm>;

/** A pasted secret, else the uploaded file's text: one byte over the limit is enough for the schema to refuse it. */
async function pastedOrUploaded(pasted: string, file: File | undefined, maxBytes: number): Promise<string> {
  if (pasted.trim()) return pasted.trim();
  return file ? (await file.slice(0, maxBytes + 1).text()).trim() : "";
}

async function settingsOf(form: SourceForm): Promise<SourceStepInput> {
  const { connectorId: _id, privateKeyFile, sftpPrivateKeyFile, pgpKeyFile, ...fields } = form;
  return {
    ...fields,
    privateKeyPem: await pastedOrUploaded(fields.privateKeyPem, privateKeyFile, MAX_PRIVATE_KEY_BYTES),
    sftpPrivateKeyPem: await pastedOrUploaded(fields.sftpPrivateKeyPem, sftpPrivateKeyFile, MAX_SSH_KEY_BYTES),
    pgpPrivateKey: await pastedOrUploaded(fields.pgpPrivateKey, pgpKeyFile, MAX_PGP_KEY_BYTES),
  };
}

/** What the admin typed, sent back so the form keeps it: never a key, a password or a passphrase. */
function echo(input: SourceStepInput): NonNullable<StepState["values"]> {
  const {
    privateKeyPem: _key,
    sftpPrivateKeyPem: _sshKey,
    sftpPassword: _password,
    pgpPrivateKey: _pgpKey,
    pgpPassphrase: _passphrase,
    streamTypes,
    sftpHostKeyConfirmed,
    realtime,
    ...rest
  } = input;
  const values: NonNullable<StepState["values"]> = { streamTypes: streamTypes ?? [] };
  for (const [field, value] of Object.entries(rest)) values[field] = String(value ?? "");
  values.sftpHostKeyConfirmed = sftpHostKeyConfirmed ? "on" : "";
  values.realtime = realtime ? "on" : "";
  return values;
}

export const saveSourceAction = adminAction(sourceForm, async (form, { actor }): Promise<SourceState> => {
  if (!form.connectorId) redirect(wizardHref("terms"));
  const input = await settingsOf(form);
  const result = await saveSource(form.connectorId, input, actor);
  if (!result.ok) return { errors: result.errors, values: echo(input), attempt: Date.now() };
  redirect(wizardHref("mapping", form.connectorId));
});

/** Tries the chosen source with the form's values (or the secrets on file, where allowed) and says what it found. */
export const testSourceAction = adminAction(sourceForm, async (form): Promise<SourceState> => {
  const input = await settingsOf(form);
  const values = echo(input);
  const next = { values, attempt: Date.now() };
  const result = await testSource(form.connectorId, input);
  if (!result.ok) return { ...next, errors: result.errors };
  const { report } = result;
  if (report.hostKey) {
    // A host key just read is shown for the admin to check: the box starts unticked.
    values.sftpHostKeySha256 = report.hostKey.fingerprint;
    values.sftpHostKeyFor = report.hostKey.readFrom;
    values.sftpHostKeyConfirmed = "";
  }
  const urlNotes = !report.ok
    ? []
    : input.sourceKind === "CONVERSATIONS" || input.sourceKind === "DATAHOSE"
      ? normalisedUrlNotes(input)
      : input.exportDelivery === "FILES_API"
        ? normalisedUrlNotes({ podUrl: input.podUrl })
        : [];
  return {
    ...next,
    test: {
      tone: report.tone,
      message: [report.message, ...urlNotes].join(" "),
      files: report.files?.map(fileRow),
      notes: report.notes,
      hostKey: report.hostKey,
    },
  };
});

const FORMATS: Record<string, string> = { ACTIANCE: "Actiance XML", EML: "EML", SYMPHONY: "Symphony XML" };

function fileRow(file: ExportFileInfo): ExportFileRow {
  return {
    name: file.name,
    format: file.format ? (FORMATS[file.format] ?? file.format) : "—",
    size: file.size === null ? "not given" : formatBytes(file.size),
    period: period(file.periodStart, file.periodEnd),
    encryption: file.encrypted ? "PGP" : "None",
    encryptedTo: file.encryptionKeyId?.toUpperCase(),
  };
}

function formatBytes(bytes: number): string {
  if (bytes < 1_024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1_024;
  let unit = 0;
  while (value >= 1_024 && unit < units.length - 1) {
    value /= 1_024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "2026-01-05 00:00 – 2026-01-06 00:00 UTC"; the time is left out when both ends are midnight. */
function period(start: Date | null, end: Date | null): string {
  if (!start && !end) return "—";
  const midnight = (date: Date | null) => !date || date.toISOString().slice(11, 16) === "00:00";
  const withTime = !(midnight(start) && midnight(end));
  const show = (date: Date | null) =>
    date
      ? date
          .toISOString()
          .slice(0, withTime ? 16 : 10)
          .replace("T", " ")
      : "…";
  return `${show(start)} – ${show(end)} UTC`;
}
