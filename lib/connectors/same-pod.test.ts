import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { samePodWarning } from "./same-pod";

const canRun = Boolean(process.env.DATABASE_URL);

describe.skipIf(!canRun)("the warning about two connectors on one pod", () => {
  const created: string[] = [];
  const pod = `https://pod-${randomUUID().slice(0, 8)}.symphony.example`;
  const connector = async (name: string, data: Record<string, unknown>) => {
    const row = await db.connector.create({
      data: { name: `${name} ${randomUUID().slice(0, 6)}`, createdBy: "test", ...data },
    });
    created.push(row.id);
    return row;
  };
  afterAll(() => db.connector.deleteMany({ where: { id: { in: created } } }));

  it("names the active connector that already reads the pod, whatever the path or case of its URL", async () => {
    const rates = await connector("Rates desk", {
      status: "ACTIVE",
      sourceKind: "CONVERSATIONS",
      podUrl: `${pod}/pod`,
    });
    await connector("Abandoned draft", { status: "DRAFT", sourceKind: "CONVERSATIONS", podUrl: pod });
    const fx = await connector("Fx desk", {
      status: "DRAFT",
      sourceKind: "CONTENT_EXPORT",
      exportDelivery: "FILES_API",
      podUrl: pod.toUpperCase(),
    });

    const warning = await samePodWarning(fx);
    expect(warning).toContain(`Another connector, "${rates.name}", already reads this Symphony pod.`);
    expect(warning).toContain("imported twice into the same mailboxes");
    expect(warning).not.toContain("Abandoned draft");
  });

  it("says nothing for a pod or an SFTP folder no other connector reads", async () => {
    const sftp = {
      sourceKind: "CONTENT_EXPORT",
      exportDelivery: "SFTP",
      sftpHost: `sftp-${randomUUID().slice(0, 8)}.example`,
    };
    await connector("Exports", { status: "ACTIVE", ...sftp, sftpFolder: "/exports" });
    const other = await connector("Other folder", { status: "DRAFT", ...sftp, sftpFolder: "/archive" });
    const lone = await connector("Lone pod", {
      status: "DRAFT",
      sourceKind: "CONVERSATIONS",
      podUrl: "https://lone.symphony.example",
    });
    expect(await samePodWarning(other)).toBeUndefined();
    expect(await samePodWarning(lone)).toBeUndefined();
    const same = await connector("Same folder", { status: "DRAFT", ...sftp, sftpFolder: "/exports/" });
    expect(await samePodWarning(same)).toMatch(/already reads this SFTP folder/);
  });
});
