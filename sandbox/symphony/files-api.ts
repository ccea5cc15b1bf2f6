// Symphony's File Management API on the pod server (finos/symphony-api-spec,
// files-api/files-api-1.0.1-public.yaml): the sym-files token, the file list, signed-URL downloads
// and metadata. Its errors are `{"error"}`; its 429/5xx come from its own fault switches.
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { SignJWT } from "jose";
import { z } from "zod";
import { sendJson } from "../http";
import type { Tokens } from "./auth";
import type { ExportFiles, ServedEntry } from "./export-files";
import { countRequest, type FaultGate, type Stats } from "./faults";
import type { Storage } from "./storage";

export type FilesApi = {
  /** Handles the request when its path is one of the API's; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  revokeAccessTokens(): void;
};

export type FilesApiOptions = {
  files: ExportFiles;
  storage: Storage;
  sessions: Tokens;
  botUsername: string;
  contentExportReader: boolean;
  accessTokenTtlSeconds: number;
  signedUrlTtlMs: number;
  signedUrlAsRedirect: () => boolean;
  listFaults: FaultGate;
  stats: Stats;
};

const fail = (res: ServerResponse, status: number, error: string, headers: Record<string, string> = {}) =>
  sendJson(res, status, { error }, headers);

const isoTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), "is not an ISO 8601 date-time")
  .transform((s) => Date.parse(s));
const upper = <T extends [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) => s.toUpperCase())
    .pipe(z.enum(values));
const SORTABLE = [
  "name",
  "generationDate",
  "uploadTime",
  "size",
  "jobType",
  "fileFormat",
  "startTime",
  "endTime",
] as const;

const listQuery = z.object({
  type: z.literal("ContentExport"),
  page: z.coerce.number().int().min(1).default(1),
  pageSize: z.coerce.number().int().min(1).max(100).default(10),
  sortBy: z.enum(SORTABLE).default("uploadTime"),
  // The spec's enum is lower-case (files-api-1.0.1-public.yaml); "ASC" is not one of its values.
  sortOrder: z.enum(["asc", "desc"]).default("asc"),
  name: z.string().optional(),
  "upload-after": isoTime.optional(),
  "upload-before": isoTime.optional(),
  jobType: upper(["ADHOC", "SCHEDULED", "CURL"]).optional(),
  fileFormat: upper(["ACTIANCE", "SYMPHONY", "EML"]).optional(),
  "startTime-after": isoTime.optional(),
  "endTime-before": isoTime.optional(),
  generationDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
});
const typeQuery = z.object({ type: z.literal("ContentExport") });

function parseQuery<T extends z.ZodType>(res: ServerResponse, url: URL, schema: T): z.infer<T> | null {
  const result = schema.safeParse(Object.fromEntries(url.searchParams));
  if (result.success) return result.data;
  fail(
    res,
    400,
    `Invalid query parameters: ${result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
  );
  return null;
}

export function metadata(entry: ServedEntry) {
  return {
    id: entry.id,
    name: entry.name,
    size: entry.size,
    ...(entry.uploadTimeUnpublished ? {} : { uploadTime: new Date(entry.uploadTime).toISOString() }),
    contentType: entry.contentType,
    integrityHash: entry.integrityHash,
    type: "ContentExport",
    ...(entry.encryptionKeyId ? { encryption: { encryptionKeyId: entry.encryptionKeyId, alg: "PGP" } } : {}),
    typeSpecificMetadata: {
      jobType: entry.jobType,
      fileFormat: entry.fileFormat,
      startTime: new Date(entry.period.start).toISOString(),
      endTime: new Date(entry.period.end).toISOString(),
      generationDate: new Date(entry.generatedAt).toISOString().slice(0, 10),
    },
  };
}

function sortKey(entry: ServedEntry, by: (typeof SORTABLE)[number]): string | number {
  switch (by) {
    case "name":
      return entry.name;
    case "generationDate":
      return entry.generatedAt;
    case "uploadTime":
      return entry.uploadTime;
    case "size":
      return entry.size ?? -1;
    case "jobType":
      return entry.jobType;
    case "fileFormat":
      return entry.fileFormat;
    case "startTime":
      return entry.period.start;
    case "endTime":
      return entry.period.end;
  }
}

function compare(a: string | number, b: string | number): number {
  return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
}

export function filesApi(options: FilesApiOptions): FilesApi {
  const jwtSecret = randomBytes(32);
  const accessTokens = new Map<string, number>();

  function bearerValid(req: IncomingMessage): boolean {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    const expiresAt = token === undefined ? undefined : accessTokens.get(token);
    return expiresAt !== undefined && Date.now() < expiresAt;
  }

  async function issueToken(req: IncomingMessage, res: ServerResponse, url: URL) {
    // The login API's error body is {code, message}; the contract reads {error}: both are given.
    const refuse = (status: number, message: string) =>
      sendJson(res, status, { code: status, message, error: message });
    const session = req.headers.sessiontoken;
    if (!options.sessions.valid("sessionToken", Array.isArray(session) ? session[0] : session))
      return refuse(401, "Invalid or missing session token");
    const scopes = (url.searchParams.get("scope") ?? "").split(" ").filter(Boolean);
    if (!scopes.includes("sym-files")) return refuse(400, "scope must include sym-files");
    if (!options.contentExportReader) return refuse(403, "The service account lacks the Content Export Reader role");
    const expiresIn = options.accessTokenTtlSeconds;
    const token = await new SignJWT({ scope: "sym-files", entitlements: ["CONTENT_EXPORT_READER"] })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(options.botUsername)
      .setIssuedAt()
      .setJti(randomBytes(12).toString("hex"))
      .setExpirationTime(Math.floor(Date.now() / 1000) + expiresIn)
      .sign(jwtSecret);
    accessTokens.set(token, Date.now() + expiresIn * 1000);
    sendJson(res, 200, { token_type: "Bearer", expires_in: expiresIn, access_token: token });
  }

  async function list(res: ServerResponse, url: URL) {
    const q = parseQuery(res, url, listQuery);
    if (!q) return;
    const all = (await options.files.entries(true)).filter(
      (e) =>
        (q.name === undefined || e.name.toLowerCase().includes(q.name.toLowerCase())) &&
        (q["upload-after"] === undefined || e.uploadTime > q["upload-after"]) &&
        (q["upload-before"] === undefined || e.uploadTime < q["upload-before"]) &&
        (q.jobType === undefined || e.jobType === q.jobType) &&
        (q.fileFormat === undefined || e.fileFormat === q.fileFormat) &&
        (q["startTime-after"] === undefined || e.period.start > q["startTime-after"]) &&
        (q["endTime-before"] === undefined || e.period.end < q["endTime-before"]) &&
        (q.generationDate === undefined || new Date(e.generatedAt).toISOString().startsWith(q.generationDate)),
    );
    const direction = q.sortOrder === "desc" ? -1 : 1;
    all.sort(
      (a, b) =>
        direction * compare(sortKey(a, q.sortBy), sortKey(b, q.sortBy)) ||
        a.name.localeCompare(b.name) ||
        a.id.localeCompare(b.id),
    );
    const page = all.slice((q.page - 1) * q.pageSize, q.page * q.pageSize).map(metadata);
    sendJson(res, 200, page, { "x-total-count": String(all.length) });
  }

  async function download(res: ServerResponse, url: URL, id: string) {
    if (!parseQuery(res, url, typeQuery)) return;
    const entry = await options.files.entry(id, false);
    if (!entry) return fail(res, 404, "File not found");
    const expiresAt = entry.fault === "expired-url" ? Date.now() - 1000 : Date.now() + options.signedUrlTtlMs;
    const signedUrl = options.storage.signedUrl(entry, expiresAt);
    if (options.signedUrlAsRedirect()) return void res.writeHead(302, { location: signedUrl }).end();
    sendJson(res, 200, { message: "Redirecting to signed URL for download.", signedUrl }, { location: signedUrl });
  }

  async function fileMetadata(res: ServerResponse, url: URL, id: string) {
    if (!parseQuery(res, url, typeQuery)) return;
    const entry = await options.files.entry(id, true);
    if (!entry) return fail(res, 404, "File not found");
    sendJson(res, 200, metadata(entry));
  }

  async function serveFiles(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    id: string | undefined,
    isMetadata: boolean,
  ) {
    if (req.method !== "GET") return fail(res, 405, `Method ${req.method} not allowed`);
    if (id === undefined) {
      const decision = options.listFaults.decide();
      const retryAfter = String(options.listFaults.current().retryAfterSeconds);
      if (decision === "throttle") return fail(res, 429, "Too many requests", { "retry-after": retryAfter });
      if (decision === "error") return fail(res, 500, "Failed to retrieve file list");
    }
    if (!bearerValid(req)) return fail(res, 401, "Invalid or expired access token");
    if (id === undefined) await list(res, url);
    else if (isMetadata) await fileMetadata(res, url, id);
    else await download(res, url, id);
  }

  return {
    async handle(req, res, url) {
      const method = req.method ?? "GET";
      const count = (route: string) =>
        res.on("finish", () => countRequest(options.stats, `${method} ${route}`, res.statusCode));
      if (url.pathname === "/login/idm/tokens") {
        count(url.pathname);
        if (method === "POST") await issueToken(req, res, url);
        else fail(res, 405, `Method ${method} not allowed`);
        return true;
      }
      const match = /^\/files\/v1\/?(?:([^/]+)(\/metadata)?)?$/.exec(url.pathname);
      if (!match) return false;
      const id = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
      count(id === undefined ? "/files/v1/" : match[2] ? "/files/v1/{fileId}/metadata" : "/files/v1/{fileId}");
      await serveFiles(req, res, url, id, match[2] !== undefined);
      return true;
    },
    revokeAccessTokens: () => accessTokens.clear(),
  };
}
