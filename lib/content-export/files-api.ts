// Delivery 1: Symphony's File Management API. The service account signs in like the rest of the
// connector (RSA JWT -> session token), trades its session for a Files API token, lists the
// ContentExport files and downloads each one from the signed storage URL the API hands out.
import { PassThrough, Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { z } from "zod";
import { mapLimit } from "@/lib/async";
import { config } from "@/lib/config";
import {
  createPodSession,
  defaultRetryPolicy,
  readJson,
  schemeAllowed,
  send,
  statusError,
  symphonyDispatcher,
  SymphonyError,
  symphonySettingsSchema,
  type HttpOptions,
  type HttpRequest,
  type ResponseEvent,
  type RetryEvent,
  type RetryPolicy,
  type SymphonyErrorCode,
} from "@/lib/symphony";
import {
  downloadUrlSchema,
  fileListSchema,
  idmTokenSchema,
  signedUrlSchema,
  type FileMetadata,
  type ListedFile,
} from "./files-api-schemas";
import { ExportDownloadError } from "./errors";
import { hintsFromName } from "./name-hints";
import {
  byUploadTime,
  isMd5Name,
  looksEncrypted,
  parseMd5Text,
  type ExportDelivery,
  type ReadyListing,
  type RemoteExportFile,
} from "./remote-file";

export const filesApiSettingsSchema = symphonySettingsSchema.pick({
  podUrl: true,
  botUsername: true,
  privateKeyPem: true,
});
export type FilesApiSettings = z.input<typeof filesApiSettingsSchema>;

export type FilesApiOptions = {
  retry?: Partial<RetryPolicy>;
  /** Time allowed until response headers arrive. */
  requestTimeoutMs?: number;
  onRetry?: (event: RetryEvent) => void;
  onResponse?: (event: ResponseEvent) => void;
  /** Whether the pod and the storage may be on private addresses; default SYMPHONY_ALLOW_PRIVATE_HOSTS. */
  allowPrivateHosts?: boolean;
  /** Files per listing page: the API's maximum (100) unless a test wants more pages. */
  pageSize?: number;
};

export type FilesApiDelivery = ExportDelivery & {
  /** The newest files, newest first, without their `.md5` (for Test connection). */
  listNewest(count: number, signal?: AbortSignal): Promise<{ files: RemoteExportFile[]; stillWriting: string[] }>;
};

const MAX_PAGE_SIZE = 100;
/** 100,000 files: far beyond any real backlog, so a server whose pages never end is stopped. */
const MAX_PAGES = 1_000;
const MD5_MAX_BYTES = 4_096;

/** What the storage answers for one file's bytes that no retry will change. */
const STORAGE_REFUSALS = new Set<SymphonyErrorCode>([
  "forbidden",
  "bad_request",
  "unexpected_status",
  "invalid_response",
]);

const TOKEN_ENDPOINT = "POST /login/idm/tokens";
const LIST_ENDPOINT = "GET /files/v1/";
const SIGNED_URL_ENDPOINT = "GET /files/v1/{fileId}";
const DOWNLOAD_ENDPOINT = "GET {signedUrl}";
type ListedFormat = NonNullable<RemoteExportFile["format"]>;
const FORMATS: readonly string[] = ["ACTIANCE", "EML", "SYMPHONY"] satisfies ListedFormat[];

type AccessToken = { token: string; refreshAt: number };

export function createFilesApiDelivery(
  settingsInput: FilesApiSettings,
  options: FilesApiOptions = {},
): FilesApiDelivery {
  const settings = filesApiSettingsSchema.parse(settingsInput);
  const allowPrivateHosts = options.allowPrivateHosts ?? config().SYMPHONY_ALLOW_PRIVATE_HOSTS;
  const http: HttpOptions = {
    retry: { ...defaultRetryPolicy, ...options.retry },
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    onRetry: options.onRetry,
    onResponse: options.onResponse,
    allowPrivateHosts,
    dispatcher: symphonyDispatcher(allowPrivateHosts),
  };
  const pageSize = Math.max(1, Math.min(MAX_PAGE_SIZE, options.pageSize ?? MAX_PAGE_SIZE));
  const session = createPodSession(settings, http);
  const tokens = cachedAccessToken(fetchAccessToken);

  async function fetchAccessToken(): Promise<AccessToken> {
    const url = new URL(`${settings.podUrl}/login/idm/tokens`);
    url.searchParams.set("scope", "sym-files");
    for (let attempt = 1; ; attempt++) {
      const headers = await session.podHeaders();
      const request: HttpRequest = {
        method: "POST",
        url,
        endpoint: TOKEN_ENDPOINT,
        headers,
        secrets: Object.values(headers),
      };
      let response: Response;
      try {
        response = await send(request, http);
      } catch (error) {
        if (error instanceof SymphonyError && error.status === 403) throw missingReaderRole(error);
        throw error;
      }
      if (response.status === 401) {
        const refused = await statusError(request, response);
        if (attempt === 2) {
          throw new SymphonyError({
            code: "unauthorized",
            endpoint: TOKEN_ENDPOINT,
            status: 401,
            message: "HTTP 401, sign-in refused: the pod did not accept the service account's session",
            serverMessage: refused.serverMessage,
          });
        }
        session.invalidate(headers);
        continue;
      }
      const body = await readJson(response, idmTokenSchema, TOKEN_ENDPOINT);
      const lifetimeMs = (body.expires_in ?? 3_600) * 1_000;
      return { token: body.access_token, refreshAt: Date.now() + lifetimeMs - Math.min(60_000, lifetimeMs / 2) };
    }
  }

  /** A Files API call with the cached token; a 401 fetches a fresh token once, then fails. */
  async function filesGet(
    path: string,
    query: Record<string, string | number | undefined>,
    endpoint: string,
    signal?: AbortSignal,
    redirectIsAnswer = false,
  ): Promise<Response> {
    const url = new URL(settings.podUrl + path);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    for (let attempt = 1; ; attempt++) {
      const token = await tokens.get();
      const request: HttpRequest = {
        method: "GET",
        url,
        endpoint,
        headers: { authorization: `Bearer ${token}` },
        secrets: [token],
        signal,
        redirectIsAnswer,
      };
      const response = await send(request, http);
      if (response.status !== 401) return response;
      const error = await statusError(request, response);
      if (attempt === 2) throw error;
      tokens.drop(token);
    }
  }

  async function listPage(query: Record<string, string | number | undefined>, signal?: AbortSignal) {
    const response = await filesGet("/files/v1/", { type: "ContentExport", ...query }, LIST_ENDPOINT, signal);
    const total = Number.parseInt(response.headers.get("x-total-count") ?? "", 10);
    const { files, listed } = await readJson(response, fileListSchema, LIST_ENDPOINT);
    return { files, listed, total: Number.isSafeInteger(total) && total >= 0 ? total : undefined };
  }

  /** Every listed file uploaded after the date, oldest first, paging until X-Total-Count is reached. */
  async function listAll(uploadedAfter: Date | undefined, signal?: AbortSignal): Promise<ListedFile[]> {
    const byId = new Map<string, ListedFile>();
    for (let page = 1; ; page++) {
      if (page > MAX_PAGES) throw listingError(`the file list did not end after ${MAX_PAGES} pages`);
      const { files, listed, total } = await listPage(
        { page, pageSize, "upload-after": uploadedAfter?.toISOString(), sortBy: "uploadTime", sortOrder: "asc" },
        signal,
      );
      const before = byId.size;
      for (const file of files) byId.set(file.id, file);
      if (listed < pageSize) break;
      if (total !== undefined && page * pageSize >= total) break;
      // A server that ignores `page` would otherwise send its first page forever.
      if (byId.size === before) throw listingError(`page ${page} repeated files of earlier pages`);
    }
    return [...byId.values()];
  }

  async function signedUrlOf(fileId: string, signal?: AbortSignal): Promise<URL> {
    const response = await filesGet(
      `/files/v1/${encodeURIComponent(fileId)}`,
      { type: "ContentExport" },
      SIGNED_URL_ENDPOINT,
      signal,
      true,
    );
    const location = response.headers.get("location");
    // The spec documents a 200 with the URL in its body and Location, and calls it a redirect: a 302
    // with the Location alone says the same. One back to the pod (a proxy's sign-in, a trailing slash)
    // is not a download URL, and neither is none.
    const redirected = response.status >= 300 && response.status < 400;
    if (redirected) await response.body?.cancel();
    const target = redirected ? redirectTarget(location) : undefined;
    if (redirected && (!target || target.origin === new URL(settings.podUrl).origin)) {
      throw new SymphonyError({
        code: "redirect",
        endpoint: SIGNED_URL_ENDPOINT,
        status: response.status,
        message: `HTTP ${response.status} ${target ? "back to the pod" : "without a Location"}, not to a download URL`,
      });
    }
    const body = redirected ? {} : await readJson(response, signedUrlSchema, SIGNED_URL_ENDPOINT);
    const parsed = downloadUrlSchema.safeParse(body.signedUrl ?? target?.href ?? location);
    if (!parsed.success) {
      throw new SymphonyError({
        code: "invalid_response",
        endpoint: SIGNED_URL_ENDPOINT,
        status: response.status,
        message: "no usable signedUrl in the answer",
      });
    }
    const url = new URL(parsed.data);
    if (!schemeAllowed(url, allowPrivateHosts)) {
      throw new SymphonyError({
        code: "insecure_url",
        endpoint: SIGNED_URL_ENDPOINT,
        status: response.status,
        message:
          `the pod handed out an http:// download URL at ${url.hostname}, which would carry the file and its ` +
          `signature unencrypted: download URLs must be https:// (http:// only for storage on this machine or a ` +
          `private network with SYMPHONY_ALLOW_PRIVATE_HOSTS)`,
      });
    }
    return url;
  }

  /** A redirect's Location, relative ones resolved against the call's URL; undefined when unreadable. */
  function redirectTarget(location: string | null): URL | undefined {
    if (!location) return undefined;
    try {
      return new URL(location, `${settings.podUrl}/files/v1/`);
    } catch {
      return undefined;
    }
  }

  /** The stored bytes, from a signed URL; an expired URL (403 from the storage) gets one fresh URL. */
  async function download(fileId: string, signal?: AbortSignal): Promise<Readable> {
    for (let attempt = 1; ; attempt++) {
      const url = await signedUrlOf(fileId, signal);
      // The signed URL is its own credential: never an Authorization header, and its query stays out of errors.
      const request: HttpRequest = {
        method: "GET",
        url,
        endpoint: DOWNLOAD_ENDPOINT,
        headers: { accept: "*/*" },
        secrets: [url.search.slice(1), ...[...url.searchParams.values()].filter((value) => value.length >= 16)],
        signal,
      };
      let response: Response;
      try {
        response = await send(request, http);
      } catch (error) {
        if (error instanceof SymphonyError && error.status === 403) {
          if (attempt === 1) continue;
          throw new SymphonyError({
            code: "forbidden",
            endpoint: DOWNLOAD_ENDPOINT,
            status: 403,
            message: "HTTP 403, the storage refused a freshly signed download URL",
            serverMessage: error.serverMessage,
          });
        }
        throw error;
      }
      if (response.status === 401) throw await statusError(request, response);
      if (!response.body) {
        throw new SymphonyError({ code: "invalid_response", endpoint: DOWNLOAD_ENDPOINT, message: "no body" });
      }
      return nodeStream(response.body as WebReadableStream<Uint8Array>, signal);
    }
  }

  /**
   * The checksum in a `.md5` file; null when it is gone. One whose download this file alone meets (the
   * storage refuses it, its answer is odd) is the export's problem, not the run's.
   */
  async function readMd5(entry: FileMetadata, signal?: AbortSignal): Promise<{ md5: string | null; problem?: string }> {
    try {
      return { md5: parseMd5Text(await readText(await download(entry.id, signal), MD5_MAX_BYTES)) };
    } catch (error) {
      if (error instanceof SymphonyError && error.code === "not_found") return { md5: null };
      // The storage refusing this one file's bytes; anything else (the pod refusing the request, a failure
      // a later run may not meet) stops the run, which is tried again, as before.
      if (error instanceof SymphonyError && error.endpoint === DOWNLOAD_ENDPOINT && STORAGE_REFUSALS.has(error.code))
        return { md5: null, problem: `its checksum file ${entry.name} could not be read: ${error.message}` };
      throw error;
    }
  }

  return {
    async listReady({ uploadedAfter, signal, firstListed } = {}): Promise<ReadyListing> {
      const listed = await listAll(uploadedAfter, signal);
      const md5ByName = new Map(listed.filter((file) => isMd5Name(file.name)).map((file) => [file.name, file]));
      const stillWriting: string[] = [];
      const unstamped: string[] = [];
      const complete: { file: ListedFile; md5File: ListedFile | undefined; problem?: string }[] = [];
      for (const file of listed) {
        if (isMd5Name(file.name)) continue;
        const md5File = md5ByName.get(`${file.name}.md5`);
        const problem = file.problem ?? (md5File?.problem && `its checksum file: ${md5File.problem}`);
        // The sidecar is written after the zip: wait for it rather than skip the check.
        const writing = [file, md5File].filter(
          (part): part is ListedFile => part !== undefined && isBeingWritten(part, firstListed?.(part.id)),
        );
        if (problem || writing.length === 0) {
          complete.push({ file, md5File, problem });
          continue;
        }
        stillWriting.push(file.name);
        unstamped.push(...writing.filter((part) => part.uploadTime === null).map((part) => part.id));
      }
      const ready = await mapLimit(complete, 4, async ({ file, md5File, problem }) => {
        if (problem) return toRemoteFile(file, null, problem);
        const checksum = md5File ? await readMd5(md5File, signal) : { md5: null };
        return toRemoteFile(file, checksum.md5, checksum.problem);
      });
      return { ready: ready.sort(byUploadTime), stillWriting, unstamped };
    },

    async listNewest(count, signal) {
      const { files } = await listPage(
        { page: 1, pageSize: Math.min(MAX_PAGE_SIZE, count * 3), sortBy: "uploadTime", sortOrder: "desc" },
        signal,
      );
      const exports = files.filter((file) => !isMd5Name(file.name));
      return {
        files: exports
          .filter((file) => !isBeingWritten(file))
          .map((file) => toRemoteFile(file, null))
          .sort((a, b) => byUploadTime(b, a))
          .slice(0, count),
        stillWriting: exports.filter((file) => isBeingWritten(file)).map((file) => file.name),
      };
    },

    async open(file, signal) {
      const asFileError = (error: unknown) => (ofThisFile(error) ? new ExportDownloadError(error) : error);
      try {
        return withStreamErrors(await download(file.sourceId, signal), asFileError);
      } catch (error) {
        throw asFileError(error);
      }
    },

    async close() {
      await http.dispatcher.close();
    },
  };
}

/**
 * Whether a download's failure is this file's alone: what the storage answered for it, or its signed
 * URL still throttled, failing or missing after the retries. A refused token or role, a storage or pod
 * out of reach or on a refused address would fail every file the same way: those stop the run.
 */
function ofThisFile(error: unknown): error is SymphonyError {
  if (!(error instanceof SymphonyError)) return false;
  if (error.endpoint === DOWNLOAD_ENDPOINT) {
    return !["unauthorized", "blocked_host", "insecure_url", "redirect"].includes(error.code);
  }
  return ["rate_limited", "server_error", "not_found", "timeout", "invalid_response", "unexpected_status"].includes(
    error.code,
  );
}

/**
 * How long after its upload a listed file may lack its size or integrity hash while it is taken as still
 * being written. The Files API spec requires only a file's id, name and type: a file uploaded longer ago
 * is read without them (the ledger says no published hash verified it), because waiting for what never
 * comes would archive nothing, silently. Its zip's CRC-32s and central directory, or its PGP integrity
 * packet, still fail a file that is not whole, and a later run tries it again.
 */
export const HASH_WAIT_MS = 2 * 60 * 60_000;

/**
 * A file still being written has no final size or hash yet, and was uploaded moments ago. One that
 * says nothing of when counts from when a listing first showed it (`firstListed`; never shown before,
 * it counts from now). A time without a zone is read as UTC: west of UTC a file looks older than it
 * is, and one read too early fails whole (its zip or PGP checks), to be tried again next run.
 */
function isBeingWritten(file: FileMetadata, firstListed?: Date): boolean {
  if (file.size !== null && file.integrityHash !== null) return false;
  const since = file.uploadTime ?? firstListed;
  return since === undefined || Date.now() - since.getTime() < HASH_WAIT_MS;
}

function toRemoteFile(file: FileMetadata, md5: string | null, problem?: string): RemoteExportFile {
  const meta = file.typeSpecificMetadata;
  const hints = hintsFromName(file.name);
  const format = meta?.fileFormat?.toUpperCase() ?? null;
  const encryptionKeyId = file.encryption?.encryptionKeyId ?? null;
  return {
    sourceId: file.id,
    name: file.name,
    size: file.size,
    integrityHash: file.integrityHash,
    md5,
    uploadTime: file.uploadTime,
    format: format && FORMATS.includes(format) ? (format as ListedFormat) : null,
    jobType: meta?.jobType ?? hints.jobType,
    periodStart: meta?.startTime ?? hints.periodStart,
    periodEnd: meta?.endTime ?? hints.periodEnd,
    generatedAt: meta?.generationDate ?? hints.generatedAt,
    encryptionKeyId,
    encrypted:
      Boolean(encryptionKeyId || file.encryption?.alg) ||
      file.contentType?.toLowerCase() === "application/pgp-encrypted" ||
      looksEncrypted(file.name),
    ...(problem && { problem }),
  };
}

function missingReaderRole(error: SymphonyError): SymphonyError {
  return new SymphonyError({
    code: "forbidden",
    endpoint: TOKEN_ENDPOINT,
    status: 403,
    message:
      "HTTP 403, the service account lacks the Content Export Reader role " +
      "(assign it to the service account in the Symphony Admin Portal)",
    serverMessage: error.serverMessage,
    cause: error,
  });
}

function listingError(message: string): SymphonyError {
  return new SymphonyError({ code: "invalid_response", endpoint: LIST_ENDPOINT, message });
}

/**
 * One token shared by concurrent calls, fetched again shortly before it expires or when dropped after
 * a 401. A failed fetch is not cached.
 */
function cachedAccessToken(fetchToken: () => Promise<AccessToken>) {
  let current: { promise: Promise<AccessToken>; value?: AccessToken } | undefined;
  return {
    async get(): Promise<string> {
      if (current?.value && current.value.refreshAt <= Date.now()) current = undefined;
      if (!current) {
        const entry: { promise: Promise<AccessToken>; value?: AccessToken } = { promise: fetchToken() };
        entry.promise.then(
          (value) => (entry.value = value),
          () => current === entry && (current = undefined),
        );
        current = entry;
      }
      return (await current.promise).token;
    },
    drop(token: string) {
      if (current?.value?.token === token) current = undefined;
    },
  };
}

/** The response body as a Node stream whose failures name the download, never the signed URL. */
function nodeStream(body: WebReadableStream<Uint8Array>, signal?: AbortSignal): Readable {
  return withStreamErrors(Readable.fromWeb(body), (error) =>
    signal?.aborted
      ? signal.reason
      : new SymphonyError({
          code: "network",
          endpoint: DOWNLOAD_ENDPOINT,
          message: "download interrupted",
          cause: error,
        }),
  );
}

/** `source`'s bytes, ending on `map(error)` where `source` ends on an error. */
function withStreamErrors(source: Readable, map: (error: unknown) => unknown): Readable {
  const out = new PassThrough();
  source.on("error", (error) => out.destroy(map(error) as Error));
  out.on("close", () => source.destroy());
  return source.pipe(out);
}

async function readText(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length >= maxBytes) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, maxBytes).toString("utf8");
}
