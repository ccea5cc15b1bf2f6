// The "Conversations of the service account" source: what the Source step saves and tests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { rsaKeyPair, startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import { getConnectorSettings } from "./queries";
import { STREAM_TYPES } from "./schemas";
import { testSource } from "./source-check";
import { acceptTerms, saveSource } from "./wizard";

const canRun = Boolean(process.env.DATABASE_URL);
const created: string[] = [];
const sandboxes: SymphonySandbox[] = [];

async function draft(): Promise<string> {
  const result = await acceptTerms(undefined, "test@bank.example");
  if (!result.ok) throw new Error("draft not created");
  created.push(result.connectorId);
  return result.connectorId;
}

let botKey: { privateKeyPem: string; publicKeyPem: string };
beforeAll(async () => {
  botKey = await rsaKeyPair();
});
afterAll(async () => {
  await Promise.all(sandboxes.map((sandbox) => sandbox.close()));
  if (canRun) await db.connector.deleteMany({ where: { id: { in: created } } });
});

async function pod(simplifiedKeyDelivery: boolean): Promise<SymphonySandbox> {
  const sandbox = await startSymphonySandbox({
    seed: "conversations-source",
    org: { users: 4, messages: 8, largeAttachments: false },
    botKey,
    simplifiedKeyDelivery,
  });
  sandboxes.push(sandbox);
  return sandbox;
}

const settingsOf = (sandbox: SymphonySandbox, keyManagerUrl: string) => ({
  sourceKind: "CONVERSATIONS",
  podUrl: sandbox.podUrl,
  agentUrl: sandbox.agentUrl,
  keyManagerUrl,
  botUsername: sandbox.bot.username,
  privateKeyPem: sandbox.bot.privateKeyPem,
  streamTypes: ["IM"],
});

describe.skipIf(!canRun)("the key manager URL is optional", () => {
  it("saves an empty one as none, and tests the connection without it when the pod offers simplified key delivery", async () => {
    const sandbox = await pod(true);
    const connectorId = await draft();
    expect(await saveSource(connectorId, settingsOf(sandbox, sandbox.keyManagerUrl), "test")).toMatchObject({
      ok: true,
    });
    expect(await saveSource(connectorId, { ...settingsOf(sandbox, " "), privateKeyPem: "" }, "test")).toMatchObject({
      ok: true,
    });
    expect((await db.connector.findUniqueOrThrow({ where: { id: connectorId } })).keyManagerUrl).toBeNull();

    const tested = await testSource(connectorId, { ...settingsOf(sandbox, ""), privateKeyPem: "" });
    expect(tested).toMatchObject({ ok: true, report: { ok: true, tone: "success" } });
    if (!tested.ok) return;
    expect(tested.report.message).toMatch(/simplified key delivery/);
    expect(sandbox.stats.byRoute["POST /relay/pubkey/authenticate"] ?? 0).toBe(0);
  });

  it("says in plain words that the key manager is needed when the pod does not offer simplified key delivery", async () => {
    const sandbox = await pod(false);
    const tested = await testSource(undefined, settingsOf(sandbox, ""));
    expect(tested).toEqual({
      ok: true,
      report: {
        ok: false,
        tone: "error",
        message:
          "No key manager URL is set, and the pod does not offer simplified key delivery to this service account: enter the key manager URL, or ask Symphony to enable simplified key delivery for the pod.",
      },
    });
  });
});

describe.skipIf(!canRun)("the kinds of conversation to collect", () => {
  it("offers group chats (old MIMs and rooms marked as group chats) apart from rooms, and walls", () => {
    const byValue = new Map(STREAM_TYPES.map((option) => [option.value, option]));
    expect([...byValue.keys()]).toEqual(["IM", "MIM", "ROOM", "POST"]);
    expect(byValue.get("MIM")).toMatchObject({
      label: "Group chats",
      hint: expect.stringMatching(/20\.16/) as unknown,
    });
    expect(byValue.get("ROOM")?.hint).toMatch(/not group chats/);
    expect(byValue.get("POST")?.hint).toMatch(/per user/);
  });

  it.each([[["MIM"]], [["MIM", "POST"]], [["IM", "MIM", "ROOM", "POST"]], [["ROOM"]]])(
    "keeps %j through a round trip of the Source step",
    async (streamTypes) => {
      const sandbox = await pod(false);
      const connectorId = await draft();
      const typed = { ...settingsOf(sandbox, sandbox.keyManagerUrl), streamTypes };
      expect(await saveSource(connectorId, typed, "test")).toMatchObject({ ok: true });
      // The page checks each option whose value is saved; the form sends the checked ones back.
      const saved = (await getConnectorSettings(connectorId))!.streamTypes;
      const checked = STREAM_TYPES.filter((option) => saved.includes(option.value)).map((option) => option.value);
      expect(checked).toEqual(streamTypes);
      expect(
        await saveSource(connectorId, { ...typed, privateKeyPem: "", streamTypes: checked }, "test"),
      ).toMatchObject({ ok: true });
      expect((await getConnectorSettings(connectorId))!.streamTypes).toEqual(streamTypes);
    },
  );
});
