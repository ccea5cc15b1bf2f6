import { describe, expect, it } from "vitest";
import {
  appliedEdit,
  asEdited,
  hasPendingEdit,
  pendingEditOf,
  withPendingMapping,
  withPendingSource,
} from "./pending-edit";

/** The settings in use of an active connector, as its row holds them. */
const inUse = {
  status: "ACTIVE",
  botUsername: "archive-bot",
  privateKeyEncrypted: "v2:key-in-use",
  streamTypes: ["IM", "MIM", "ROOM", "POST"],
  startDate: null as Date | null,
  mappingMode: "AUTO",
  fallbackMailbox: null as string | null,
  pendingEdit: null as unknown,
};

describe("an active connector's edit not yet applied", () => {
  it("keeps the key an earlier save of the same edit replaced when a later save leaves the field empty", () => {
    const first = { ...inUse, pendingEdit: withPendingSource(inUse, { privateKeyEncrypted: "v2:new-key" }) };
    const second = { ...inUse, pendingEdit: withPendingSource(first, { botUsername: "other-bot" }) };
    expect(asEdited(second)).toMatchObject({ privateKeyEncrypted: "v2:new-key", botUsername: "other-bot" });
    expect(inUse.privateKeyEncrypted).toBe("v2:key-in-use");
  });

  it("leaves nothing pending when a step is saved with the settings in use", () => {
    const source = {
      ...inUse,
      pendingEdit: withPendingSource(inUse, {
        botUsername: "archive-bot",
        startDate: null,
        streamTypes: [...inUse.streamTypes],
      }),
    };
    expect(hasPendingEdit(source)).toBe(false);
    const mapping = {
      ...inUse,
      pendingEdit: withPendingMapping(inUse, { mappingMode: "AUTO", fallbackMailbox: null, csvReplaced: false }),
    };
    expect(hasPendingEdit(mapping)).toBe(false);
    // Changed, then changed back in the same edit: nothing left to apply either.
    const changed = { ...inUse, pendingEdit: withPendingSource(inUse, { botUsername: "other-bot" }) };
    expect(hasPendingEdit({ ...inUse, pendingEdit: withPendingSource(changed, { botUsername: "archive-bot" }) })).toBe(
      false,
    );
  });

  it("reads back a start date as a date, and shows only the fields a narrow read asked for", () => {
    const pendingEdit = withPendingSource(inUse, {
      startDate: new Date("2026-01-05T00:00:00Z"),
      podUrl: "https://pod.example",
    });
    const narrow = { startDate: null as Date | null, pendingEdit };
    expect(asEdited(narrow)).toEqual({ startDate: new Date("2026-01-05T00:00:00Z"), pendingEdit });
  });

  it("applies the source and the mapping together, and says which steps it changed", () => {
    const withSource = { ...inUse, pendingEdit: withPendingSource(inUse, { botUsername: "b" }) };
    const edit = pendingEditOf({
      pendingEdit: withPendingMapping(withSource, { mappingMode: "CSV", fallbackMailbox: null, csvReplaced: true }),
    });
    const { data, steps } = appliedEdit(edit);
    expect(steps).toEqual(["source", "mapping"]);
    expect(data).toMatchObject({ botUsername: "b", mappingMode: "CSV", fallbackMailbox: null });
    expect(appliedEdit({}).steps).toEqual([]);
  });

  it("refuses a field the Source step never writes, instead of applying it to the connector", () => {
    expect(() => withPendingSource(inUse, { status: "PAUSED" })).toThrow();
  });
});
