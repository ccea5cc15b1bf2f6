import type { Connector } from "@/lib/generated/prisma/client";

export type SavedSourceFields = Pick<
  Connector,
  | "sourceKind"
  | "exportDelivery"
  | "podUrl"
  | "agentUrl"
  | "keyManagerUrl"
  | "botUsername"
  | "streamTypes"
  | "sftpHost"
  | "sftpPort"
  | "sftpUsername"
  | "sftpFolder"
  | "startDate"
  | "realtime"
>;

/** A connector's saved source as the Source step's values (secrets are never among them). */
export function savedSourceValues(c: SavedSourceFields) {
  return {
    sourceKind: c.sourceKind as string,
    exportDelivery: c.exportDelivery as string,
    podUrl: c.podUrl ?? "",
    agentUrl: c.agentUrl ?? "",
    keyManagerUrl: c.keyManagerUrl ?? "",
    botUsername: c.botUsername ?? "",
    streamTypes: c.streamTypes,
    sftpHost: c.sftpHost ?? "",
    sftpPort: String(c.sftpPort),
    sftpUsername: c.sftpUsername ?? "",
    sftpAuth: "KEY",
    sftpFolder: c.sftpFolder ?? "",
    startDate: c.startDate ? c.startDate.toISOString().slice(0, 10) : "",
    realtime: c.realtime,
  };
}
