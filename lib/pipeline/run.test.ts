import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageIdFor } from "@/lib/convert";
import { db } from "@/lib/db";
import { createStagingStore } from "@/lib/staging";
import { createTokenProvider, parseM365Settings } from "@/lib/m365";
import { createSymphonyClient } from "@/lib/symphony";
import { runImport, type RunProgress } from "./run";
import { itemKey, openStagedMime } from "./staged-item";
import { canRun, exactlyOnceProblems, startHarness, type Harness } from "@/lib/testing";

if (!canRun)
  console.warn(
    "lib/pipeline run tests skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

describe.skipIf(!canRun)("an import run against the sandboxes", () => {
  let h: Harness;
  const workerId = "test-worker";

  beforeAll(async () => {
    h = await startHarness({ seed: "pipeline-run", users: 8, messages: 80 });
  });
  afterAll(() => h?.close());

  /** Every item of every mailbox: internetMessageId -> how many times, and the items themselves. */
  function mailboxContents() {
    return h.m365
      .mailboxes()
      .flatMap((user) =>
        (h.m365.items(user.mail) ?? []).map((item) => ({ mailbox: user.mail.toLowerCase(), ...item })),
      );
  }

  it("imports every (message, mapped mailbox) pair once, as received items in Inbox/Symphony, and logs the unmapped", async () => {
    const progress: number[] = [];
    const summary = await runImport(await h.newRun(), {
      workerId,
      environment: h.environment,
      onProgress: (p) => progress.push(p.itemsDone),
    });
    const expected = await h.expected();
    const pairs = expected.flatMap(({ message, mailboxes }) => mailboxes.map((mailbox) => ({ message, mailbox })));

    expect(summary.status).toBe("SUCCEEDED");
    expect(summary.messagesCollected).toBe(expected.length);
    expect(summary.counts).toMatchObject({ imported: pairs.length, failed: 0, pending: 0 });
    expect(progress.at(-1)).toBe(pairs.length);

    const items = mailboxContents();
    expect(items).toHaveLength(pairs.length);
    const byPair = new Map(items.map((item) => [`${item.mailbox}|${item.internetMessageId}`, item]));
    expect(byPair.size).toBe(items.length); // no (mailbox, message) twice
    const people = new Map([...h.symphony.org.people, h.symphony.org.bot].map((p) => [p.id, p]));
    for (const { message, mailbox } of pairs) {
      const item = byPair.get(`${mailbox}|${messageIdFor(message.messageId)}`);
      expect(item, `${message.messageId} in ${mailbox}`).toBeDefined();
      expect(item!.folder).toBe("Inbox/Symphony");
      expect(item!.isDraft).toBe(false);
      // Exchange and RFC 5322 dates keep whole seconds.
      expect(new Date(item!.receivedDateTime).getTime()).toBe(toSecond(message.timestamp));
      expect(new Date(item!.sentDateTime).getTime()).toBe(toSecond(message.timestamp));
      expect(item!.from).toBe(people.get(message.user.userId)!.symphonyEmail);
      expect(item!.extendedProperties).toContainEqual(
        expect.objectContaining({ value: itemKey(h.connector.id, message.messageId) }),
      );
      expect(item!.attachments.map((a) => a.name).sort()).toEqual(
        (message.attachments ?? []).map((a) => a.name).sort(),
      );
    }
    const room = h.symphony.org.streams.find((s) => s.type === "ROOM" && s.botIsMember && s.messageCount > 0)!;
    expect(items.some((item) => item.subject.includes(room.roomName!))).toBe(true);

    // Unmapped participants (other companies, people whose Symphony address is not a mailbox, the bot) are logged with a reason.
    const skipped = await db.importItem.findMany({ where: { connectorId: h.connector.id, status: "SKIPPED" } });
    const unmappedPairs = expected.flatMap(({ message, unmapped }) =>
      unmapped.map((address) => `${message.messageId}|${address}`),
    );
    expect(skipped).toHaveLength(unmappedPairs.length);
    expect(skipped.every((item) => /external participant|no Microsoft 365 mailbox/.test(item.reason ?? ""))).toBe(true);
    expect(skipped.some((item) => item.reason?.startsWith("external participant"))).toBe(true);
  });

  it("delivers attachments byte for byte, including one over 10 MB, and stages MIME that parses back to the message", async () => {
    const expected = await h.expected();
    const withAttachments = expected.filter(
      ({ message, mailboxes }) => (message.attachments?.length ?? 0) > 0 && mailboxes.length > 0,
    );
    expect(withAttachments.some(({ message }) => message.attachments.some((a) => a.size > 10 * 1024 * 1024))).toBe(
      true,
    );

    const symphony = createSymphonyClient({
      ...h.symphony,
      botUsername: h.symphony.bot.username,
      privateKeyPem: h.symphony.bot.privateKeyPem,
    });
    const settings = parseM365Settings({ ...h.environment.m365, tenantId: h.m365.tenantId });
    const token = await createTokenProvider(settings).getAccessToken();
    for (const { message, mailboxes } of withAttachments) {
      const [mailbox] = mailboxes;
      if (!mailbox) throw new Error(`Message ${message.messageId} has no mailbox.`);
      const item = h.m365.items(mailbox)!.find((i) => i.internetMessageId === messageIdFor(message.messageId))!;
      for (const attachment of message.attachments) {
        const source = sha256(
          await readAll(await symphony.downloadAttachment(message.stream.streamId, message.messageId, attachment.id)),
        );
        const imported = item.attachments.find((a) => a.name === attachment.name)!;
        const response = await fetch(
          `${h.m365.graphBaseUrl}/users/${encodeURIComponent(mailbox)}/messages/${encodeURIComponent(item.id)}/attachments/${encodeURIComponent(imported.id)}/$value`,
          { headers: { Authorization: `Bearer ${token}` } },
        );
        expect(response.status).toBe(200);
        expect(sha256(Buffer.from(await response.arrayBuffer())), `${attachment.name} (${attachment.size} bytes)`).toBe(
          source,
        );
      }
    }

    const staging = await createStagingStore(h.environment.staging);
    const sample = withAttachments[0]?.message;
    if (!sample) throw new Error("No message with attachments was imported.");
    const row = await db.sourceMessage.findUniqueOrThrow({
      where: { connectorId_messageId: { connectorId: h.connector.id, messageId: sample.messageId } },
    });
    const parsed = await simpleParser(await readAll(await openStagedMime(staging, row)));
    expect(parsed.messageId).toBe(messageIdFor(sample.messageId));
    expect(parsed.date?.getTime()).toBe(toSecond(sample.timestamp));
    expect(parsed.headers.get("x-symphony-message-id")).toBe(sample.messageId);
    expect(parsed.attachments.map((a) => a.filename).sort()).toEqual(sample.attachments.map((a) => a.name).sort());
  });

  it("imports nothing new on a second run, and then exactly the messages added in Symphony since", async () => {
    const before = mailboxContents().length;
    const again = await runImport(await h.newRun(), { workerId, environment: h.environment });
    expect(again).toMatchObject({
      status: "SUCCEEDED",
      messagesCollected: 0,
      counts: { imported: 0, skipped: 0, failed: 0 },
    });
    expect(mailboxContents()).toHaveLength(before);

    const room = h.symphony.org.streams.find((s) => s.type === "ROOM" && s.botIsMember)!;
    const added = [
      h.symphony.addMessage({
        streamId: room.id,
        text: "late news",
        attachments: [{ name: "late.pdf", size: 40_000 }],
      }),
      h.symphony.addMessage({ streamId: room.id, text: "later news" }),
    ];
    const mapped = (await h.expected()).find(({ message }) => message.messageId === added[0]?.messageId)!.mailboxes;
    const next = await runImport(await h.newRun(), { workerId, environment: h.environment });
    expect(next).toMatchObject({
      status: "SUCCEEDED",
      messagesCollected: 2,
      counts: { imported: 2 * mapped.length, failed: 0 },
    });
    const items = mailboxContents();
    expect(items).toHaveLength(before + 2 * mapped.length);
    for (const message of added) {
      expect(
        items
          .filter((i) => i.internetMessageId === messageIdFor(message.messageId))
          .map((i) => i.mailbox)
          .sort(),
      ).toEqual([...mapped].sort());
    }
  });

  it("does not import twice an item whose Graph create succeeded but whose ledger update was lost", async () => {
    // The crash window: Graph created the message (it is in the mailbox), then the worker died
    // before marking the item; the ledger still says PENDING with the attempt counted.
    const item = await db.importItem.findFirstOrThrow({
      where: { connectorId: h.connector.id, status: "IMPORTED" },
      include: { sourceMessage: true },
    });
    const internetMessageId = messageIdFor(item.sourceMessage.messageId);
    const copies = () => h.m365.items(item.mailbox)!.filter((i) => i.internetMessageId === internetMessageId);
    expect(copies()).toHaveLength(1);
    await db.importItem.update({
      where: { id: item.id },
      data: { status: "PENDING", attempts: 1, graphMessageId: null, claimedBy: null, claimedUntil: null },
    });

    const run = await runImport(await h.newRun(), { workerId, environment: h.environment });
    expect(run.counts).toMatchObject({ imported: 1, failed: 0 });
    expect(copies()).toHaveLength(1);
    const after = await db.importItem.findUniqueOrThrow({ where: { id: item.id } });
    expect(after).toMatchObject({ status: "IMPORTED", attempts: 2, graphMessageId: item.graphMessageId });
    expect(copies()[0]?.extendedProperties).toContainEqual({
      id: expect.stringMatching(/SymphonyItemKey/i) as unknown,
      value: itemKey(h.connector.id, item.sourceMessage.messageId),
    });
  });

  it("leaves one copy when creates time out but land, and counts the copies it deleted in the run's figures", async () => {
    const room = h.symphony.org.streams.find((s) => s.type === "ROOM")!;
    for (const n of [1, 2, 3]) h.symphony.addMessage({ streamId: room.id, text: `late create ${n}` });
    const lostBefore = h.m365.stats().lostCreates;
    // Every first create of an item is answered 504 but lands when its retry comes in.
    h.m365.setFaults({ lostCreateShare: 1, lostCreateLandsAfterMs: 600_000 });
    try {
      const summary = await runImport(await h.newRun(), { workerId, environment: h.environment });
      expect(summary.status).toBe("SUCCEEDED");
      const rows = await db.importItem.findMany({ where: { runId: summary.runId, status: "IMPORTED" } });
      const lost = h.m365.stats().lostCreates - lostBefore;
      expect(rows.length).toBeGreaterThan(0);
      expect(lost).toBe(rows.length);

      const run = await db.importRun.findUniqueOrThrow({ where: { id: summary.runId } });
      expect(run.duplicatesRemoved).toBe(lost);
      for (const row of rows) expect(row.reason).toMatch(/second copy.* was deleted/);
      const items = mailboxContents();
      const ids = new Set(items.map((item) => item.id));
      expect(rows.filter((row) => !ids.has(row.graphMessageId!))).toEqual([]);
      // No (mailbox, message) twice anywhere.
      expect(new Set(items.map((item) => `${item.mailbox}|${item.internetMessageId}`)).size).toBe(items.length);
    } finally {
      h.m365.setFaults({ lostCreateShare: 0 });
    }
  });

  it("fails an item only after its own failed attempts, however often a stopped worker cut its attempts short", async () => {
    const item = await db.importItem.findFirstOrThrow({ where: { connectorId: h.connector.id, status: "IMPORTED" } });
    // Seven attempts claimed by workers that were killed before the attempts ended: none failed.
    await db.importItem.update({
      where: { id: item.id },
      data: { status: "PENDING", attempts: 7, failures: 0, claimedBy: null, claimedUntil: null },
    });
    h.m365.setFaults({ serviceUnavailableShare: 1, retryAfterSeconds: 0 });
    try {
      const summary = await runImport(await h.newRun(), {
        workerId,
        environment: { ...h.environment, graphScheduler: { maxAttempts: 1 } },
        delivery: { maxAttempts: 3, maxRetryDelaySeconds: 0 },
      });
      expect(summary.counts).toMatchObject({ imported: 0, failed: 1 });
      const after = await db.importItem.findUniqueOrThrow({ where: { id: item.id } });
      expect(after).toMatchObject({ status: "FAILED", attempts: 10, failures: 3 });
      expect(after.reason).toMatch(/503.*after 10 attempts/);
    } finally {
      h.m365.setFaults({ serviceUnavailableShare: 0 });
      await db.importItem.update({ where: { id: item.id }, data: { status: "IMPORTED", reason: null } });
    }
  });

  it("imports the first items before collect has finished reading Symphony, and each once", async () => {
    const rooms = h.symphony.org.streams.filter((s) => s.botIsMember);
    for (const [n, room] of rooms.entries())
      h.symphony.addMessage({ streamId: room.id, text: `while collecting ${n}` });
    // A slow pod: reading every conversation takes seconds, time enough to import what is recorded.
    h.symphony.setFaults({ latencyMs: 400 });
    const reports: RunProgress[] = [];
    try {
      const summary = await runImport(await h.newRun(), {
        workerId,
        environment: h.environment,
        onProgress: (p) => reports.push(p),
      });
      expect(summary.status).toBe("SUCCEEDED");
      expect(reports.filter((p) => p.phase === "collect" && p.itemsDone > 0).length).toBeGreaterThan(0);
      const pairs = (await h.expected()).flatMap(({ message, mailboxes }) =>
        mailboxes.map((mailbox) => `${mailbox}|${messageIdFor(message.messageId)}`),
      );
      const items = mailboxContents().map((item) => `${item.mailbox}|${item.internetMessageId}`);
      expect(items.sort()).toEqual(pairs.sort());
    } finally {
      h.symphony.setFaults({ latencyMs: 0 });
    }
  });
});

async function readAll(stream: AsyncIterable<Buffer | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

function toSecond(epochMs: number): number {
  return Math.floor(epochMs / 1000) * 1000;
}

function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe.skipIf(!canRun)("a try that fails as its collect ends", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "pipeline-run-stop", users: 8, messages: 80 });
  });
  afterAll(() => h?.close());

  it("stops its import before it fails, and the next try imports every pair once", async () => {
    const runId = await h.newRun();
    // Slow Graph: the import is far from done when collect ends.
    h.m365.setFaults({ latencyMs: 300 });
    const firstTry = runImport(runId, {
      workerId: "first-try",
      environment: h.environment,
      delivery: { claimSeconds: 2 },
      onCollected: () => Promise.reject(new Error("helper jobs not queued")),
    });
    await expect(firstTry).rejects.toThrow("helper jobs not queued");
    expect(await db.importItem.count({ where: { connectorId: h.connector.id, status: "PENDING" } })).toBeGreaterThan(0);
    const sent = h.m365.stats().graphRequests;
    await sleep(1500);
    expect(h.m365.stats().graphRequests, "Graph requests after the try failed").toBe(sent);

    h.m365.setFaults({ latencyMs: 0 });
    const summary = await runImport(runId, { workerId: "second-try", environment: h.environment });
    expect(summary.status).toBe("SUCCEEDED");
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
  });
});

describe.skipIf(!canRun)("a run whose connector an admin pauses", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ seed: "pipeline-run-pause", users: 8, messages: 80 });
  });
  afterAll(() => h?.close());

  const setStatus = (status: "ACTIVE" | "PAUSED") =>
    db.connector.update({ where: { id: h.connector.id }, data: { status } });
  const imported = () => db.importItem.count({ where: { connectorId: h.connector.id, status: "IMPORTED" } });

  it("stops within seconds, says why, and the first run after Resume imports the rest, every pair once", async () => {
    // Slow Graph: the import is far from done when the admin pauses.
    h.m365.setFaults({ latencyMs: 300 });
    const run = runImport(await h.newRun(), { workerId: "paused", environment: h.environment, pauseCheckMs: 200 });
    while ((await imported()) === 0) await sleep(100);
    await setStatus("PAUSED");
    const summary = await run;
    expect(summary).toMatchObject({ status: "PARTIAL", paused: true });
    const row = await db.importRun.findUniqueOrThrow({ where: { id: summary.runId } });
    expect(row.error).toContain("an admin paused the connector");
    expect(await db.importItem.count({ where: { connectorId: h.connector.id, status: "PENDING" } })).toBeGreaterThan(0);
    const sent = h.m365.stats().graphRequests;
    await sleep(1500);
    expect(h.m365.stats().graphRequests, "Graph requests after the run stopped").toBe(sent);

    // A run queued before the pause (a Run now that crossed it) does nothing.
    const queued = await runImport(await h.newRun(), { workerId: "queued", environment: h.environment });
    expect(queued).toMatchObject({ status: "PARTIAL", paused: true, counts: { imported: 0 } });
    expect(h.m365.stats().graphRequests).toBe(sent);

    h.m365.setFaults({ latencyMs: 0 });
    await setStatus("ACTIVE");
    const resumed = await runImport(await h.newRun(), { workerId: "resumed", environment: h.environment });
    expect(resumed.status).toBe("SUCCEEDED");
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
  });

  it("goes on when the admin resumes while it winds down, instead of ending as paused", async () => {
    h.symphony.addMessage({ streamId: h.symphony.org.streams.find((s) => s.botIsMember)!.id, text: "after resume" });
    // Slow Graph: the items in flight take seconds to end their attempt once the pause is seen.
    h.m365.setFaults({ latencyMs: 1500 });
    const before = await imported();
    const run = runImport(await h.newRun(), {
      workerId: "resumed-early",
      environment: h.environment,
      pauseCheckMs: 100,
    });
    // Paused once Graph is asked for an item (its answer takes 1.5 s).
    const asked = h.m365.stats().graphRequests;
    while (h.m365.stats().graphRequests === asked) await sleep(20);
    await setStatus("PAUSED");
    await sleep(400);
    await setStatus("ACTIVE");
    h.m365.setFaults({ latencyMs: 0 });
    const summary = await run;
    expect(summary.status).toBe("SUCCEEDED");
    expect(summary.paused).toBeUndefined();
    expect(await imported()).toBeGreaterThan(before);
    expect((await exactlyOnceProblems(h)).problems).toEqual([]);
  });
});
