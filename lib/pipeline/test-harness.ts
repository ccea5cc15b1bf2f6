// Test support for lib/pipeline and lib/jobs: both sandboxes over one seeded organisation, a connector
// row pointing at them, and the expected ledger read from the Symphony side.
import { randomBytes } from "node:crypto";
import { db } from "@/lib/db";
import type { Connector } from "@/lib/generated/prisma/client";
import { openRun } from "@/lib/jobs/request";
import { encryptSecret } from "@/lib/secrets";
import { createSymphonyClient, type SymphonyMessage } from "@/lib/symphony";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import type { PipelineEnvironment } from "./environment";

export const sandboxCaDir = process.env.M365_SANDBOX_CA_DIR;
export const canRun = Boolean(sandboxCaDir && process.env.NODE_EXTRA_CA_CERTS && process.env.DATABASE_URL && process.env.AZURE_STORAGE_CONNECTION_STRING);

export type Harness = {
  symphony: SymphonySandbox;
  m365: M365Sandbox;
  environment: PipelineEnvironment;
  connector: Connector;
  newRun(): Promise<string>;
  /** Every message Symphony holds now and the mailboxes it must reach (participants whose Symphony email is a mailbox). */
  expected(): Promise<Array<{ message: SymphonyMessage; mailboxes: string[]; unmapped: string[] }>>;
  close(): Promise<void>;
};

export async function startHarness(org: { seed: string; users: number; messages: number }): Promise<Harness> {
  const symphony = await startSymphonySandbox({ seed: org.seed, org: { users: org.users, messages: org.messages, end: Date.UTC(2026, 10, 1) } });
  const mailboxes = symphony.org.people.flatMap((person) => (person.m365Address ? [{ address: person.m365Address, displayName: person.displayName }] : []));
  const m365 = await startM365Sandbox({ caDir: sandboxCaDir, consented: true, mailboxes });
  const suffix = randomBytes(4).toString("hex");
  const connector = await db.connector.create({
    data: {
      name: `pipeline-test-${suffix}`,
      status: "ACTIVE",
      createdBy: "test",
      podUrl: symphony.podUrl,
      agentUrl: symphony.agentUrl,
      keyManagerUrl: symphony.keyManagerUrl,
      botUsername: symphony.bot.username,
      privateKeyEncrypted: encryptSecret(symphony.bot.privateKeyPem),
      tenantId: m365.tenantId,
      consentGrantedBy: "admin@test",
      consentGrantedAt: new Date(),
    },
  });
  const environment: PipelineEnvironment = {
    m365: { clientId: m365.app.clientId, clientSecret: m365.app.clientSecret, authorityHost: m365.url, graphBaseUrl: m365.graphBaseUrl },
    staging: { connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING!, containerName: `staging-${suffix}` },
  };
  const mailboxSet = new Set(mailboxes.map((m) => m.address.toLowerCase()));
  const emailOf = new Map([...symphony.org.people, symphony.org.bot].map((p) => [p.id, p.symphonyEmail.toLowerCase()]));

  return {
    symphony,
    m365,
    environment,
    connector,
    newRun: async () => (await openRun({ connectorId: connector.id, trigger: "MANUAL", requestedBy: "test" })).run.id,
    async expected() {
      const client = createSymphonyClient({ ...symphony, botUsername: symphony.bot.username, privateKeyPem: symphony.bot.privateKeyPem });
      const result = [];
      for await (const streams of client.listStreams()) {
        for (const stream of streams) {
          const members = (await client.listStreamMembers(stream.id)).map((m) => m.user.userId);
          for await (const page of client.messages(stream.id)) {
            for (const message of page) {
              const emails = [...new Set([...members, message.user.userId].map((id) => emailOf.get(id)!))];
              result.push({ message, mailboxes: emails.filter((e) => mailboxSet.has(e)), unmapped: emails.filter((e) => !mailboxSet.has(e)) });
            }
          }
        }
      }
      return result;
    },
    async close() {
      await Promise.all([symphony.close(), m365.close()]);
    },
  };
}
