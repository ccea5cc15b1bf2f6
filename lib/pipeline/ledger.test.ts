import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { blobsStillNeeded } from "./ledger";

describe("staged blobs retention must keep", () => {
  const name = `retention-${Date.now()}`;
  afterAll(() => db.connector.deleteMany({ where: { name } }));

  it("are those of messages with an item still PENDING", async () => {
    const connector = await db.connector.create({ data: { name, createdBy: "test" } });
    const message = (messageId: string, status: "PENDING" | "IMPORTED" | "SKIPPED" | "FAILED") =>
      db.sourceMessage.create({
        data: {
          connectorId: connector.id,
          messageId,
          streamId: "s",
          streamType: "IM",
          sentAt: new Date(),
          senderUserId: "1",
          participants: [],
          blobName: `${name}/${messageId}.eml`,
          sizeBytes: 10,
          items: { create: [{ connectorId: connector.id, mailbox: "a@bank.example", status }] },
        },
      });
    await message("waiting", "PENDING");
    await message("done", "IMPORTED");
    await message("skipped", "SKIPPED");
    const names = ["waiting", "done", "skipped", "unknown"].map((id) => `${name}/${id}.eml`);
    expect(await blobsStillNeeded(names)).toEqual(new Set([`${name}/waiting.eml`]));
  });
});
