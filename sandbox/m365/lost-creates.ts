import { createHash } from "node:crypto";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError } from "./graph-types";
import { createMessage } from "./graph-messages";
import type { Folder, User } from "./state";

/**
 * A message create, with the fault of a create that timed out at the gateway but landed: Graph may
 * answer 504 while Exchange goes on and creates the item (microsoftgraph/microsoft-graph-docs#133; Graph
 * error responses: "504 Gateway Timeout"). The item is not visible at first, so a lookup right after the
 * 504 misses it; it lands just before the same create is handled again, or after lostCreateLandsAfterMs.
 */
export function createMessageWithFaults(call: GraphCall, req: GraphRequest, user: User, folder: Folder): GraphResponse {
  const { state } = call.ctx;
  // Without the fault, a create is only a create (no fingerprint to hash).
  if (state.faults.lostCreateShare === 0 && !state.anyLost()) return createMessage(call, req, user, folder);
  const fingerprint = `${user.id}|${createHash("sha256").update(req.body).digest("hex")}`;
  state.landLateMessages(fingerprint);
  const lose =
    state.faults.lostCreateShare > 0 && !state.lostBefore(fingerprint) && Math.random() < state.faults.lostCreateShare;
  const response = createMessage(call, req, user, folder);
  if (!lose || response.status !== 201) return response;
  state.holdLateMessage(fingerprint, (response.body as { id: string }).id);
  // The body Graph's gateway sends with a 504: the UnknownError code and an empty message.
  return graphError(504, "UnknownError", "", call);
}
