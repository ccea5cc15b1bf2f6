// Real-time capture from the Datahose, with `scripts/worker.ts` child processes: live traffic while
// workers are SIGKILLed, the session expires and PostgreSQL restarts; every message must reach every
// mailbox exactly once. Then a pod without the Datahose add-on: the connector says so in plain words.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { messageIdFor } from "@/lib/convert";
import { createTokenProvider, parseM365Settings } from "@/lib/m365";
import { captureFeed, itemKey } from "@/lib/pipeline";
import { canRun, spawnWorker, startHarness, startPrivateServers, until, workerEnv } from "@/lib/testing";
import type { Harness, PrivateServers, WorkerProcess } from "@/lib/testing";
import type { V4Message } from "@/sandbox/symphony";
import { loginHeaders, postJson } from "@/sandbox/symphony/test-client";
import { finishWizard, saveMapping } from "@/lib/connectors";
import { NO_DATAHOSE } from "./health";
import { stopJobQueue } from "./boss";

if (!canRun)
  console.warn(
    "lib/jobs capture test skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, the M365 sandbox CA)",
  );

const captureEnv = {
  WORKER_CAPTURE_LEASE_SECONDS: "3",
  WORKER_CAPTURE_SCAN_SECONDS: "1",
  WORKER_CAPTURE_DRAIN_SECONDS: "20",
};

describe.skipIf(!canRun)("real-time capture from the Datahose", () => {
  let servers: PrivateServers | undefined;
  const workers: WorkerProcess[] = [];
  const harnesses: Harness[] = [];

  beforeAll(async () => {
    // Its own PostgreSQL (restarted below) and queue: no other file's workers take these jobs.
    servers = await startPrivateServers("capture");
  });
  afterAll(async () => {
    await stopWorkers();
    await stopJobQueue();
    await Promise.all(harnesses.map((h) => h.close()));
    await servers?.stop();
  });

  async function datahoseHarness(seed: string): Promise<Harness> {
    const h = await startHarness({ seed, users: 10, messages: 30 });
    harnesses.push(h);
    h.connector = await db.connector.update({ where: { id: h.connector.id }, data: { sourceKind: "DATAHOSE" } });
    return h;
  }

  // Each test's workers capture every connector of this file's database: stopped before the next test.
  const stopWorkers = () => Promise.all(workers.splice(0).map((worker) => worker.kill()));

  const spawn = (h: Harness) => {
    const worker = spawnWorker(workerEnv(h, captureEnv));
    workers.push(worker);
    return worker;
  };

  const roomOf = (h: Harness) => h.symphony.org.streams.find((stream) => stream.type === "ROOM")!;
  const leaseOf = (h: Harness) => db.captureLease.findUniqueOrThrow({ where: { connectorId: h.connector.id } });
  const recorded = (h: Harness, ids: string[]) =>
    db.sourceMessage.count({ where: { connectorId: h.connector.id, messageId: { in: ids } } });

  /**
   * The connector as an earlier version left it: its feed of the earlier event types (Symphony keeps one
   * per tag and event types) holds four messages sent during the upgrade, two of them read by the
   * stopped worker and not recorded (they come back only after the 12 s visibility timeout), and the
   * lease holds that feed's last acknowledgement id. Answers the four messages' ids.
   */
  async function upgradedFrom(h: Harness): Promise<string[]> {
    h.symphony.setDatahose({ readTimeoutMs: 500, visibilityTimeoutMs: 12_000 });
    const previous = ["MESSAGESENT", "MESSAGESUPPRESSED", "USERJOINEDROOM", "USERLEFTROOM"];
    const auth = await loginHeaders(h.symphony);
    const readPrevious = async (ackId: string) => {
      const body = { type: "datahose", tag: captureFeed(h.connector.id).tag, eventTypes: previous, ackId };
      const response = await postJson(`${h.symphony.agentUrl}/agent/v5/events/read`, body, auth);
      return (await response.json()) as { ackId: string; events: unknown[] };
    };
    const { ackId } = await readPrevious("");
    const send = (n: number) =>
      h.symphony.addMessage({ streamId: roomOf(h).id, text: `sent during the upgrade ${n}` }).messageId;
    const inFlight = [1, 2].map(send);
    expect((await readPrevious(ackId)).events).toHaveLength(2);
    const waiting = [...inFlight, ...[3, 4].map(send)];
    await db.captureLease.create({ data: { connectorId: h.connector.id, ackId, feedTypes: previous.join(",") } });
    return waiting;
  }

  it("imports every live message exactly once per mailbox through worker SIGKILLs, session expiry and a PostgreSQL restart", async () => {
    const h = await datahoseHarness("capture-kills");
    // Unacknowledged batches come back after 3 s; every 10th event twice; batches out of order.
    h.symphony.setDatahose({ visibilityTimeoutMs: 3_000, duplicateShare: 0.1, outOfOrder: true, readTimeoutMs: 1_000 });
    const started = Date.now();
    const captured = () => db.sourceMessage.count({ where: { connectorId: h.connector.id } });

    let worker = spawn(h);
    // The feed exists from its first read on (what was said before it is the export's, or lost).
    await until(
      async () =>
        (await db.captureLease.count({ where: { connectorId: h.connector.id, lastReadAt: { not: null } } })) > 0,
      30_000,
    );
    h.symphony.setDatahose({ messagesPerSecond: 4 });
    for (let kill = 0; kill < 6; kill++) {
      const target = (await captured()) + 8;
      await until(async () => (await captured()) >= target, 60_000, `capture progress before kill ${kill}`);
      if (kill === 2) h.symphony.revokeSessions(); // the session expires: reads answer 401 until it signs in again
      if (kill === 3) await servers!.restartPostgres();
      // Now and then a second worker starts before the first dies: only one holds the lease.
      const next = kill % 2 === 0 ? spawn(h) : undefined;
      await worker.kill("SIGKILL");
      worker = next ?? spawn(h);
    }
    h.symphony.setDatahose({ messagesPerSecond: 0 });

    const expected = expectedPairs(h, liveMessages(h, started));
    expect(expected.size).toBeGreaterThan(60);
    await until(
      () => Promise.resolve(countPairs(h, expected).missing.length === 0),
      120_000,
      "every captured pair in its mailbox",
    ).catch(() => {});
    const { missing, duplicated, unexpected } = countPairs(h, expected);
    const ledger = await db.importItem.groupBy({
      by: ["status"],
      where: { connectorId: h.connector.id },
      _count: true,
    });
    const messages = await captured();
    const context = `${expected.size} pairs expected, ${missing.length} missing; ${messages} messages captured of ${liveMessages(h, started).length}; ledger ${JSON.stringify(ledger)}\n${worker.output()}`;
    expect({ missing: missing.slice(0, 5), duplicated, unexpected }, context).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    expect(h.symphony.datahoseStats.redelivered + h.symphony.datahoseStats.duplicated).toBeGreaterThan(0);
    const lease = await db.captureLease.findUniqueOrThrow({ where: { connectorId: h.connector.id } });
    expect(lease.newestMessageAt).not.toBeNull();
    expect(lease.error).toBeNull();
    // The day's Continuous run stays open, and its figures in the run history follow the imports.
    const continuous = () =>
      db.importRun.findFirstOrThrow({ where: { connectorId: h.connector.id, trigger: "CONTINUOUS" } });
    const runId = (await continuous()).id;
    // A mailbox can hold an item a moment before the ledger records it: wait for the ledger to settle first.
    const pending = () => db.importItem.count({ where: { runId, status: "PENDING" } });
    await until(async () => (await pending()) === 0, 60_000, "every outcome recorded").catch(() => {});
    const imported = await db.importItem.count({ where: { runId, status: "IMPORTED" } });
    expect(imported).toBeGreaterThan(0);
    await until(async () => (await continuous()).itemsImported === imported, 60_000, "the run's figures").catch(
      () => {},
    );
    expect(await continuous()).toMatchObject({ status: "RUNNING", itemsImported: imported, itemsFailed: 0 });
    expect(await pending()).toBe(0);
    await stopWorkers();
  }, 390_000);

  it("stops capturing when an admin pauses the connector, and starts again when it is resumed", async () => {
    const h = await datahoseHarness("capture-pause");
    h.symphony.setDatahose({ readTimeoutMs: 500 });
    const lease = () => db.captureLease.findUnique({ where: { connectorId: h.connector.id } });
    spawn(h);
    await until(async () => (await lease())?.lastReadAt != null, 30_000, "first read");
    await db.connector.update({ where: { id: h.connector.id }, data: { status: "PAUSED" } });
    await until(async () => (await lease())?.holder === null, 30_000, "capture released");
    const reads = h.symphony.stats.byRoute["POST /agent/v5/events/read"] ?? 0;
    await sleep(3_000);
    expect(h.symphony.stats.byRoute["POST /agent/v5/events/read"] ?? 0).toBeLessThanOrEqual(reads + 1);
    await db.connector.update({ where: { id: h.connector.id }, data: { status: "ACTIVE" } });
    await until(async () => (await lease())?.holder != null, 30_000, "capture taken again");
    await stopWorkers();
  }, 120_000);

  it("starts again with the settings an applied edit gives, and imports with its mapping from then on", async () => {
    const h = await datahoseHarness("capture-edit");
    h.symphony.setDatahose({ readTimeoutMs: 500 });
    const id = h.connector.id;
    await db.connector.update({
      where: { id },
      data: { wizardStep: 6, consentGrantedAt: new Date(), tenantId: h.m365.tenantId },
    });
    const room = roomOf(h);
    const members = new Set(h.symphony.currentMembers(room.id).map((member) => member.person.id));
    const sender = h.symphony
      .currentMembers(room.id)
      .find((m) => m.person.m365Address && m.person.id !== h.symphony.bot.userId)!.person;
    // Someone outside the room, to whose mailbox the edit's CSV sends the sender's chats.
    const other = h.symphony.org.people.find((person) => person.m365Address && !members.has(person.id))!;
    const mailboxOf = async (messageId: string) =>
      (
        await db.importItem.findMany({
          where: { connectorId: id, sourceMessage: { messageId } },
          select: { mailbox: true },
        })
      ).map((item) => item.mailbox);
    const worker = spawn(h);
    await until(async () => (await leaseOf(h)).lastReadAt != null, 30_000, "first read");

    const csv = [{ symphonyKey: sender.symphonyEmail.toLowerCase(), mailbox: other.m365Address!, line: 2 }];
    expect(await saveMapping(id, { mappingMode: "CSV", fallbackMailbox: "" }, csv, "admin@bank.example")).toMatchObject(
      { ok: true },
    );
    const before = h.symphony.addMessage({ streamId: room.id, senderId: sender.id, text: "while the edit waits" });
    await until(async () => (await mailboxOf(before.messageId)).length > 0, 60_000, `captured\n${worker.output()}`);
    expect(await mailboxOf(before.messageId)).toContain(sender.m365Address!.toLowerCase());

    expect(await finishWizard(id, "admin@bank.example")).toEqual({ ok: true });
    // The capture in progress stops at its next lease renewal (a second here) and starts again with the
    // applied mapping: a message sent from then on reaches the other person's mailbox instead.
    let sent = 0;
    let last = "";
    await until(
      async () => {
        if (last && (await mailboxOf(last)).includes(other.m365Address!.toLowerCase())) return true;
        last = h.symphony.addMessage({
          streamId: room.id,
          senderId: sender.id,
          text: `after Save changes ${++sent}`,
        }).messageId;
        await sleep(1_000);
        return false;
      },
      60_000,
      "a message captured with the applied mapping",
    );
    expect(await mailboxOf(last)).not.toContain(sender.m365Address!.toLowerCase());
    await stopWorkers();
  }, 150_000);

  it("reads on without its acknowledgement id once the agent no longer knows it (400), and captures what follows", async () => {
    const h = await datahoseHarness("capture-ackid");
    h.symphony.setDatahose({ readTimeoutMs: 500 });
    const lease = () => db.captureLease.findUnique({ where: { connectorId: h.connector.id } });
    spawn(h);
    await until(async () => Boolean((await lease())?.ackId), 30_000, "a read acknowledged");
    await stopWorkers();
    // Whether a real agent forgets ackIds (a long pause, its own restart) is not documented; the BDKs
    // start every process without one. Kept in the lease, the one the capture holds would be sent forever.
    h.symphony.forgetDatahoseAckIds();
    const worker = spawn(h);
    const room = h.symphony.org.streams.find((stream) => stream.type === "ROOM")!;
    const message = h.symphony.addMessage({ streamId: room.id, text: "after the agent forgot the ackId" });
    await until(
      async () =>
        (await db.sourceMessage.count({ where: { connectorId: h.connector.id, messageId: message.messageId } })) > 0,
      60_000,
      `the message captured\n${worker.output()}`,
    );
    expect(worker.output()).toContain("the Datahose refused the acknowledgement id; reading without it");
    await sleep(2_000); // the refused ackId is not sent again
    expect(h.symphony.datahoseStats.refusedAckIds).toBe(1);
    expect((await db.connector.findUniqueOrThrow({ where: { id: h.connector.id } })).health).toBe("HEALTHY");
    await stopWorkers();
  }, 120_000);

  it.each([
    ["", false],
    [", also once the agent has forgotten its acknowledgement id", true],
  ])(
    "drains the feed an earlier version asked for before reading its own%s, and captures a shared post with the post it shares",
    async (_, forgotten) => {
      const h = await datahoseHarness(`capture-feed-change${forgotten ? "-forgotten" : ""}`);
      const waiting = await upgradedFrom(h);
      // The drain then reads that feed on without it: what it held comes again after the visibility timeout.
      if (forgotten) h.symphony.forgetDatahoseAckIds();

      const worker = spawn(h);
      await until(
        async () => (await recorded(h, waiting)) === 4,
        60_000,
        `the earlier feed drained\n${worker.output()}`,
      );
      expect(h.symphony.datahoseStats.refusedAckIds).toBe(forgotten ? 1 : 0);
      await until(async () => (await leaseOf(h)).feedTypes.includes("SHAREDPOST"), 30_000, "the new feed read");

      // A shared wall post (this small organisation has one wall: its author shares an earlier post).
      const wall = h.symphony.org.streams.find((stream) => stream.type === "POST" && stream.messageCount > 0)!;
      const original = h.symphony.history(wall.id)[0]!;
      const share = h.symphony.addMessage({
        streamId: wall.id,
        text: "worth a read",
        shares: { streamId: wall.id, messageId: original.messageId },
      });
      const author = h.symphony.org.people.find((person) => person.id === share.user.userId)!;
      const imported = () =>
        (h.m365.items(author.symphonyEmail) ?? []).find(
          (item) => item.internetMessageId === messageIdFor(share.messageId),
        );
      await until(() => Promise.resolve(Boolean(imported())), 60_000, `the share imported\n${worker.output()}`);
      // The item as Outlook reads it.
      const token = await createTokenProvider(
        parseM365Settings({ ...h.environment.m365, tenantId: h.m365.tenantId }),
      ).getAccessToken();
      const response = await fetch(
        `${h.m365.graphBaseUrl}/users/${encodeURIComponent(author.symphonyEmail)}/messages/${encodeURIComponent(imported()!.id)}`,
        { headers: { Authorization: `Bearer ${token}` } },
      );
      const body = ((await response.json()) as { body: { content: string } }).body.content;
      expect(body).toContain("worth a read");
      expect(body).toContain(`Shared post by ${original.user.displayName}`);
      expect(body).toMatch(/<blockquote>/);
      await stopWorkers();
    },
    180_000,
  );

  it("drains the earlier version's feed through failed reads and a worker killed mid-drain, each message once per mailbox", async () => {
    const h = await datahoseHarness("capture-feed-change-faults");
    const waiting = await upgradedFrom(h);
    const messages = waiting.map((id) => h.symphony.history(roomOf(h).id).find((m) => m.messageId === id)!);
    const first = spawn(h);
    // The two messages nobody had read are recorded at once; then every request to the pod fails (503).
    await until(async () => (await recorded(h, waiting)) >= 2, 60_000, `the drain started\n${first.output()}`);
    h.symphony.setFaults({ serverErrorShare: 1 });
    await until(
      () => Promise.resolve(first.output().includes("reading the previous Datahose feed failed; retrying")),
      60_000,
      `a failed read of the earlier feed\n${first.output()}`,
    );
    expect((await leaseOf(h)).feedTypes).not.toContain("SHAREDPOST");
    await first.kill("SIGKILL");
    h.symphony.setFaults({ serverErrorShare: 0 });
    // The next worker takes the lease once it expires, and drains from the last recorded ackId.
    const second = spawn(h);
    await until(async () => (await recorded(h, waiting)) === 4, 90_000, `the earlier feed drained\n${second.output()}`);
    await until(async () => (await leaseOf(h)).feedTypes.includes("SHAREDPOST"), 60_000, "the new feed read");
    const expected = expectedPairs(h, messages);
    await until(
      () => Promise.resolve(countPairs(h, expected).missing.length === 0),
      60_000,
      `every pair in its mailbox\n${second.output()}`,
    ).catch(() => {});
    expect(countPairs(h, expected)).toEqual({ missing: [], duplicated: [], unexpected: [] });
    await stopWorkers();
  }, 240_000);

  it("says plainly that the pod does not have Datahose, and tells the admins once", async () => {
    const h = await datahoseHarness("capture-no-addon");
    h.symphony.setDatahose({ entitled: false });
    // The admins' webhook (NOTIFY_WEBHOOK_URL): what it receives.
    const posted: Array<{ event: string; reason: string; connector: { id: string } }> = [];
    const hook = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        posted.push(JSON.parse(body) as (typeof posted)[number]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    const { port } = hook.address() as AddressInfo;
    const worker = spawnWorker(workerEnv(h, { ...captureEnv, NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` }));
    workers.push(worker);
    await until(
      async () =>
        (await db.connector.findUniqueOrThrow({ where: { id: h.connector.id } })).health === "NEEDS_ATTENTION",
      60_000,
    );
    const connector = await db.connector.findUniqueOrThrow({ where: { id: h.connector.id } });
    expect(connector.healthReason).toBe(NO_DATAHOSE);
    expect(connector.healthReason).toContain("This pod does not have Datahose");
    const lease = await db.captureLease.findUniqueOrThrow({ where: { connectorId: h.connector.id } });
    expect(lease.error).toBe(NO_DATAHOSE);
    // Paused (not retried in a loop) until an admin has had time to act.
    const reads = h.symphony.stats.byRoute["POST /agent/v5/events/read"] ?? 0;
    await sleep(3_000);
    expect(h.symphony.stats.byRoute["POST /agent/v5/events/read"] ?? 0).toBe(reads);
    await until(() => Promise.resolve(posted.length > 0), 15_000, "the webhook's message").catch(() => {});
    expect(posted.map(({ event, reason, connector }) => ({ event, reason, connector: connector.id }))).toEqual([
      { event: "connector.needs_attention", reason: NO_DATAHOSE, connector: h.connector.id },
    ]);
    await new Promise((resolve) => hook.close(resolve));
  }, 120_000);

  it("shows Degraded while Symphony keeps answering server errors, and healthy again once capture reads", async () => {
    const h = await datahoseHarness("capture-degraded");
    const connector = () => db.connector.findUniqueOrThrow({ where: { id: h.connector.id } });
    h.symphony.setFaults({ serverErrorShare: 1 });
    // Degraded after 3 s of errors instead of 10 minutes.
    const worker = spawnWorker(workerEnv(h, { ...captureEnv, WORKER_DEGRADED_AFTER_MINUTES: "0.05" }));
    workers.push(worker);
    await until(async () => (await connector()).health === "DEGRADED", 90_000, `degraded\n${worker.output()}`);
    expect((await connector()).healthReason).toMatch(
      /^Real-time capture has been failing for \d+ minutes?: Symphony's pod is answering with server errors/,
    );
    h.symphony.setFaults({ serverErrorShare: 0 });
    await until(async () => (await connector()).health === "HEALTHY", 90_000, `healthy again\n${worker.output()}`);
    expect(await connector()).toMatchObject({ healthReason: null, failingSince: null });
    await stopWorkers();
  }, 240_000);
});

/** Messages added to any conversation of the pod since `since` (the live traffic), from the sandbox's own store. */
function liveMessages(h: Harness, since: number): V4Message[] {
  return h.symphony.org.streams.flatMap((stream) =>
    h.symphony.history(stream.id).filter((message) => message.timestamp >= since && message.diagnostic === undefined),
  );
}

/**
 * (mailbox | item key) pairs the messages must give: the members present at the message's time and its
 * sender, never the bot, who have a mailbox (by their Symphony address).
 */
function expectedPairs(h: Harness, messages: V4Message[]): Set<string> {
  const mailboxes = new Set(h.m365.mailboxes().map((user) => user.mail.toLowerCase()));
  const people = new Map(
    [...h.symphony.org.people, h.symphony.org.bot].map((p) => [p.id, p.symphonyEmail.toLowerCase()]),
  );
  const pairs = new Set<string>();
  for (const message of messages) {
    const present = h.symphony
      .currentMembers(message.stream.streamId)
      .filter((member) => member.joinDate <= message.timestamp)
      .map((member) => member.person.id);
    for (const id of new Set([...present, message.user.userId])) {
      const email = people.get(id);
      if (id === h.symphony.org.bot.id || !email || !mailboxes.has(email)) continue;
      pairs.add(`${email}|${itemKey(h.connector.id, message.messageId)}`);
    }
  }
  return pairs;
}

function countPairs(h: Harness, expected: Set<string>) {
  const counts = new Map<string, number>();
  for (const user of h.m365.mailboxes()) {
    for (const item of h.m365.items(user.mail) ?? []) {
      const key = item.extendedProperties.find((property) => /SymphonyItemKey/i.test(property.id))?.value;
      const pair = `${user.mail.toLowerCase()}|${key ?? item.id}`;
      counts.set(pair, (counts.get(pair) ?? 0) + 1);
    }
  }
  return {
    missing: [...expected].filter((pair) => !counts.has(pair)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([pair, n]) => `${pair} x${n}`),
    unexpected: [...counts.keys()].filter((pair) => !expected.has(pair)),
  };
}
