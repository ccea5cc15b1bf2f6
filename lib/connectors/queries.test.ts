import { afterAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { CONNECTORS_PER_PAGE, listConnectorPage } from "./queries";

describe("the dashboard's list of connectors", () => {
  const prefix = `page-test-${Date.now()}`;
  afterAll(() => db.connector.deleteMany({ where: { name: { startsWith: prefix } } }));

  it("comes a page at a time in name order, with the total, and a page past the end shows the last", async () => {
    const count = CONNECTORS_PER_PAGE + 7;
    await db.connector.createMany({
      data: Array.from({ length: count }, (_, i) => ({
        name: `${prefix}-${String(count - i).padStart(3, "0")}`,
        createdBy: "test",
        status: i % 2 === 0 ? ("DRAFT" as const) : ("PAUSED" as const),
      })),
    });
    const names = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => `${prefix}-${String(from + i).padStart(3, "0")}`);

    const first = await listConnectorPage({ search: prefix }, 1);
    expect(first).toMatchObject({ total: count, page: 1, pageCount: 2 });
    expect(first.rows.map((row) => row.name)).toEqual(names(1, CONNECTORS_PER_PAGE));
    const last = await listConnectorPage({ search: prefix }, 9);
    expect(last).toMatchObject({ total: count, page: 2, pageCount: 2 });
    expect(last.rows.map((row) => row.name)).toEqual(names(CONNECTORS_PER_PAGE + 1, count));

    // A state filter counts only the connectors in that state.
    const drafts = await listConnectorPage({ search: prefix, state: "DRAFT" }, 1);
    expect(drafts.total).toBe(Math.ceil(count / 2));
    expect(drafts.rows.every((row) => row.state === "DRAFT")).toBe(true);
  });
});
