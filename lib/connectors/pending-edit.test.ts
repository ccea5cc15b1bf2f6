import { describe, expect, it } from "vitest";
import { Prisma } from "@/lib/generated/prisma/client";
import {
  appliedEdit,
  asEdited,
  hasPendingEdit,
  pendingEditOf,
  settingsFingerprint,
  withPendingMapping,
  withPendingSource,
  type PendingMapping,
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
type Row = typeof inUse;

/** The row after a save, as PostgreSQL keeps it (DbNull is a NULL). */
const stored = (row: Row, column: Prisma.InputJsonObject | typeof Prisma.DbNull): Row => ({
  ...row,
  pendingEdit: column === Prisma.DbNull ? null : column,
});
const savedSource = (row: Row, fields: Prisma.ConnectorUpdateInput) => stored(row, withPendingSource(row, fields));
const savedMapping = (row: Row, mapping: PendingMapping) => stored(row, withPendingMapping(row, mapping));

describe("an active connector's edit not yet applied", () => {
  it("keeps the key an earlier save of the same edit replaced when a later save leaves the field empty", () => {
    const first = savedSource(inUse, { privateKeyEncrypted: "v2:new-key" });
    const second = savedSource(first, { botUsername: "other-bot" });
    expect(asEdited(second)).toMatchObject({ privateKeyEncrypted: "v2:new-key", botUsername: "other-bot" });
    expect(second.privateKeyEncrypted).toBe("v2:key-in-use");
  });

  it("keeps one id from its first save on, and a new edit after it ends gets another", () => {
    const first = savedSource(inUse, { botUsername: "other-bot" });
    const id = pendingEditOf(first).id;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const second = savedMapping(first, { mappingMode: "AUTO", fallbackMailbox: "x@bank.example", csvReplaced: false });
    expect(pendingEditOf(second).id).toBe(id);
    const again = savedSource({ ...inUse, pendingEdit: null }, { botUsername: "third-bot" });
    expect(pendingEditOf(again).id).not.toBe(id);
  });

  it("names in its fingerprint what Save changes would apply: the source, the mapping and each CSV upload", () => {
    const csv = (csvUpload: string) =>
      savedMapping(inUse, { mappingMode: "CSV", fallbackMailbox: null, csvReplaced: true, csvUpload });
    const prints = [
      inUse,
      savedSource(inUse, { botUsername: "other-bot" }),
      savedMapping(inUse, { mappingMode: "AUTO", fallbackMailbox: "x@bank.example", csvReplaced: false }),
      csv("upload-1"),
      csv("upload-2"),
    ].map((row) => settingsFingerprint(row));
    expect(new Set(prints).size).toBe(prints.length);
    // The same settings read again: the same fingerprint.
    expect(settingsFingerprint({ ...inUse })).toBe(prints[0]);
  });

  it("leaves nothing pending when a step is saved with the settings in use", () => {
    const unchanged = { botUsername: "archive-bot", startDate: null, streamTypes: [...inUse.streamTypes] };
    expect(hasPendingEdit(savedSource(inUse, unchanged))).toBe(false);
    expect(
      hasPendingEdit(savedMapping(inUse, { mappingMode: "AUTO", fallbackMailbox: null, csvReplaced: false })),
    ).toBe(false);
    // Changed, then changed back in the same edit: nothing left to apply either.
    const changed = savedSource(inUse, { botUsername: "other-bot" });
    expect(hasPendingEdit(changed)).toBe(true);
    expect(hasPendingEdit(savedSource(changed, { botUsername: "archive-bot" }))).toBe(false);
  });

  it("reads back a start date as a date, and shows only the fields a narrow read asked for", () => {
    const { pendingEdit } = savedSource(inUse, {
      startDate: new Date("2026-01-05T00:00:00Z"),
      podUrl: "https://pod.example",
    });
    const narrow = { startDate: null as Date | null, pendingEdit };
    expect(asEdited(narrow)).toEqual({ startDate: new Date("2026-01-05T00:00:00Z"), pendingEdit });
  });

  it("applies the source and the mapping together, and says which steps it changed", () => {
    const both = savedMapping(savedSource(inUse, { botUsername: "b" }), {
      mappingMode: "CSV",
      fallbackMailbox: null,
      csvReplaced: true,
    });
    const { data, steps } = appliedEdit(pendingEditOf(both));
    expect(steps).toEqual(["source", "mapping"]);
    expect(data).toMatchObject({ botUsername: "b", mappingMode: "CSV", fallbackMailbox: null });
    expect(appliedEdit({}).steps).toEqual([]);
  });

  it("refuses a field the Source step never writes, instead of applying it to the connector", () => {
    expect(() => withPendingSource(inUse, { status: "PAUSED" })).toThrow();
  });

  it("reads an edit it cannot understand (left by another version) as none, which Discard changes can drop", () => {
    const odd = { ...inUse, pendingEdit: { source: { renamedField: "x" } } };
    expect(pendingEditOf(odd)).toEqual({});
    expect(asEdited(odd).botUsername).toBe("archive-bot");
    expect(hasPendingEdit(odd)).toBe(true);
  });
});
