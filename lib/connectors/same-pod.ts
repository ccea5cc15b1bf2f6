// Two connectors reading the same Symphony pod import the same conversations into the same mailboxes,
// each with its own ledger: every item twice. The wizard warns before that happens.
import { db } from "@/lib/db";

type SourceOf = {
  id: string;
  sourceKind: string;
  exportDelivery: string | null;
  podUrl: string | null;
  sftpHost: string | null;
  sftpFolder: string | null;
};

/** What a connector reads, as one comparable string: the pod's host, or the SFTP server and folder. */
function sourceIdentity(connector: Omit<SourceOf, "id">): string | undefined {
  if (connector.sourceKind === "CONTENT_EXPORT" && connector.exportDelivery === "SFTP") {
    if (!connector.sftpHost) return undefined;
    return `sftp:${connector.sftpHost.toLowerCase()}:${(connector.sftpFolder ?? "").replace(/\/+$/, "")}`;
  }
  if (!connector.podUrl) return undefined;
  try {
    return `pod:${new URL(connector.podUrl).host.toLowerCase()}`;
  } catch {
    return undefined;
  }
}

/** A warning naming the other connectors that read the same pod or SFTP folder, or undefined. */
export async function samePodWarning(connector: SourceOf): Promise<string | undefined> {
  const identity = sourceIdentity(connector);
  if (!identity) return undefined;
  const others = await db.connector.findMany({
    where: { id: { not: connector.id }, status: { not: "DRAFT" } },
    select: { name: true, sourceKind: true, exportDelivery: true, podUrl: true, sftpHost: true, sftpFolder: true },
    orderBy: { name: "asc" },
  });
  const clashing = others.filter((other) => sourceIdentity(other) === identity).map((other) => `"${other.name}"`);
  if (clashing.length === 0) return undefined;
  const where = identity.startsWith("sftp:") ? "this SFTP folder" : "this Symphony pod";
  return (
    `${clashing.length === 1 ? "Another connector" : "Other connectors"}, ${clashing.join(", ")}, already read${clashing.length === 1 ? "s" : ""} ${where}. ` +
    "Each connector keeps its own record of what it imported, so conversations both read would be imported twice into the same mailboxes. " +
    "Use one connector per pod, or make sure their sources do not overlap."
  );
}
