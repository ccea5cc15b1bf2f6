import { describe, expect, it } from "vitest";
import { generateOrg, messageTimestamp } from "./org";

const end = Date.UTC(2026, 10, 1);

describe("generateOrg", () => {
  it("gives the same organisation for the same seed and a different one for another seed", () => {
    const a = generateOrg({ seed: "same", users: 30, messages: 500, end });
    const b = generateOrg({ seed: "same", users: 30, messages: 500, end });
    const c = generateOrg({ seed: "other", users: 30, messages: 500, end });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(c.people.map((p) => p.userName)).not.toEqual(a.people.map((p) => p.userName));
    expect(c.streams.map((s) => s.id)).not.toEqual(a.streams.map((s) => s.id));
  });

  it("has our people with mailboxes, some with a different Symphony email, and unmappable outsiders", () => {
    const org = generateOrg({ seed: 7, users: 40, externalUsers: 9, end });
    const ours = org.people.filter((p) => !p.external);
    const theirs = org.people.filter((p) => p.external);
    expect(ours).toHaveLength(40);
    expect(theirs).toHaveLength(9);
    expect(ours.every((p) => p.m365Address?.endsWith("@bank.example"))).toBe(true);
    expect(theirs.every((p) => p.m365Address === null && !p.symphonyEmail.endsWith("bank.example"))).toBe(true);
    expect(ours.filter((p) => p.symphonyEmail !== p.m365Address)).toHaveLength(4);
    expect(new Set(org.people.map((p) => p.id)).size).toBe(49);
    expect(new Set(ours.map((p) => p.m365Address)).size).toBe(40);
    expect(new Set(org.people.map((p) => p.symphonyEmail)).size).toBe(49);
  });

  it("has every kind of conversation, internal and external, with URL-safe ids and all messages allotted", () => {
    const org = generateOrg({ seed: 3, users: 12, messages: 50, end });
    expect(new Set(org.streams.map((s) => s.type))).toEqual(new Set(["IM", "MIM", "ROOM", "POST"]));
    expect(org.streams.some((s) => s.scope === "EXTERNAL")).toBe(true);
    expect(org.streams.some((s) => !s.isActive)).toBe(true);
    expect(org.streams.every((s) => /^[A-Za-z0-9_-]{24}$/.test(s.id))).toBe(true);
    expect(org.streams.filter((s) => s.type === "ROOM" && !s.groupChat).every((s) => s.roomName)).toBe(true);
    expect(org.streams.reduce((n, s) => n + s.messageCount, 0)).toBe(50);
  });

  it("has group chats of both kinds: MIMs and, since SBE 20.16, ROOMs marked as group chats", () => {
    const org = generateOrg({ seed: 3, users: 12, messages: 50, end });
    const newStyle = org.streams.filter((s) => s.groupChat);
    expect(org.streams.some((s) => s.type === "MIM")).toBe(true);
    expect(newStyle.length).toBeGreaterThan(0);
    expect(newStyle.every((s) => s.type === "ROOM" && !s.roomName && !s.isPublic && s.memberIds.length >= 3)).toBe(
      true,
    );
    // The first room of an organisation is a named one (tests pick it to find its name in subjects).
    expect(org.streams.find((s) => s.type === "ROOM")?.groupChat).toBe(false);
  });

  it("spreads message times strictly increasing within a stream, inside the period", () => {
    const org = generateOrg({ seed: 5, users: 10, messages: 5000, end, periodDays: 30 });
    for (const stream of org.streams) {
      let previous = org.period.start - 1;
      for (let i = 0; i < stream.messageCount; i++) {
        const t = messageTimestamp(org, stream, i);
        expect(t).toBeGreaterThan(previous);
        previous = t;
      }
      expect(previous).toBeLessThanOrEqual(org.period.end);
    }
  });

  it("describes a 1,000,000-message organisation without materialising the messages", () => {
    const before = process.memoryUsage().heapUsed;
    const org = generateOrg({ seed: "bench", users: 500, messages: 1_000_000, end });
    const grown = process.memoryUsage().heapUsed - before;
    expect(org.streams.reduce((n, s) => n + s.messageCount, 0)).toBe(1_000_000);
    // A materialised message costs hundreds of bytes; 1M of them would be hundreds of MB.
    expect(grown).toBeLessThan(30 * 1024 * 1024);
  });
});
