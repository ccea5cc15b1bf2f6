import { describe, expect, it } from "vitest";
import { z } from "zod";
import { formDataObject, formField } from "./admin-action";

// How a form reaches an action's schema (the session and role checks are proven end to end in e2e).
const form = z.object({
  connectorId: formField.connectorId(),
  name: formField.text(),
  streamTypes: formField.list(),
  accept: formField.checkbox(),
  csv: formField.file(),
});

function submit(entries: [string, string | File][]) {
  const data = new FormData();
  for (const [key, value] of entries) data.append(key, value);
  return form.parse(formDataObject(data));
}

describe("admin action forms", () => {
  it("reads one checkbox of a list as a list, and none as an empty one", () => {
    expect(submit([["streamTypes", "IM"]]).streamTypes).toEqual(["IM"]);
    expect(
      submit([
        ["streamTypes", "IM"],
        ["streamTypes", "ROOM"],
      ]).streamTypes,
    ).toEqual(["IM", "ROOM"]);
    expect(submit([]).streamTypes).toEqual([]);
  });

  it("treats an invalid connector id as none, a missing text as empty and an unticked box as false", () => {
    expect(submit([["connectorId", "../../etc"]])).toMatchObject({ connectorId: undefined, name: "", accept: false });
    const id = "7d9f2c3e-0000-4000-8000-000000000001";
    expect(
      submit([
        ["connectorId", id],
        ["accept", "on"],
      ]),
    ).toMatchObject({ connectorId: id, accept: true });
  });

  it("treats an empty file input as no file", () => {
    expect(submit([["csv", new File([], "")]]).csv).toBeUndefined();
    const csv = new File(["a@x.example,b@y.example"], "map.csv");
    expect(submit([["csv", csv]]).csv?.name).toBe("map.csv");
  });
});
