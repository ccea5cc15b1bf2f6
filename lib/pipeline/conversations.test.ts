// The "Conversations of the service account" source against a sandbox that behaves like a real agent:
// the bot reads only the streams it is a member of (403 for the others), and every run records which
// streams it read and which Symphony refused and why. A person who joined a room later does not
// receive its earlier messages. Streams with nothing new are not read again. A message the agent
// cannot decrypt fails by itself, and a stream Symphony will not serve is recorded and the run goes on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "csv-parse/sync";
import { statusLogStream } from "@/lib/connectors";
import { db } from "@/lib/db";
import { canRun, exactlyOnceProblems, startHarness, type Harness } from "@/lib/testing";
import { NOT_A_MEMBER, parseCoverage, type StreamCoverage } from "./coverage";
import { runImport } from "./run";

if (!canRun)
  console.warn(
    "lib/pipeline conversations tests skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

describe.skipIf(!canRun)("the conversations of the service account", () => {
  let h: Harness;
  const workerId = "conversations-test";

  beforeAll(async () => {
    h = await startHarness({ seed: "rest-coverage", users: 8, messages: 60, largeAttachments: false });
  });
  afterAll(() => h?.close());

  const org = () => h.symphony.org;
  const ids = (streams: Array<{ id: string }>) => streams.map((s) => s.id).sort();
  const messageCalls = () => h.symphony.stats.byRoute["GET /agent/v4/stream/{sid}/message"] ?? 0;

  async function run() {
    const summary = await runImport(await h.newRun(), { workerId, environment: h.environment });
    const row = await db.importRun.findUniqueOrThrow({ where: { id: summary.runId } });
    return { summary, coverage: parseCoverage(row.coverage) as StreamCoverage };
  }

  it("reads the bot's conversations, records the others as refused with the reason, and goes on", async () => {
    const { summary, coverage } = await run();
    const mine = org().streams.filter((s) => s.botIsMember);
    const theirs = org().streams.filter((s) => !s.botIsMember);
    expect(theirs.length).toBeGreaterThan(0);

    expect(summary.status).toBe("SUCCEEDED");
    expect(summary.messagesCollected).toBe((await h.expected()).length);
    expect(summary.messagesCollected).toBeLessThan(org().totalMessages);
    expect(coverage.listed).toBe(org().streams.length);
    expect(ids(coverage.read)).toEqual(ids(mine));
    expect(coverage.read.reduce((sum, s) => sum + s.messages, 0)).toBe(summary.messagesCollected);
    expect(ids(coverage.refused)).toEqual(ids(theirs));
    expect(coverage.refusedTotal).toBe(theirs.length);
    expect(coverage.refused.every((s) => s.reason.startsWith(NOT_A_MEMBER))).toBe(true);
    // Rooms say nothing of their members in the list: the agent's 403 tells.
    expect(coverage.refused.some((s) => s.type === "ROOM" && s.reason.includes("HTTP 403"))).toBe(true);
    const room = coverage.read.find((s) => s.type === "ROOM" && s.name);
    expect(room?.name).toBe(org().streams.find((s) => s.id === room?.id)?.roomName);

    const { problems } = await exactlyOnceProblems(h);
    expect(problems).toEqual([]);
  });

  it("gives a room's earlier messages only to the people who were in it then (joinDate)", async () => {
    const joined = org()
      .streams.filter((s) => s.botIsMember && s.type === "ROOM")
      .flatMap((stream) =>
        h.symphony
          .currentMembers(stream.id)
          .filter((m) => m.joinDate > stream.createdDate && m.person.m365Address === m.person.symphonyEmail)
          .map((member) => ({ stream, member })),
      );
    expect(joined.length).toBeGreaterThan(0);
    for (const { stream, member } of joined) {
      const mailbox = member.person.m365Address!;
      const messages = await db.sourceMessage.findMany({
        where: { connectorId: h.connector.id, streamId: stream.id },
        include: { items: { where: { mailbox } } },
      });
      const before = messages.filter((m) => m.sentAt.getTime() < member.joinDate);
      const after = messages.filter((m) => m.sentAt.getTime() >= member.joinDate);
      expect(before.length, `messages before ${member.person.displayName} joined`).toBeGreaterThan(0);
      expect(after.length).toBeGreaterThan(0);
      expect(before.flatMap((m) => m.items)).toEqual([]);
      expect(after.every((m) => m.items.length === 1)).toBe(true);
    }
  });

  it("does not read again a stream with nothing newer than its checkpoint", async () => {
    const mine = org().streams.filter((s) => s.botIsMember && s.messageCount > 0);
    const busy = mine[0]!;
    h.symphony.addMessage({ streamId: busy.id, text: "one more" });
    const before = messageCalls();
    const { summary, coverage } = await run();

    expect(summary).toMatchObject({ status: "SUCCEEDED", messagesCollected: 1 });
    expect(coverage.read).toEqual([expect.objectContaining({ id: busy.id, messages: 1 })]);
    expect(coverage.unchanged).toBe(mine.length - 1);
    // One call for the stream with news, one 403 per room the bot is not in; none for the rest.
    const refusedRooms = coverage.refused.filter((s) => s.reason.includes("HTTP 403")).length;
    expect(messageCalls() - before).toBe(1 + refusedRooms);
  });

  it("fails a message the agent cannot decrypt with its diagnostic, and records a stream that answers 404", async () => {
    const [first, second] = org().streams.filter((s) => s.botIsMember && s.messageCount > 0);
    const undecryptable = h.symphony.addMessage({
      streamId: first!.id,
      diagnostic: "Failed to decrypt: key 7 unknown",
    });
    const readable = h.symphony.addMessage({ streamId: first!.id, text: "after the bad one" });
    const unreachable = h.symphony.addMessage({ streamId: second!.id, text: "not served" });
    h.symphony.setStreamFault({ streamId: second!.id, status: 404 });

    const { summary, coverage } = await run();
    expect(summary.status).toBe("PARTIAL");
    expect(summary.messagesCollected).toBe(2);
    const failed = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "FAILED" },
      include: { sourceMessage: true },
    });
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((item) => item.sourceMessage.messageId === undecryptable.messageId)).toBe(true);
    expect(failed.every((item) => item.reason?.includes("Failed to decrypt: key 7 unknown"))).toBe(true);
    const imported = await db.importItem.count({
      where: { connectorId: h.connector.id, status: "IMPORTED", sourceMessage: { messageId: readable.messageId } },
    });
    expect(imported).toBeGreaterThan(0);
    // Listed first: the everyday "not a member" refusals come after it.
    expect(coverage.refused[0]).toEqual(
      expect.objectContaining({ id: second!.id, reason: expect.stringContaining("HTTP 404") as unknown }),
    );

    // Served again, the stream is read from where it was: its message arrives with the next run.
    h.symphony.setStreamFault({ streamId: second!.id, status: null });
    const next = await run();
    expect(next.summary.messagesCollected).toBe(1);
    expect(next.coverage.read).toEqual([expect.objectContaining({ id: second!.id, messages: 1 })]);
    const rows = await db.sourceMessage.count({
      where: { connectorId: h.connector.id, messageId: unreachable.messageId },
    });
    expect(rows).toBe(1);
  });

  it("lists the conversations the latest run could not read in the status log, as NOT_READ lines", async () => {
    const latest = await db.importRun.findFirstOrThrow({
      where: { connectorId: h.connector.id },
      orderBy: { startedAt: "desc" },
    });
    const refused = parseCoverage(latest.coverage)!.refused;
    type Row = Record<string, string>;
    const log = async (query: Record<string, string>) =>
      parse<Row>(await new Response(await statusLogStream(h.connector.id, query)).text(), { columns: true });

    const notRead = (await log({})).filter((row) => row.status === "NOT_READ");
    expect(notRead.map((row) => row.stream).sort()).toEqual(refused.map((s) => `${s.type} ${s.id}`).sort());
    expect(notRead.every((row) => row.run_id === latest.id && row.reason?.includes(NOT_A_MEMBER))).toBe(true);
    expect((await log({ status: "NOT_READ" })).map((row) => row.status)).toEqual(notRead.map(() => "NOT_READ"));
    expect((await log({ status: "FAILED" })).some((row) => row.status === "NOT_READ")).toBe(false);
  });
});

describe.skipIf(!canRun)("a pod whose clocks disagree", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "rest-clock-ahead", users: 6, messages: 30, largeAttachments: false });
  });
  afterAll(() => h?.close());

  const run = async () => ({
    summary: await runImport(await h.newRun(), { workerId: "clock-test", environment: h.environment }),
  });

  it("collects a message stamped before one from a clock running ahead, though sent after it", async () => {
    expect((await run()).summary.status).toBe("SUCCEEDED");
    const busy = h.symphony.org.streams.find((s) => s.botIsMember && s.messageCount > 0)!;
    // A pod node whose clock runs an hour ahead stamps a message; the next, sent later, is stamped now.
    const ahead = h.symphony.addMessage({
      streamId: busy.id,
      text: "from the future",
      timestamp: Date.now() + 3_600_000,
    });
    expect((await run()).summary).toMatchObject({ status: "SUCCEEDED", messagesCollected: 1 });
    const later = h.symphony.addMessage({ streamId: busy.id, text: "sent after it" });
    expect(later.timestamp).toBeLessThan(ahead.timestamp);
    expect((await run()).summary).toMatchObject({ status: "SUCCEEDED", messagesCollected: 1 });
    const recorded = await db.sourceMessage.count({
      where: { connectorId: h.connector.id, messageId: { in: [ahead.messageId, later.messageId] } },
    });
    expect(recorded).toBe(2);
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
    // Until its time comes, the stream is read again each run (one page), and nothing is collected twice.
    expect((await run()).summary).toMatchObject({ status: "SUCCEEDED", messagesCollected: 0 });
  });
});

describe.skipIf(!canRun)("a message too large to read", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "rest-too-large", users: 6, messages: 40, largeAttachments: false });
  });
  afterAll(() => h?.close());

  it("fails that message alone for each member, saying where it is, and reads the conversation on past it", async () => {
    const stream = h.symphony.org.streams.find((s) => s.botIsMember && s.messageCount > 0)!;
    const before = h.symphony.addMessage({ streamId: stream.id, text: "before the large one" });
    const large = h.symphony.addMessage({ streamId: stream.id, text: "x".repeat(200_000) });
    const after = h.symphony.addMessage({ streamId: stream.id, text: "after the large one" });
    const recorded = async (messageId: string) =>
      db.sourceMessage.count({ where: { connectorId: h.connector.id, messageId } });

    // Answers of at most 100 KB: every other page is asked for again in halves; the large message alone is over.
    const environment = { ...h.environment, symphonyClient: { maxResponseBytes: 100_000 } };
    const first = await runImport(await h.newRun(), { workerId: "too-large", environment });
    expect(first.status).toBe("PARTIAL");
    const coverage = parseCoverage(
      (await db.importRun.findUniqueOrThrow({ where: { id: first.runId } })).coverage,
    ) as StreamCoverage;
    expect(coverage.refused.filter((refused) => refused.id === stream.id)).toEqual([]);
    expect([
      await recorded(before.messageId),
      await recorded(large.messageId),
      await recorded(after.messageId),
    ]).toEqual([1, 0, 1]);

    // In its place, one failed item per member present, with where it is and why; nothing else failed.
    const failed = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "FAILED" },
      include: { sourceMessage: true },
    });
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed.map((item) => item.sourceMessage.streamId))).toEqual(new Set([stream.id]));
    // Nothing tells when it was sent: every member listed gets its failure, as they got the message before it.
    const beforeItems = await db.importItem.findMany({
      where: { connectorId: h.connector.id, sourceMessage: { messageId: before.messageId } },
    });
    expect(new Set(failed.map((item) => item.mailbox))).toEqual(new Set(beforeItems.map((item) => item.mailbox)));
    for (const item of failed) {
      expect(item.reason).toMatch(
        new RegExp(
          `^Symphony's answer holding this message alone is larger than the connector reads \\(100000 bytes\\): the message was not read\\. It is the 2nd message sent at or after ${new Date(before.timestamp).toISOString()}\\.$`,
        ),
      );
    }
    // Every other message of the organisation was read.
    const others = (await h.expected()).filter(({ message }) => message.messageId !== large.messageId);
    // (and the one standing for the large message)
    expect(await db.sourceMessage.count({ where: { connectorId: h.connector.id } })).toBe(others.length + 1);

    // Another one, now the last of its conversation: each run reads the conversation again from the
    // message before it (the checkpoint cannot pass a message without a time), and records it once.
    h.symphony.addMessage({ streamId: stream.id, text: "y".repeat(200_000) });
    const failedNow = () => db.importItem.count({ where: { connectorId: h.connector.id, status: "FAILED" } });
    expect((await runImport(await h.newRun(), { workerId: "too-large", environment })).status).toBe("PARTIAL");
    const twice = await failedNow();
    expect(twice).toBe(failed.length * 2);
    // Under another limit too (its reason reads differently; its key is where it is).
    for (const maxResponseBytes of [100_000, 150_000]) {
      const again = await runImport(await h.newRun(), {
        workerId: "too-large",
        environment: { ...h.environment, symphonyClient: { maxResponseBytes } },
      });
      expect(again).toMatchObject({ status: "SUCCEEDED", messagesCollected: 0 });
      expect(await failedNow()).toBe(twice);
    }
  });
});

describe.skipIf(!canRun)("pages recorded in parts (rooms with thousands of members)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ seed: "rest-parts", users: 8, messages: 60, largeAttachments: false });
  });
  afterAll(() => h?.close());

  it("records every message once when each page is split into parts of a few ledger rows, and reads nothing twice", async () => {
    const options = { workerId: "parts-test", environment: h.environment, maxItemsPerRecord: 3 };
    const first = await runImport(await h.newRun(), options);
    expect(first.status).toBe("SUCCEEDED");
    expect(first.messagesCollected).toBe((await h.expected()).length);
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
    // Each conversation's checkpoint is its newest message: the next run finds nothing new.
    const checkpoints = await db.streamCheckpoint.findMany({ where: { connectorId: h.connector.id } });
    for (const checkpoint of checkpoints) {
      const newest = h.symphony.history(checkpoint.streamId).at(-1)!;
      expect(checkpoint.lastMessageId, checkpoint.streamId).toBe(newest.messageId);
    }
    expect(checkpoints.length).toBeGreaterThan(0);
    const second = await runImport(await h.newRun(), options);
    expect(second).toMatchObject({ status: "SUCCEEDED", messagesCollected: 0 });
  });
});
