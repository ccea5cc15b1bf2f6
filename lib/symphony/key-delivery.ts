import { createSymphonyClient, type SymphonyClientOptions } from "./client";
import { SymphonyError } from "./errors";
import type { SymphonySettingsInput } from "./settings";

/**
 * Why the connector needs a key manager it was not given, in words for an admin: signs in to the pod
 * and, when the session allows simplified key delivery, reads the agent's version. Undefined when no
 * key manager is needed, or when something else failed (Test connection reports that). Never throws.
 */
export async function keyManagerNeeded(
  input: SymphonySettingsInput,
  options: SymphonyClientOptions = { retry: { maxAttempts: 2 }, requestTimeoutMs: 15_000 },
): Promise<string | undefined> {
  try {
    await createSymphonyClient(input, options).authenticate();
  } catch (error) {
    if (error instanceof SymphonyError && error.code === "key_manager_required") {
      return error.message.replace(`${error.endpoint}: `, "");
    }
  }
  return undefined;
}
