// Edit on a connector that imports: the Source and Mapping steps save into Connector.pendingEdit (and
// PendingUserMapping for a CSV), and Finish applies them in one transaction, after the same source test
// as a new connector's. Until then its runs keep the settings in use, and an edit left half done
// changes nothing. A draft has no runs to protect: its steps save in place.
import { createHash, randomUUID } from "node:crypto";
import { z } from "zod";
import { Prisma } from "@/lib/generated/prisma/client";

const text = z.string().nullable();

/** The fields the Source step writes (lib/connectors/source.ts `sourceUpdate`), as JSON keeps them. */
const pendingSourceSchema = z
  .object({
    sourceKind: z.enum(["CONTENT_EXPORT", "CONVERSATIONS", "DATAHOSE"]),
    exportDelivery: z.enum(["FILES_API", "SFTP"]),
    realtime: z.boolean(),
    podUrl: text,
    agentUrl: text,
    keyManagerUrl: text,
    botUsername: text,
    privateKeyEncrypted: text,
    streamTypes: z.array(z.string()),
    startDate: z.coerce.date().nullable(),
    sftpHost: text,
    sftpPort: z.number().int(),
    sftpUsername: text,
    sftpFolder: text,
    sftpCredentialEncrypted: text,
    sftpHostKeySha256: text,
    sftpHostKeyConfirmedBy: text,
    pgpKeyEncrypted: text,
    pgpKeyIds: z.array(z.string()),
  })
  .partial()
  .strict();

const pendingMappingSchema = z.object({
  mappingMode: z.enum(["AUTO", "CSV"]),
  fallbackMailbox: text,
  /** The CSV uploaded in Edit (PendingUserMapping) replaces the connector's rows at Finish. */
  csvReplaced: z.boolean(),
  /** Names the latest CSV uploaded in Edit: another upload is another edit to review. */
  csvUpload: z.string().optional(),
});

const pendingEditSchema = z.object({
  /** Names this edit, from its first save to Save changes or Discard changes (their audit events carry it). */
  id: z.string().optional(),
  source: pendingSourceSchema.optional(),
  mapping: pendingMappingSchema.optional(),
});

export type PendingEdit = z.output<typeof pendingEditSchema>;
export type PendingMapping = z.output<typeof pendingMappingSchema>;

/** Whether the connector's steps wait for Finish: it is no longer a draft. */
export function editsWaitForFinish(connector: { status: string }): boolean {
  return connector.status !== "DRAFT";
}

/**
 * The connector's edit not yet applied: empty when there is none, or when it cannot be read (left by
 * another version): the wizard then shows the settings in use, and Discard changes drops it.
 */
export function pendingEditOf(connector: { pendingEdit: unknown }): PendingEdit {
  if (!hasPendingEdit(connector)) return {};
  return pendingEditSchema.safeParse(connector.pendingEdit).data ?? {};
}

/** Whether an edit waits for Save changes (a step saved unchanged leaves none). */
export function hasPendingEdit(connector: { pendingEdit: unknown }): boolean {
  return connector.pendingEdit !== null && connector.pendingEdit !== undefined;
}

/** The connector as its Edit shows it: the saved settings with the edit not yet applied over them. */
export function asEdited<C extends { pendingEdit: unknown }>(connector: C): C {
  const edit = pendingEditOf(connector);
  return { ...connector, ...pick(edit.source, connector), ...pick(mappingFields(edit), connector) };
}

/** The Connector fields of the edit's Mapping step (its CSV rows live in PendingUserMapping). */
function mappingFields(edit: PendingEdit) {
  return edit.mapping && { mappingMode: edit.mapping.mappingMode, fallbackMailbox: edit.mapping.fallbackMailbox };
}

/**
 * Names the settings Finish applies: the source (those saved, with the edit over them) and the edit's
 * user mapping. Finish applies, and an admin accepts the failure of, only the settings its Test
 * connection tried and its Review showed.
 */
export function settingsFingerprint(connector: Record<string, unknown> & { pendingEdit: unknown }): string {
  const edited = asEdited(connector);
  const fields = [...Object.keys(pendingSourceSchema.shape), "mappingMode", "fallbackMailbox"].map((field) => [
    field,
    edited[field] ?? null,
  ]);
  const csv = pendingEditOf(connector).mapping;
  return createHash("sha256")
    .update(JSON.stringify([...fields, ["csv", csv?.csvReplaced ?? false, csv?.csvUpload ?? null]]))
    .digest("hex");
}

/** Only the fields `connector` was read with: a narrow select stays narrow. */
function pick<C extends object>(fields: object | undefined, connector: C): Partial<C> {
  return Object.fromEntries(Object.entries(fields ?? {}).filter(([field]) => field in connector)) as Partial<C>;
}

type Applied = Record<string, unknown> & { pendingEdit: unknown };

/**
 * The column after a Source step save: its fields over those an earlier save of the same edit left,
 * less those equal to the settings in use (a step saved unchanged leaves nothing to apply).
 */
export function withPendingSource(applied: Applied, fields: Prisma.ConnectorUpdateInput) {
  const edit = pendingEditOf(applied);
  const merged = Object.entries(toJson({ ...edit.source, ...fields }));
  const changed = merged.filter(
    ([field, value]) => JSON.stringify(toJson({ value })) !== JSON.stringify(toJson({ value: applied[field] })),
  );
  const source = changed.length > 0 ? pendingSourceSchema.parse(Object.fromEntries(changed)) : undefined;
  return column({ ...edit, source });
}

/** The column after a Mapping step save; nothing pending when it keeps the mapping in use. */
export function withPendingMapping(applied: Applied, mapping: PendingMapping) {
  const unchanged =
    !mapping.csvReplaced &&
    mapping.mappingMode === applied.mappingMode &&
    mapping.fallbackMailbox === (applied.fallbackMailbox ?? null);
  return column({ ...pendingEditOf(applied), mapping: unchanged ? undefined : mapping });
}

type PendingColumn = Prisma.InputJsonObject | typeof Prisma.DbNull;

function column(edit: PendingEdit): PendingColumn {
  return edit.source || edit.mapping ? toJson({ ...edit, id: edit.id ?? randomUUID() }) : Prisma.DbNull;
}

/** Whether a step's save left something waiting for Save changes (undefined: a draft, saved in place). */
export function leavesPending(column: PendingColumn | undefined): column is Prisma.InputJsonObject {
  return column !== undefined && column !== Prisma.DbNull;
}

/** Dates as ISO strings, as pendingEditSchema reads them back; undefined fields left out. */
function toJson(value: object): Prisma.InputJsonObject {
  return JSON.parse(JSON.stringify(value)) as Prisma.InputJsonObject;
}

/** The Connector update that applies the edit (its CSV rows are moved apart), and which steps it changes. */
export function appliedEdit(edit: PendingEdit): { data: Prisma.ConnectorUpdateInput; steps: string[] } {
  return {
    data: { ...edit.source, ...mappingFields(edit), pendingEdit: Prisma.DbNull },
    steps: [edit.source && "source", edit.mapping && "mapping"].filter((step): step is string => Boolean(step)),
  };
}

/** Source fields that sign in somewhere else: a real-time capture's feed there starts afresh. */
const SIGN_IN_FIELDS = ["sourceKind", "podUrl", "agentUrl", "keyManagerUrl", "botUsername", "privateKeyEncrypted"];

export function changesSignIn(edit: PendingEdit): boolean {
  return SIGN_IN_FIELDS.some((field) => edit.source && field in edit.source);
}
