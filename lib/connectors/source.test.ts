import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import { KEY_NEEDED_AGAIN, testSource } from "./source";
import { acceptTerms, saveSource } from "./wizard";

const canRun = Boolean(process.env.DATABASE_URL);

describe.skipIf(!canRun)("the stored bot key only signs in to the servers it was saved with", () => {
  let sandbox: SymphonySandbox;
  let connectorId: string;
  const rogueRequests: string[] = [];
  const rogue = createServer((request, response) => {
    rogueRequests.push(`${request.method} ${request.url}`);
    response.writeHead(200, { "content-type": "application/json" }).end('{"token":"x"}');
  });
  let rogueUrl: string;

  beforeAll(async () => {
    sandbox = await startSymphonySandbox({
      seed: "stored-key",
      org: { users: 4, messages: 8, largeAttachments: false },
    });
    await new Promise<void>((resolve) => rogue.listen(0, "127.0.0.1", resolve));
    rogueUrl = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
    const draft = await acceptTerms(undefined, "test@bank.example");
    if (!draft.ok) throw new Error("draft not created");
    connectorId = draft.connectorId;
    const saved = await saveSource(
      connectorId,
      { ...sandboxSettings(), privateKeyPem: sandbox.bot.privateKeyPem },
      "test",
    );
    expect(saved.ok).toBe(true);
  });
  afterAll(async () => {
    await db.connector.deleteMany({ where: { id: connectorId } });
    await new Promise((resolve) => rogue.close(resolve));
    await sandbox?.close();
  });

  const sandboxSettings = () => ({
    podUrl: sandbox.podUrl,
    agentUrl: sandbox.agentUrl,
    keyManagerUrl: sandbox.keyManagerUrl,
    botUsername: sandbox.bot.username,
    privateKeyPem: "",
    streamTypes: ["IM" as const],
  });

  it("tests with the key on file when the URLs are the saved ones", async () => {
    const result = await testSource(connectorId, sandboxSettings());
    expect(result).toMatchObject({ ok: true, report: { ok: true } });
  });

  it.each(["podUrl", "agentUrl", "keyManagerUrl"] as const)(
    "asks for the key again, and sends nothing, when the %s changes",
    async (field) => {
      const changed = { ...sandboxSettings(), [field]: rogueUrl };
      expect(await testSource(connectorId, changed)).toEqual({
        ok: false,
        errors: { privateKeyPem: KEY_NEEDED_AGAIN },
      });
      expect(await saveSource(connectorId, changed, "test")).toEqual({
        ok: false,
        errors: { privateKeyPem: KEY_NEEDED_AGAIN },
      });
      expect(rogueRequests).toEqual([]);
      const row = await db.connector.findUniqueOrThrow({ where: { id: connectorId } });
      expect(row[field]).toBe(sandboxSettings()[field]);
    },
  );

  it("accepts the new URLs with the key typed again", async () => {
    const moved = { ...sandboxSettings(), podUrl: `${sandbox.podUrl}/`, privateKeyPem: sandbox.bot.privateKeyPem };
    expect(await saveSource(connectorId, moved, "test")).toEqual({ ok: true, connectorId });
  });
});
