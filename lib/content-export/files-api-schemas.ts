import { z } from "zod";
import { unfit } from "@/lib/symphony";
import { parseLenientTime } from "./lenient-time";

// Response shapes of the File Management API (finos/symphony-api-spec files-api-1.0.1-public.yaml).
// Unknown fields are dropped; times are read leniently (the spec's own examples are malformed).

const lenientTime = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => parseLenientTime(value));
const optionalText = z
  .string()
  .nullish()
  .transform((value) => value || null);

/** POST /login/idm/tokens?scope=sym-files */
export const idmTokenSchema = z.object({
  token_type: z.string().optional(),
  expires_in: z.number().positive().optional(),
  access_token: z.string().min(1),
});

/** An item of GET /files/v1/, or GET /files/v1/{id}/metadata */
export const fileMetadataSchema = z.object({
  id: z.union([z.string().min(1), z.number()]).transform(String),
  name: z.string().min(1),
  size: z
    .number()
    .int()
    .nonnegative()
    .nullish()
    .transform((value) => value ?? null),
  uploadTime: lenientTime,
  contentType: optionalText,
  integrityHash: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "expected 64 hex characters")
    .nullish()
    .transform((value) => value?.toLowerCase() ?? null),
  type: optionalText,
  encryption: z.object({ encryptionKeyId: optionalText, alg: optionalText }).nullish(),
  typeSpecificMetadata: z
    .object({
      jobType: optionalText,
      fileFormat: optionalText,
      startTime: lenientTime,
      endTime: lenientTime,
      generationDate: lenientTime,
    })
    .nullish(),
});
export type FileMetadata = z.output<typeof fileMetadataSchema>;

/** A listed file; `problem` says why it cannot be taken as listed: it fails alone, with that reason. */
export type ListedFile = FileMetadata & { problem?: string };

/**
 * GET /files/v1/: each entry read alone, so that one Symphony describes oddly fails that file only (it
 * is kept with its id, and its name and upload time when they fit); one without an id names nothing.
 * `listed` counts the entries sent: paging goes by it.
 */
export const fileListSchema = z
  .array(z.unknown())
  .transform((items) => ({ listed: items.length, files: items.flatMap(toListedFile) }));

function toListedFile(item: unknown): ListedFile[] {
  const parsed = fileMetadataSchema.safeParse(item);
  if (parsed.success) return [parsed.data];
  const { fields, where } = unfit(item, parsed.error);
  const id = fileMetadataSchema.shape.id.safeParse(fields.id).data;
  if (id === undefined) return [];
  return [
    {
      id,
      name: fileMetadataSchema.shape.name.safeParse(fields.name).data ?? `file ${id}`,
      size: null,
      uploadTime: lenientTime.safeParse(fields.uploadTime).data ?? null,
      contentType: null,
      integrityHash: null,
      type: null,
      encryption: null,
      typeSpecificMetadata: null,
      problem: `Symphony listed this file in a way the connector cannot read (${where})`,
    },
  ];
}

/** GET /files/v1/{id}?type=ContentExport: where to download the bytes (a signed storage URL). */
export const signedUrlSchema = z.object({ message: z.string().nullish(), signedUrl: z.string().nullish() });

/** http:// is then only taken where network.ts allows it (files-api.ts checks with `schemeAllowed`). */
export const downloadUrlSchema = z.url({ protocol: /^https?$/, error: "signedUrl is not an http(s) URL" });
