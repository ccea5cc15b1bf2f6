import { describe, expect, it } from "vitest";
import { nextSlotAfter } from "./next-run";

const at = (time: string) => new Date(`2026-12-01T${time}:00Z`);

describe("the next slot of a connector's schedule", () => {
  it("keeps a slot still to come", () => {
    expect(nextSlotAfter(at("12:00"), at("11:20"), 60)).toEqual(at("12:00"));
  });

  it("moves a slot that has come by whole intervals, keeping the minute the schedule started on", () => {
    expect(nextSlotAfter(at("12:00"), at("12:00"), 60)).toEqual(at("13:00"));
    expect(nextSlotAfter(at("12:00"), at("12:01"), 60)).toEqual(at("13:00"));
    expect(nextSlotAfter(at("12:00"), at("15:30"), 60)).toEqual(at("16:00"));
  });

  it("starts one interval from now when there was no slot", () => {
    expect(nextSlotAfter(null, at("12:07"), 30)).toEqual(at("12:37"));
  });
});
