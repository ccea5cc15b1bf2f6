import { describe, expect, it } from "vitest";
import { parseLenientTime } from "./lenient-time";
import { hintsFromName } from "./name-hints";

describe("parseLenientTime", () => {
  it("reads ISO 8601 times, with or without zone and fraction", () => {
    expect(parseLenientTime("2025-05-12T14:30:00Z")).toEqual(new Date("2025-05-12T14:30:00Z"));
    expect(parseLenientTime("2025-05-12T14:30:00.250+02:00")).toEqual(new Date("2025-05-12T12:30:00.250Z"));
    expect(parseLenientTime("2025-05-12")).toEqual(new Date("2025-05-12T00:00:00Z"));
  });

  it("tolerates the Files API spec's malformed examples", () => {
    expect(parseLenientTime("2025-05-12-09T14:30:00Z")).toEqual(new Date("2025-05-12T14:30:00Z"));
    expect(parseLenientTime("2025-05-12-09")).toEqual(new Date("2025-05-12T09:00:00Z"));
  });

  it("reads epoch seconds and milliseconds", () => {
    expect(parseLenientTime(1747060200)).toEqual(new Date("2025-05-12T14:30:00Z"));
    expect(parseLenientTime(1747060200000)).toEqual(new Date("2025-05-12T14:30:00Z"));
    expect(parseLenientTime("1747060200000")).toEqual(new Date("2025-05-12T14:30:00Z"));
  });

  it("gives null for what is not a time", () => {
    for (const value of ["garbage", "2025-02-30", "2025-05-12T25:00:00Z", "", null, undefined, {}, -5]) {
      expect(parseLenientTime(value)).toBeNull();
    }
  });
});

describe("hintsFromName", () => {
  it("reads a recurring export's period and generation time", () => {
    expect(hintsFromName("e_acme-1_SD-2019-08-13-00_ED-2019-08-14-00_GD-2019-08-14_1565741400162.zip")).toEqual({
      jobType: "SCHEDULED",
      periodStart: new Date("2019-08-13T00:00:00Z"),
      periodEnd: new Date("2019-08-14T00:00:00Z"),
      generatedAt: new Date(1565741400162),
    });
  });

  it("reads an ad-hoc export's whole UTC day", () => {
    expect(hintsFromName("e_acme_CD-2019-08-13_GD-2019-08-15_1565841400162.zip.pgp")).toEqual({
      jobType: "ADHOC",
      periodStart: new Date("2019-08-13T00:00:00Z"),
      periodEnd: new Date("2019-08-14T00:00:00Z"),
      generatedAt: new Date(1565841400162),
    });
  });

  it("gives nulls for a name it cannot read", () => {
    expect(hintsFromName("report.zip")).toEqual({
      jobType: null,
      periodStart: null,
      periodEnd: null,
      generatedAt: null,
    });
    expect(hintsFromName("e_x_SD-2019-13-45-00_ED-2019-08-14-00_GD-2019-08-14.zip").periodStart).toBeNull();
  });
});
