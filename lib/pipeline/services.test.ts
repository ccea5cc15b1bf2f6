import { generateKeyPairSync, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Connector } from "@/lib/generated/prisma/client";
import { needsAnAdministrator } from "@/lib/jobs";
import { botKeyContext, encryptSecret } from "@/lib/secrets";
import { RunSetupError, symphonyClientFor } from "./services";

const key = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
  type: "pkcs8",
  format: "pem",
}) as string;

function saved(urls: { podUrl: string; agentUrl: string }): Connector {
  const id = randomUUID();
  return {
    id,
    name: "Saved long ago",
    ...urls,
    keyManagerUrl: null,
    botUsername: "archive-bot",
    privateKeyEncrypted: encryptSecret(key, botKeyContext(id)),
  } as Connector;
}

describe("a connector whose saved Symphony settings today's rules refuse", () => {
  it.each([
    [
      { podUrl: "https://acme.symphony.com/?tenant=1", agentUrl: "https://agent.acme.example" },
      /Pod URL must be the service's base address/,
    ],
    [
      { podUrl: "https://acme.symphony.com", agentUrl: "http://203.0.113.5:8443" },
      /Agent URL must start with https:\/\//,
    ],
  ])("stops its runs for an admin, naming the field: %j", (urls, reason) => {
    let error: unknown;
    try {
      symphonyClientFor(saved(urls));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RunSetupError);
    expect((error as Error).message).toMatch(
      /^Connector "Saved long ago" has Symphony settings that cannot be used \(/,
    );
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain("PRIVATE KEY");
    expect(needsAnAdministrator(error)).toBe(true);
  });
});
