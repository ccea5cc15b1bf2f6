import { sendOk, type GraphContext } from "./context";
import { createGraphTransport } from "./graph";
import { createScheduler } from "./scheduler";
import { parseM365Settings, type M365SettingsInput } from "./settings";
import { createTokenProvider } from "./token";

/**
 * Proves that the app may work in the tenant: an app-only token from Entra ID and one directory read
 * through Graph (what admin consent grants). Throws M365AuthError or GraphRequestError otherwise.
 */
export async function verifyTenantAccess(settings: M365SettingsInput): Promise<void> {
  const parsed = parseM365Settings(settings);
  const ctx: GraphContext = {
    graph: createGraphTransport(parsed, createTokenProvider(parsed)),
    scheduler: createScheduler({ maxAttempts: 2 }),
  };
  await sendOk(ctx, "directory", { method: "GET", path: "/users?$top=1&$select=id" });
}
