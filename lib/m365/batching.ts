import { groupWithin } from "@/lib/async";
import {
  batchAnswers,
  isSuccess,
  staleTokenMayExplain,
  type GraphRequest,
  type GraphResponse,
  type GraphTransport,
} from "./graph";
import { BodyParts } from "./body-parts";

/** Graph's limit on the requests of one $batch. */
export const BATCH_MAX_REQUESTS = 20;

export type BatchingOptions = {
  /** Requests sent together at most (Graph allows 20 per $batch). */
  maxRequests: number;
  /** Body bytes of one $batch at most: Graph refuses requests over 4 MB. */
  maxBytes: number;
  /** How long the first request of a batch waits for others to join it. */
  windowMs: number;
};

export const defaultBatchingOptions: BatchingOptions = {
  maxRequests: BATCH_MAX_REQUESTS,
  maxBytes: 3_000_000,
  windowMs: 5,
};

type Waiting = {
  request: GraphRequest & { body: Buffer | BodyParts };
  resolve: (response: GraphResponse) => void;
  reject: (error: unknown) => void;
};

const JSON_HEADERS = { "Content-Type": "application/json" };

/**
 * Sends the requests marked `batchable` (POSTs whose JSON body is already bytes: message creates)
 * together in one $batch when several are ready within `windowMs`, to any mailboxes of the tenant.
 * Each caller still gets its own answer: its sub-request's status, headers and body, which the
 * scheduler throttles, retries and counts as if it had gone alone (Graph throttles each sub-request
 * on its own, a 429 inside carrying its own Retry-After). An answer to the whole batch (a 401, a
 * 5xx, a lost connection) is every caller's answer; a retried create first looks itself up by key,
 * as after any lost answer. What this saves is one HTTP exchange per message: TLS, headers, the
 * SDK's middleware and the service's authentication, for up to 20 messages at once.
 */
export function batchingTransport(send: GraphTransport, options: Partial<BatchingOptions> = {}): GraphTransport {
  const { maxRequests, maxBytes, windowMs } = { ...defaultBatchingOptions, ...options };
  const batches = groupWithin<Waiting>(
    { maxItems: maxRequests, maxWeight: maxBytes, maxDelayMs: windowMs },
    (batch) => {
      if (batch.length > 1) return sendBatch(send, batch);
      const [only] = batch as [Waiting];
      send(only.request).then(only.resolve, only.reject);
    },
  );

  return (request) => {
    const body = request.body;
    if (!request.batchable || !(Buffer.isBuffer(body) || body instanceof BodyParts) || body.length > maxBytes / 2)
      return send(request);
    return new Promise<GraphResponse>((resolve, reject) =>
      batches.add({ request: { ...request, body }, resolve, reject }, body.length),
    );
  };
}

function sendBatch(send: GraphTransport, batch: Waiting[]): void {
  // The bodies are spliced in as they are (JSON already, never parsed again here) and sent as parts.
  const parts: Array<Buffer | BodyParts> = [];
  batch.forEach(({ request }, index) => {
    const head = { id: String(index + 1), method: request.method, url: request.path, headers: JSON_HEADERS };
    const before = index === 0 ? '{"requests":[' : "},";
    parts.push(Buffer.from(`${before}${JSON.stringify(head).slice(0, -1)},"body":`), request.body);
  });
  parts.push(Buffer.from("}]}"));
  send({ method: "POST", path: "/$batch", headers: JSON_HEADERS, body: new BodyParts(parts) })
    .then((response) => {
      // The batch as a whole answered 507: a quota of one mailbox is not every request's answer; each goes alone.
      if (response.status === 507) {
        for (const entry of batch) send(entry.request).then(entry.resolve, entry.reject);
        return;
      }
      if (!isSuccess(response.status)) {
        // The batch as a whole was refused or failed: that is each request's answer.
        for (const entry of batch) entry.resolve(response);
        return;
      }
      const answers = batchAnswers(response);
      if (!answers) {
        // Nothing says what became of each create: as after a lost answer, each looks itself up before trying again.
        const error = new Error(`the $batch answer (HTTP ${response.status}) held no responses`);
        for (const entry of batch) entry.reject(error);
        return;
      }
      const byId = new Map(answers.map((answer) => [answer.id, answer]));
      batch.forEach((entry, index) => {
        const answer = byId.get(String(index + 1));
        if (!answer) return entry.reject(new Error(`the $batch answer held no response for request ${index + 1}`));
        const own = { status: answer.status, headers: new Headers(answer.headers ?? {}), body: answer.body };
        // A refusal a stale token may explain goes again alone: the transport then asks for a fresh token once.
        if (staleTokenMayExplain(own)) send(entry.request).then(entry.resolve, entry.reject);
        else entry.resolve(own);
      });
    })
    // Also an answer that could not be read: a request already answered keeps its answer.
    .catch((error: unknown) => batch.forEach((entry) => entry.reject(error)));
}
