import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestRunProgress, listConnectors } from "@/lib/connectors";
import { db } from "@/lib/db";
import { botKeyContext, encryptSecret } from "@/lib/secrets";
import { stopJobQueue } from "./boss";
import { requestImport } from "./request";
import { startWorker, type Worker } from "./worker";
import { canRun, runJob, startHarness, until, waitForRunEnd, type Harness } from "@/lib/testing";

if (!canRun)
  console.warn(
    "lib/jobs health tests skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

/** A webhook receiver: every JSON body posted to it, in order. */
async function startWebhook(): Promise<{ url: string; received: Record<string, unknown>[]; server: Server }> {
  const received: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/T000/secret-token`, received, server };
}

describe.skipIf(!canRun)("connector health, set by the worker", () => {
  let h: Harness;
  let worker: Worker;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  const connector = () => db.connector.findUniqueOrThrow({ where: { id: h.connector.id } });

  beforeAll(async () => {
    h = await startHarness({ seed: "health", users: 6, messages: 30 });
    // Runs of this connector come from the tests only, not from the scheduler.
    await db.connector.update({
      where: { id: h.connector.id },
      data: { nextRunAt: new Date(Date.now() + 86_400_000) },
    });
    webhook = await startWebhook();
    worker = await startWorker({
      concurrency: 1,
      workerId: "health-worker",
      environment: h.environment,
      recovery: { retryDelaySeconds: 1 },
      health: { degradedAfterSeconds: 3 },
      notify: { webhookUrl: webhook.url, appUrl: "https://archive.example.com" },
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await stopJobQueue();
    webhook?.server.close();
    await h?.close();
  });

  it("fails a run whose Symphony sign-in is refused at once, marks the connector Needs attention in plain words, and tells the webhook once", async () => {
    const id = h.connector.id;
    const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "pem",
    }) as string;
    // The issue's connector: a pod URL ending in /pod (sign-in answers 404) and a key the pod rejects.
    await db.connector.update({
      where: { id },
      data: { podUrl: `${h.symphony.podUrl}/pod`, privateKeyEncrypted: encryptSecret(otherKey, botKeyContext(id)) },
    });
    const first = await requestImport({ connectorId: id, trigger: "MANUAL" });
    const run = await waitForRunEnd(first.runId, 30_000);
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe(
      `Symphony sign-in failed: there is no sign-in endpoint at ${h.symphony.podUrl}/pod (POST /login/pubkey/authenticate answered HTTP 404). ` +
        "Check the pod URL in the Source step: the base address, without /pod, /agent or /relay.",
    );
    expect(await runJob(first.runId)).toMatchObject({ retryCount: 0 }); // failed at once, never retried
    expect(await connector()).toMatchObject({ health: "NEEDS_ATTENTION", healthReason: run.error });
    const listed = await listConnectors({ state: "NEEDS_ATTENTION" });
    expect(listed.map((row) => [row.id, row.state, row.healthReason])).toContainEqual([
      id,
      "NEEDS_ATTENTION",
      run.error,
    ]);
    expect((await listConnectors({ state: "CONNECTED" })).map((row) => row.id)).not.toContain(id);

    await until(() => Promise.resolve(webhook.received.length > 0), 10_000, "the webhook is told");
    expect(webhook.received).toEqual([
      {
        event: "connector.needs_attention",
        text: expect.stringContaining(
          `Connector "${h.connector.name}" needs attention: Symphony sign-in failed`,
        ) as unknown,
        connector: { id, name: h.connector.name },
        reason: run.error,
        since: expect.any(String) as unknown,
        url: `https://archive.example.com/connectors?connector=${id}`,
      },
    ]);

    // The URL fixed, the key still rejected: another failure, said in its own words, and no second message.
    await db.connector.update({ where: { id }, data: { podUrl: h.symphony.podUrl } });
    const second = await waitForRunEnd((await requestImport({ connectorId: id, trigger: "MANUAL" })).runId, 30_000);
    expect(second).toMatchObject({
      status: "FAILED",
      error: `Symphony refused the sign-in: the pod rejected the key of service account "${h.symphony.bot.username}". Check the service account's user name and that the public key of the stored private key is registered on it.`,
    });
    expect(await connector()).toMatchObject({ health: "NEEDS_ATTENTION", healthReason: second.error });
    expect(webhook.received).toHaveLength(1);
    expect(JSON.stringify(webhook.received)).not.toContain(otherKey.split("\n")[1]);

    // The right key: the run succeeds and the connector is healthy again.
    await db.connector.update({
      where: { id },
      data: { privateKeyEncrypted: encryptSecret(h.symphony.bot.privateKeyPem, botKeyContext(id)) },
    });
    const third = await waitForRunEnd((await requestImport({ connectorId: id, trigger: "MANUAL" })).runId, 60_000);
    expect(third.status).toBe("SUCCEEDED");
    expect(await connector()).toMatchObject({ health: "HEALTHY", healthReason: null });
    expect((await listConnectors({ state: "CONNECTED" })).map((row) => row.id)).toContain(id);
  });

  it("keeps retrying through Symphony server errors, saying why and when the next try is, turns Degraded past the threshold, and healthy after a run succeeds", async () => {
    const id = h.connector.id;
    const room = h.symphony.org.streams.find((s) => s.type === "ROOM" && s.botIsMember)!;
    h.symphony.addMessage({ streamId: room.id, text: "during the outage" });
    h.symphony.setFaults({ serverErrorShare: 1 });
    try {
      const { runId } = await requestImport({ connectorId: id, trigger: "MANUAL" });
      await until(async () => (await latestRunProgress(id))?.nextAttemptAt != null, 60_000, "the run says it retries");
      const progress = await latestRunProgress(id);
      expect(progress).toMatchObject({
        runId,
        status: "RUNNING",
        error: "Symphony's pod is answering with server errors (POST /login/pubkey/authenticate: HTTP 503).",
        nextAttemptAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/) as unknown,
      });

      await until(async () => (await connector()).health === "DEGRADED", 90_000, "the connector is degraded");
      expect((await connector()).healthReason).toMatch(
        /^Import runs have been failing for \d+ minutes?: Symphony's pod is answering with server errors/,
      );
      expect((await listConnectors({ state: "DEGRADED" })).map((row) => row.id)).toContain(id);
      expect(webhook.received).toHaveLength(1); // Degraded notifies nobody; only Needs attention does

      h.symphony.setFaults({ serverErrorShare: 0 });
      const run = await waitForRunEnd(runId, 90_000);
      expect(run).toMatchObject({ status: "SUCCEEDED", error: null, nextAttemptAt: null });
      expect(await connector()).toMatchObject({ health: "HEALTHY", healthReason: null, failingSince: null });
    } finally {
      h.symphony.setFaults({ serverErrorShare: 0 });
    }
  });
});
