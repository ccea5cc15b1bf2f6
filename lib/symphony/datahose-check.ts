import { createSymphonyClient, type SymphonyClientOptions } from "./client";
import { SymphonyError } from "./errors";
import type { SymphonySettingsInput } from "./settings";

/** How long Test connection waits on the Datahose: a refusal (403) is immediate, a read otherwise long-polls. */
const ENTITLEMENT_WAIT_MS = 4_000;

/**
 * Whether the pod serves the Datahose to this service account: one read of the connector's own feed
 * (its tag and event types, so no other feed is made; nothing is acknowledged, so whatever it brings is delivered again to the capture). A pod
 * without the add-on answers 403 at once; one with it answers events or keeps the read open.
 */
export async function checkDatahose(
  settings: SymphonySettingsInput,
  feed: { tag: string; eventTypes: string[] },
  options: SymphonyClientOptions = { retry: { maxAttempts: 2 }, requestTimeoutMs: 15_000 },
): Promise<"entitled" | "not_entitled"> {
  const client = createSymphonyClient(settings, options);
  await client.authenticate();
  try {
    await client.readDatahose({ ...feed, ackId: "" }, AbortSignal.timeout(ENTITLEMENT_WAIT_MS));
    return "entitled";
  } catch (error) {
    if (error instanceof SymphonyError && error.code === "forbidden") return "not_entitled";
    if (error instanceof Error && error.name === "TimeoutError") return "entitled"; // a long poll: served
    throw error;
  }
}
