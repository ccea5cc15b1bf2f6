import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { ledgerMessage } from "@/lib/testing";
import { blobsStillNeeded } from "./ledger";

describe("staged blobs retention must keep", () => {
  const name = `retention-${Date.now()}`;
  afterAll(() => db.connector.deleteMany({ where: { name } }));

  it("are those of messages with an item still PENDING", async () => {
    const connector = await db.connector.create({ data: { name, createdBy: "test" } });
    const message = (messageId: string, status: "PENDING" | "IMPORTED" | "SKIPPED" | "FAILED") =>
      ledgerMessage(connector.id, { messageId, blobName: `${name}/${messageId}.eml`, status });
    await message("waiting", "PENDING");
    await message("done", "IMPORTED");
    await message("skipped", "SKIPPED");
    const names = ["waiting", "done", "skipped", "unknown"].map((id) => `${name}/${id}.eml`);
    expect(await blobsStillNeeded(names)).toEqual(new Set([`${name}/waiting.eml`]));
  });
});
