import { describe, expect, it } from "vitest";
import { parseExportFileName } from "./names";

const iso = (date: Date | null) => date?.toISOString() ?? null;
const read = (name: string) => {
  const parsed = parseExportFileName(name);
  return {
    ...parsed,
    periodStart: iso(parsed.periodStart),
    periodEnd: iso(parsed.periodEnd),
    generatedAt: iso(parsed.generatedAt),
  };
};

describe("parseExportFileName", () => {
  it("reads a recurring file's period and generation time", () => {
    expect(read("e_acme-1_SD-2019-08-13-00_ED-2019-08-14-00_GD-2019-08-14_1565741400162.zip")).toEqual({
      jobType: "SCHEDULED",
      periodStart: "2019-08-13T00:00:00.000Z",
      periodEnd: "2019-08-14T00:00:00.000Z",
      generatedAt: "2019-08-14T00:10:00.162Z",
      encrypted: false,
      isChecksum: false,
    });
  });

  it("reads an ad-hoc file, an encrypted one and a checksum sidecar", () => {
    expect(read("e_acme_CD-2019-08-13_GD-2019-08-15_1565827800000.zip.pgp")).toEqual({
      jobType: "ADHOC",
      periodStart: "2019-08-13T00:00:00.000Z",
      periodEnd: "2019-08-14T00:00:00.000Z",
      generatedAt: "2019-08-15T00:10:00.000Z",
      encrypted: true,
      isChecksum: false,
    });
    const sidecar = read("e_acme_CD-2019-08-13_GD-2019-08-15_1565827800000.zip.pgp.md5");
    expect(sidecar).toMatchObject({ jobType: "ADHOC", encrypted: true, isChecksum: true });
  });

  it("gives nulls for what it cannot read, and never throws", () => {
    expect(read("export.zip")).toEqual({
      jobType: null,
      periodStart: null,
      periodEnd: null,
      generatedAt: null,
      encrypted: false,
      isChecksum: false,
    });
    expect(read("e_x_SD-2019-13-40-00_ED-2019-08-14-25_GD-2019-02-30_99999999999999999.zip")).toMatchObject({
      periodStart: null,
      periodEnd: null,
      generatedAt: null,
    });
    for (const name of ["", ".md5", "\u0000", "_SD-_ED-_GD-", "x".repeat(100_000)]) {
      expect(() => parseExportFileName(name)).not.toThrow();
    }
  });
});
