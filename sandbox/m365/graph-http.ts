import fs from "node:fs";
import type { ServerResponse } from "node:http";
import type { GraphResponse } from "./graph-types";

const JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/** Writes a Graph response with Graph's diagnostic headers; file bodies stream from disk. */
export function writeGraphResponse(
  res: ServerResponse,
  response: GraphResponse,
  ids: { requestId: string; clientRequestId: string },
): void {
  const headers: Record<string, string> = {
    "request-id": ids.requestId,
    "client-request-id": ids.clientRequestId,
    "x-ms-ags-diagnostic": JSON.stringify({
      ServerInfo: { DataCenter: "Sandbox", Slice: "E", Ring: "0", ScaleUnit: "000", RoleInstance: "SANDBOX" },
    }),
    "Cache-Control": "no-store",
    ...response.headers,
  };
  if (response.file) {
    res.writeHead(response.status, {
      ...headers,
      "Content-Type": response.file.contentType,
      "Content-Length": String(response.file.size),
    });
    fs.createReadStream(response.file.path).pipe(res);
    return;
  }
  if (response.body === undefined) {
    res.writeHead(response.status, { ...headers, "Content-Length": "0" });
    res.end();
    return;
  }
  const text = JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...headers,
    "Content-Type": JSON_TYPE,
    "Content-Length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}
