import { z } from "zod";
import type { GraphCall, GraphRequest, GraphResponse } from "./graph-types";
import { graphError, ok } from "./graph-types";
import { graphBase } from "./graph-users";
import { nextLink, paginate, parseEquality, parseSelect, applySelect } from "./odata";
import { newId, type Folder, type User } from "./state";
import { parseJsonBody } from "./graph-json";

export function serializeFolder(call: GraphCall, folder: Folder): Record<string, unknown> {
  const { state } = call.ctx;
  const items = state.folderMessages(folder.id);
  return {
    id: folder.id,
    displayName: folder.displayName,
    parentFolderId: folder.parentFolderId,
    childFolderCount: state.childFolders(folder.id).length,
    unreadItemCount: items.filter((m) => !m.isRead).length,
    totalItemCount: items.length,
    sizeInBytes: items.reduce((sum, m) => sum + m.sizeInBytes, 0),
    isHidden: false,
  };
}

export function folderNotFound(call: GraphCall): GraphResponse {
  return graphError(404, "ErrorItemNotFound", "The specified object was not found in the store.", call);
}

export function getFolder(call: GraphCall, req: GraphRequest, folder: Folder): GraphResponse {
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#mailFolders/$entity`,
    ...applySelect(serializeFolder(call, folder), parseSelect(req.query)),
  });
}

/** GET .../mailFolders (top level, parent = root) or .../mailFolders/{id}/childFolders. */
export function listFolders(call: GraphCall, req: GraphRequest, user: User, parent: Folder | null): GraphResponse {
  const { state } = call.ctx;
  let folders = parent
    ? state.childFolders(parent.id)
    : [...state.folders.values()].filter((f) => f.userId === user.id && f.wellKnownName);
  const filter = req.query.get("$filter");
  if (filter) {
    const equality = parseEquality(filter);
    if (!equality || equality.property.toLowerCase() !== "displayname") {
      return graphError(
        400,
        "ErrorInvalidUrlQueryFilter",
        `The query filter '${filter}' is not supported by the sandbox.`,
        call,
      );
    }
    folders = folders.filter((f) => f.displayName.toLowerCase() === equality.value.toLowerCase());
  }
  const page = paginate(folders, req.query, 10, 1000);
  if ("error" in page) return graphError(400, "BadRequest", page.error, call);
  const select = parseSelect(req.query);
  return ok({
    "@odata.context": `${graphBase(call)}/$metadata#users('${user.id}')/mailFolders`,
    value: page.items.map((f) => applySelect(serializeFolder(call, f), select)),
    ...(page.nextSkip !== null
      ? { "@odata.nextLink": nextLink(graphBase(call), req.path, req.query, page.nextSkip) }
      : {}),
  });
}

const createFolderSchema = z.object({
  displayName: z.string().trim().min(1).max(255),
  isHidden: z.boolean().optional(),
});

export function createFolder(call: GraphCall, req: GraphRequest, user: User, parent: Folder | null): GraphResponse {
  const parsed = parseJsonBody(call, req, createFolderSchema);
  if (!parsed.ok) return parsed.response;
  const { state } = call.ctx;
  const parentId = parent?.id ?? [...state.folders.values()].find((f) => f.userId === user.id)!.parentFolderId;
  const siblings = [...state.folders.values()].filter((f) => f.parentFolderId === parentId);
  if (siblings.some((f) => f.displayName.toLowerCase() === parsed.value.displayName.toLowerCase())) {
    return graphError(409, "ErrorFolderExists", "A folder with the specified name already exists.", call);
  }
  const folder: Folder = {
    id: newId(),
    userId: user.id,
    displayName: parsed.value.displayName,
    parentFolderId: parentId,
  };
  state.folders.set(folder.id, folder);
  return ok(
    {
      "@odata.context": `${graphBase(call)}/$metadata#users('${user.id}')/mailFolders/$entity`,
      ...serializeFolder(call, folder),
    },
    201,
  );
}
