import { describe, expect, it } from "vitest";
import { unmappedParticipants } from "@/lib/connectors/unmapped";

const people = [
  { id: 1, email: "a@bank.example" },
  { id: 2 },
  { id: 3 },
];

describe("unmappedParticipants", () => {
  it("automatic mapping leaves out only people without an email", () => {
    expect(unmappedParticipants(people, "AUTO", new Set(["2"])).map((p) => p.id)).toEqual([2, 3]);
  });
  it("CSV rows cover people by user id", () => {
    expect(unmappedParticipants(people, "CSV", new Set(["2"])).map((p) => p.id)).toEqual([3]);
  });
});
