import type { ConnectorSettings } from "@/lib/connectors";

const day = (date: Date | null) => (date ? date.toISOString().slice(0, 10) : "The whole history");

/** The source settings as an admin reads them (never a secret, only whether it is on file). */
export function sourceRows(c: ConnectorSettings, streams: string): Array<[string, string]> {
  if (c.sourceKind === "CONVERSATIONS" || c.sourceKind === "DATAHOSE") {
    return [
      [
        "Source",
        c.sourceKind === "DATAHOSE"
          ? "Real time (Datahose): every conversation of the pod"
          : "Conversations of the service account",
      ],
      ["Pod URL", c.podUrl ?? "—"],
      ["Agent URL", c.agentUrl ?? "—"],
      ["Key manager URL", c.keyManagerUrl ?? "None (simplified key delivery)"],
      ["Service account", c.botUsername ?? "—"],
      ["Private key", c.hasPrivateKey ? "Key on file (encrypted)" : "Missing"],
      ["Collects", streams || "—"],
      ["From", day(c.startDate)],
    ];
  }
  const delivery: Array<[string, string]> =
    c.exportDelivery === "SFTP"
      ? [
          ["Delivery", "SFTP"],
          ["SFTP server", c.sftpHost ? `${c.sftpUsername ?? "?"}@${c.sftpHost}:${c.sftpPort}` : "—"],
          ["Folder", c.sftpFolder ?? "—"],
          ["SFTP credential", c.hasSftpCredential ? "On file (encrypted)" : "Missing"],
          [
            "Host key",
            c.sftpHostKeySha256
              ? `${c.sftpHostKeySha256} (confirmed by ${c.sftpHostKeyConfirmedBy ?? "?"})`
              : "Not confirmed",
          ],
        ]
      : [
          ["Delivery", "File Management API"],
          ["Pod URL", c.podUrl ?? "—"],
          ["Service account", c.botUsername ?? "—"],
          ["Private key", c.hasPrivateKey ? "Key on file (encrypted)" : "Missing"],
        ];
  return [
    ["Source", "Content Export (every conversation of the firm)"],
    ...delivery,
    [
      "PGP decryption key",
      c.hasPgpKey
        ? `On file (key ids ${c.pgpKeyIds.map((id) => id.toUpperCase()).join(", ") || "?"})`
        : "None (files must not be encrypted)",
    ],
    ["From", day(c.startDate)],
  ];
}
