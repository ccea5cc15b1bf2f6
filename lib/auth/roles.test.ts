import { describe, expect, it } from "vitest";
import { actorName, canRead, isAdmin, rolesFromClaims } from "./roles";

describe("role checks", () => {
  it("reads the roles claim of an ID token", () => {
    expect(rolesFromClaims({ roles: ["Connector.Admin", "Reader"] })).toEqual(["Connector.Admin", "Reader"]);
  });
  it("treats a missing or malformed roles claim as no role", () => {
    expect(rolesFromClaims({})).toEqual([]);
    expect(rolesFromClaims({ roles: "Connector.Admin" })).toEqual([]);
    expect(rolesFromClaims({ roles: [1, 2] })).toEqual([]);
  });
  it("grants admin only for the exact configured role", () => {
    expect(isAdmin({ roles: ["Connector.Admin"] }, "Connector.Admin")).toBe(true);
    expect(isAdmin({ roles: ["connector.admin", "Connector.Admin.Extra"] }, "Connector.Admin")).toBe(false);
    expect(isAdmin({ roles: [] }, "Connector.Admin")).toBe(false);
  });
  it("lets the reader role and the admin role read, and nobody else", () => {
    const roles = { admin: "Connector.Admin", reader: "Connector.Reader" };
    expect(canRead({ roles: ["Connector.Reader"] }, roles)).toBe(true);
    expect(canRead({ roles: ["Connector.Admin"] }, roles)).toBe(true);
    expect(canRead({ roles: [] }, roles)).toBe(false);
    expect(canRead({ roles: ["connector.reader", "Connector.Reader.All", "Reader"] }, roles)).toBe(false);
    expect(canRead({ roles: ["Archive.Viewers"] }, { ...roles, reader: "Archive.Viewers" })).toBe(true);
  });
  it("names an actor by email, then name, then object id", () => {
    expect(actorName({ email: "a@contoso.test", name: "A", oid: "1" })).toBe("a@contoso.test");
    expect(actorName({ email: "", name: "A", oid: "1" })).toBe("A");
  });
});
