import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { acceptTerms, saveName } from "./wizard";

const canRun = Boolean(process.env.DATABASE_URL);
if (!canRun) console.warn("lib/connectors wizard tests skipped: needs vitest's globalSetup (DATABASE_URL)");

describe.skipIf(!canRun)("saveName", () => {
  const created: string[] = [];
  const draft = async () => {
    const result = await acceptTerms(undefined, "test@bank.example");
    if (!result.ok) throw new Error("draft not created");
    created.push(result.connectorId);
    return result.connectorId;
  };
  afterAll(async () => {
    await db.connector.deleteMany({ where: { id: { in: created } } });
  });

  it("refuses a name that differs only in case", async () => {
    const [a, b] = [await draft(), await draft()];
    const name = `Rates desk ${Date.now()}`;
    expect(await saveName(a, name, "test")).toEqual({ ok: true, connectorId: a });
    expect(await saveName(b, ` ${name.toUpperCase()} `, "test")).toMatchObject({
      ok: false,
      errors: { name: expect.stringContaining("already exists") as unknown },
    });
    // Renaming a connector to its own name in another case is not a clash.
    expect(await saveName(a, name.toLowerCase(), "test")).toEqual({ ok: true, connectorId: a });
  });

  it("lets exactly one of several admins win the same name typed in different cases at the same time", async () => {
    for (let round = 0; round < 8; round++) {
      const ids = await Promise.all(Array.from({ length: 4 }, draft));
      const name = `Fx desk ${Date.now()} ${round}`;
      const spellings = [name, name.toUpperCase(), name.toLowerCase(), name.replace("Fx", "FX")];
      const results = await Promise.all(ids.map((id, i) => saveName(id, spellings[i], "test")));
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(await db.connector.count({ where: { name: { equals: name, mode: "insensitive" } } })).toBe(1);
    }
  });
});
