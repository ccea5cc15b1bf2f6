// Simplified key delivery: a session that may use it reaches the agent without the key manager.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSymphonySandbox, rsaKeyPair, type SymphonySandbox } from "@/sandbox/symphony/index";
import { createSymphonyClient } from "./client";
import { parseSymphonySettings } from "./settings";

type Pod = { simplifiedKeyDelivery: boolean; agentVersion?: string };
const pods: SymphonySandbox[] = [];
let botKey: { privateKeyPem: string; publicKeyPem: string };
beforeAll(async () => {
  botKey = await rsaKeyPair();
});
afterAll(() => Promise.all(pods.map((pod) => pod.close())));

async function pod(options: Pod): Promise<SymphonySandbox> {
  const started = await startSymphonySandbox({
    seed: "key-delivery",
    org: { users: 6, messages: 40, largeAttachments: false },
    botKey,
    ...options,
  });
  pods.push(started);
  return started;
}

function clientOf(sandbox: SymphonySandbox, keyManagerUrl?: string) {
  return createSymphonyClient(
    {
      podUrl: sandbox.podUrl,
      agentUrl: sandbox.agentUrl,
      keyManagerUrl,
      botUsername: sandbox.bot.username,
      privateKeyPem: sandbox.bot.privateKeyPem,
    },
    { retry: { maxAttempts: 1 } },
  );
}

const keyManagerLogins = (sandbox: SymphonySandbox) => sandbox.stats.byRoute["POST /relay/pubkey/authenticate"] ?? 0;

describe("simplified key delivery", () => {
  it("reads messages and attachments without a key manager URL when the pod offers it", async () => {
    const sandbox = await pod({ simplifiedKeyDelivery: true });
    const stream = sandbox.org.streams.find((s) => s.botIsMember)!;
    const sent = sandbox.addMessage({
      streamId: stream.id,
      text: "no km",
      attachments: [{ name: "a.bin", size: 900 }],
    });
    for (const symphony of [clientOf(sandbox), clientOf(sandbox, sandbox.keyManagerUrl)]) {
      const messages = [];
      for await (const page of symphony.messages(stream.id)) messages.push(...page);
      expect(messages.at(-1)?.messageId).toBe(sent.messageId);
      let bytes = 0;
      for await (const chunk of await symphony.downloadAttachment(stream.id, sent.messageId, sent.attachments[0]!.id))
        bytes += (chunk as Buffer).length;
      expect(bytes).toBe(900);
    }
    // Not even when its URL is given: the session makes it unnecessary.
    expect(keyManagerLogins(sandbox)).toBe(0);
  });

  it("signs in to the key manager when the pod does not offer it, and says so when its URL is missing", async () => {
    const sandbox = await pod({ simplifiedKeyDelivery: false });
    await clientOf(sandbox, sandbox.keyManagerUrl).authenticate();
    expect(keyManagerLogins(sandbox)).toBe(1);
    await expect(clientOf(sandbox).authenticate()).rejects.toMatchObject({
      code: "key_manager_required",
      message: expect.stringMatching(/does not offer simplified key delivery.*key manager URL/) as unknown,
    });
  });

  it("needs the key manager with an agent older than 24.12, even when the session allows it", async () => {
    const sandbox = await pod({ simplifiedKeyDelivery: true, agentVersion: "24.10.1" });
    await expect(clientOf(sandbox).listDatafeeds()).rejects.toMatchObject({
      code: "key_manager_required",
      message: expect.stringMatching(/agent is version 24\.10.*24\.12/) as unknown,
    });
    expect(await clientOf(sandbox, sandbox.keyManagerUrl).listDatafeeds()).toEqual([]);
    expect(keyManagerLogins(sandbox)).toBe(1);
  });

  it("takes an empty key manager URL as none", () => {
    const settings = {
      podUrl: "https://acme.symphony.com",
      agentUrl: "https://agent.acme.example",
      botUsername: "bot",
      privateKeyPem: botKey.privateKeyPem,
    };
    for (const keyManagerUrl of ["", " ", null, undefined]) {
      expect(parseSymphonySettings({ ...settings, keyManagerUrl }).keyManagerUrl).toBeUndefined();
    }
    expect(() => parseSymphonySettings({ ...settings, keyManagerUrl: "km.acme" })).toThrow(
      /Key manager URL must start with https:\/\//,
    );
  });
});
