import path from "node:path";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "@/lib/migrations";
import { createDatabase, runSql } from "./databases";
import { schemaDifferences, type Datamodel } from "./schema-drift";

const root = path.resolve(import.meta.dirname, "../..");
const datamodel = JSON.parse(readFileSync(path.join(root, "lib/generated/dmmf.json"), "utf8")) as Datamodel;

describe("migrations against the Prisma model", () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;

  beforeAll(async () => {
    database = await createDatabase("drift");
    await migrate({ databaseUrl: database.url, dir: path.join(root, "prisma/migrations") });
  });
  afterAll(() => database?.drop());

  it("produce exactly the tables, columns, types, nullability, enums and keys of schema.prisma", async () => {
    expect(await schemaDifferences(datamodel, database.url)).toEqual([]);
  });

  it("reports a field added to the model without a migration", async () => {
    const changed = structuredClone(datamodel);
    changed.models
      .find((m) => m.name === "Connector")!
      .fields.push({ name: "notes", kind: "scalar", type: "String", isList: false, isRequired: false });
    expect(await schemaDifferences(changed, database.url)).toEqual(["column Connector.notes is missing"]);
  });

  it("reports a type, nullability or unique key that differs", async () => {
    const changed = structuredClone(datamodel);
    const item = changed.models.find((m) => m.name === "ImportItem")!;
    item.fields.find((f) => f.name === "attempts")!.type = "BigInt";
    item.fields.find((f) => f.name === "reason")!.isRequired = true;
    changed.indexes = changed.indexes.filter((i) => !(i.model === "ImportItem" && i.type === "unique"));
    const differences = await schemaDifferences(changed, database.url);
    expect(differences).toHaveLength(3);
    expect(differences).toEqual(
      expect.arrayContaining([
        "column ImportItem.attempts has type int4, model says int8",
        "column ImportItem.reason is nullable, model says required",
        "unique ImportItem(connectorId, sourceMessageId, mailbox) is not in the model",
      ]),
    );
  });

  it("reports a hand-managed index that is missing or differs", async () => {
    const other = await createDatabase("drift_index");
    try {
      await migrate({ databaseUrl: other.url, dir: path.join(root, "prisma/migrations") });
      await runSql(
        other.url,
        `DROP INDEX "ImportItem_pending_idx"; CREATE INDEX "ImportItem_pending_idx" ON "ImportItem"("connectorId")`,
      );
      await runSql(other.url, `DROP INDEX "Connector_name_lower_key"`);
      const differences = await schemaDifferences(datamodel, other.url);
      expect(differences).toHaveLength(2);
      expect(differences).toContain("hand-managed index Connector_name_lower_key is missing");
      expect(differences.find((d) => d.startsWith("hand-managed index ImportItem_pending_idx is"))).toBeDefined();
    } finally {
      await other.drop();
    }
  });

  it("reports a column that exists only in the database", async () => {
    const other = await createDatabase("drift_extra");
    try {
      await migrate({ databaseUrl: other.url, dir: path.join(root, "prisma/migrations") });
      await runSql(other.url, `ALTER TABLE "AuditEvent" ADD COLUMN "ip" TEXT`);
      expect(await schemaDifferences(datamodel, other.url)).toEqual(["column AuditEvent.ip is not in the model"]);
    } finally {
      await other.drop();
    }
  });
});
