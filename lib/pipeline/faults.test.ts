// Faults: runs worked by a `scripts/worker.ts` child process while Graph throttles and fails, Symphony
// fails and revokes the bot's session, and Azurite and PostgreSQL restart. Each run completes and
// leaves the mailboxes as a clean run does: every (message, mapped mailbox) pair exactly once.
// PostgreSQL and Azurite are this file's own (restarting the shared ones would break other files).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { stopJobQueue } from "@/lib/jobs";
import { requestImport } from "@/lib/jobs";
import { startPrivateServers, type PrivateServers } from "@/lib/testing";
import { runImport } from "./run";
import { itemKey } from "./staged-item";
import { canRun, exactlyOnceProblems, startHarness, type Harness } from "@/lib/testing";
import { spawnWorker, until, waitForRunEnd, workerEnv, type WorkerProcess } from "@/lib/testing";

if (!canRun)
  console.warn(
    "lib/pipeline fault tests skipped: needs vitest's globalSetup (NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

describe.skipIf(!canRun)("runs through faults and restarts", () => {
  let servers: PrivateServers | undefined;
  const open: Array<Harness | WorkerProcess> = [];

  beforeAll(async () => {
    servers = await startPrivateServers("faults");
  });
  afterAll(async () => {
    for (const thing of open.reverse()) await ("close" in thing ? thing.close() : thing.kill());
    await stopJobQueue();
    await servers?.stop();
  });

  async function harness(seed: string, messages: number) {
    const h = await startHarness({ seed, users: 8, messages });
    open.push(h);
    return h;
  }

  function worker(h: Harness) {
    const w = spawnWorker(workerEnv(h));
    open.push(w);
    return w;
  }

  it("completes with Graph answering 429/503 to a fifth of its requests, Symphony failing 10% and revoking the session", async () => {
    const h = await harness("faults-graph", 80);
    // 503s at random, and 429s from a concurrency limit below the 4 requests in flight we send per mailbox.
    // The 503 share alone nearly makes the fifth: how many 429s the limit adds depends on the load.
    h.m365.setFaults({ serviceUnavailableShare: 0.18, retryAfterSeconds: 0, latencyMs: 15 });
    h.m365.setLimits({ concurrentRequests: 3 });
    h.symphony.setFaults({ serverErrorShare: 0.1, retryAfterSeconds: 0 });
    const messages = (await h.expected()).length;

    const { runId } = await requestImport({
      connectorId: h.connector.id,
      trigger: "MANUAL",
      requestedBy: "faults-test",
    });
    const w = worker(h);
    await until(
      async () => (await db.sourceMessage.count({ where: { connectorId: h.connector.id } })) > 0,
      60_000,
      "collect started",
    );
    h.symphony.revokeSessions();
    const run = await waitForRunEnd(runId, 120_000);
    await w.kill("SIGTERM"); // a worker imports with its harness's sandboxes only
    h.symphony.revokeSessions(); // and once more for the check below, which reads Symphony too

    expect(run.status, `${run.error}\n${w.output()}`).toBe("SUCCEEDED");
    expect(run.messagesCollected).toBe(messages);
    const { report, problems } = await exactlyOnceProblems(h);
    expect(problems).toEqual([]);
    expect(run.itemsImported).toBe(report.expected);
    const stats = h.m365.stats();
    const refused =
      stats.serviceUnavailable + stats.throttled.concurrency + stats.throttled.requests + stats.throttled.upload;
    console.info(
      `faults: ${report.expected} items, ${stats.graphRequests} Graph requests, ${refused} answered 429/503 (${((100 * refused) / stats.graphRequests).toFixed(0)}%)`,
    );
    expect(stats.throttled.concurrency).toBeGreaterThan(0);
    expect(refused / stats.graphRequests).toBeGreaterThan(0.15);
  }, 150_000);

  it("completes when Azurite restarts during collect and import and PostgreSQL restarts during import", async () => {
    const h = await harness("faults-restarts", 100);
    h.m365.setFaults({ latencyMs: 20 });
    h.symphony.setFaults({ latencyMs: 10 });
    const messages = (await h.expected()).length;
    // The restarts are timed by import progress: shares of the pairs the bot's conversations must give.
    const pairs = (await h.expectedPairs()).reduce((sum, { mailboxes }) => sum + mailboxes.length, 0);
    const connectorId = h.connector.id;

    const { runId } = await requestImport({ connectorId, trigger: "MANUAL", requestedBy: "faults-test" });
    const w = worker(h);
    const imported = () => db.importItem.count({ where: { connectorId, status: "IMPORTED" } });
    const step = (what: string, condition: () => Promise<boolean>) =>
      until(condition, 60_000, what).catch(async (error: Error) => {
        const ledger = await db.importItem
          .groupBy({ by: ["status"], where: { connectorId }, _count: true })
          .catch(() => "unreadable");
        throw new Error(
          `${error.message}; ledger ${JSON.stringify(ledger)}; worker ${w.child.exitCode === null ? "alive" : `exited ${w.child.exitCode}`}:\n${w.output()}`,
        );
      });
    await step("collect started", async () => (await db.sourceMessage.count({ where: { connectorId } })) > 0);
    await servers!.restartAzurite();
    await step("import started", async () => (await imported()) > pairs * 0.05);
    // Down long enough for a job to end while it is: pg-boss then fails to write the job's end.
    await servers!.restartPostgres(8000);
    await step("import resumed", async () => (await imported()) > pairs * 0.4);
    await servers!.restartAzurite();
    const run = await waitForRunEnd(runId, 120_000);
    expect(w.child.exitCode, `the worker died:\n${w.output()}`).toBeNull();
    // A job ended while PostgreSQL was down, and the worker outlived pg-boss failing to record it.
    expect(w.output()).toContain("(database or service unavailable); the job is retried when it is back");
    await w.kill("SIGTERM");

    const ledger = await db.importItem.groupBy({ by: ["status"], where: { connectorId }, _count: true });
    const jobs =
      await db.$queryRaw`SELECT name, state::text, retry_count, start_after, started_on, expire_in::text FROM pgboss.job WHERE data->>'runId' = ${runId} AND name = 'connector-import'`;
    const pending = await db.importItem.findMany({
      where: { connectorId, status: "PENDING" },
      select: { mailbox: true, attempts: true, claimedBy: true, claimedUntil: true, reason: true, updatedAt: true },
    });
    expect(
      run.status,
      `${run.error}; ledger ${JSON.stringify(ledger)}; pending ${JSON.stringify(pending)}; run job ${JSON.stringify(jobs)}\n${w.output()}`,
    ).toBe("SUCCEEDED");
    expect(run.messagesCollected).toBe(messages);
    const { report, problems } = await exactlyOnceProblems(h);
    expect(problems).toEqual([]);
    expect(run.itemsImported).toBe(report.expected);
  }, 180_000);

  it("never fails an item for throttling, however often Graph throttles its mailbox", async () => {
    // One request at a time per mailbox, as when another worker process sends to it too: the worker's
    // 4 in flight meet 429s, and with one try per request and one failure per item allowed, every
    // throttled request ends its attempt. Throttling says nothing about an item: none may fail.
    const h = await harness("faults-throttled", 12);
    h.m365.setLimits({ concurrentRequests: 1 });
    h.m365.setFaults({ latencyMs: 100 });
    try {
      const summary = await runImport(await h.newRun(), {
        workerId: "faults-throttled",
        environment: { ...h.environment, graphScheduler: { maxAttempts: 1 } },
        delivery: { maxAttempts: 1, maxRetryDelaySeconds: 0 },
      });
      expect(summary.status).toBe("SUCCEEDED");
      expect(summary.counts.failed).toBe(0);
      const retried = await db.importItem.count({
        where: { connectorId: h.connector.id, status: "IMPORTED", attempts: { gt: 1 }, failures: 0 },
      });
      expect(retried, "no attempt met a 429: the test shows nothing").toBeGreaterThan(0);
      const { problems } = await exactlyOnceProblems(h);
      expect(problems).toEqual([]);
    } finally {
      h.m365.setLimits({ concurrentRequests: 4 });
      h.m365.setFaults({ latencyMs: 0 });
    }
  }, 120_000);

  it("records the Graph id of a message created before its item failed, and never fails an item for a throttled upload", async () => {
    // Uploads of attachments over 3 MB wait for an upload budget spent for 10 minutes (Retry-After),
    // longer than an attempt may take, after the message was created: the attempts run out of time,
    // throttled, and the items wait. Then the mailboxes' size limit drops below those messages: the
    // next attempt finds each message, Exchange refuses its large file (413), and the item fails.
    const h = await harness("faults-partial", 12);
    h.m365.setLimits({ uploadBytesPerWindow: 1024 * 1024, uploadWindowMs: 600_000 });
    const environment = { ...h.environment, graphScheduler: { maxRetryAfterMs: 10_000 } };
    const pendingReasons = async () =>
      (await db.importItem.findMany({ where: { connectorId: h.connector.id, status: "PENDING" } })).map(
        (item) => item.reason ?? "",
      );
    const shrink = until(
      async () => {
        const reasons = await pendingReasons();
        return reasons.length > 0 && reasons.every((reason) => /throttling this mailbox/.test(reason));
      },
      50_000,
      "every waiting item throttled once",
    ).then(() => {
      for (const person of h.symphony.org.people) {
        if (person.m365Address) h.m365.setMailbox(person.m365Address, { maxReceiveSize: 1024 * 1024 });
      }
      h.m365.setLimits({ uploadBytesPerWindow: 150 * 1024 * 1024, uploadWindowMs: 300_000 });
    });
    const summary = await runImport(await h.newRun(), {
      workerId: "faults-partial",
      environment,
      delivery: { maxAttempts: 1, attemptTimeoutSeconds: 3, maxRetryDelaySeconds: 1 },
    });
    await shrink;

    expect(summary.status).toBe("PARTIAL");
    const failed = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "FAILED" },
      include: { sourceMessage: true },
    });
    expect(failed.length).toBeGreaterThan(0);
    for (const row of failed) {
      expect(row.reason).toMatch(/maximum receive size.*ErrorMessageSizeExceeded.*the message is in the mailbox/);
      expect(row.reason).toContain(`after ${row.attempts} attempts, 1 of them failed`);
      expect(row.failures).toBe(1); // the throttled attempts before it did not count
      expect(row.attempts).toBeGreaterThan(1);
      const item = h.m365.items(row.mailbox)!.find((candidate) => candidate.id === row.graphMessageId);
      expect(item?.extendedProperties.map((p) => p.value)).toContain(
        itemKey(h.connector.id, row.sourceMessage.messageId),
      );
    }
  }, 90_000);
});
