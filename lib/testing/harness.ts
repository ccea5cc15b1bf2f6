// Test support for lib/pipeline and lib/jobs: both sandboxes over one seeded organisation, a connector
// row pointing at them, and the expected ledger read from the Symphony side.
import { randomBytes, randomUUID } from "node:crypto";
import { db } from "@/lib/db";
import type { Connector } from "@/lib/generated/prisma/client";
import { openRun } from "@/lib/jobs";
import { botKeyContext, encryptSecret } from "@/lib/secrets";
import { createSymphonyClient, type SymphonyMessage } from "@/lib/symphony";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import type { PipelineEnvironment } from "@/lib/pipeline";
import { itemKey } from "@/lib/pipeline";

export const sandboxCaDir = process.env.M365_SANDBOX_CA_DIR;
export const canRun = Boolean(
  sandboxCaDir &&
  process.env.NODE_EXTRA_CA_CERTS &&
  process.env.DATABASE_URL &&
  process.env.AZURE_STORAGE_CONNECTION_STRING,
);

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

export type DeliveryReport = {
  /** (mailbox, message) pairs Symphony's messages must reach. */
  expected: number;
  /** Expected pairs with no item carrying their SymphonyItemKey in the mailbox. */
  missing: string[];
  /** Pairs carried by more than one item of the mailbox. */
  duplicated: string[];
  /** Items whose key is not an expected pair of that mailbox. */
  unexpected: string[];
};

/**
 * The Microsoft 365 sandbox's mailboxes counted by our SymphonyItemKey property against every
 * (message, mapped mailbox) pair Symphony holds: a clean run leaves all three lists empty.
 */
export async function deliveryReport(h: Harness): Promise<DeliveryReport> {
  const counts = new Map<string, number>();
  for (const user of h.m365.mailboxes()) {
    for (const item of h.m365.items(user.mail) ?? []) {
      const key =
        item.extendedProperties.find((property) => /SymphonyItemKey/i.test(property.id))?.value ?? `no key: ${item.id}`;
      const pair = `${user.mail.toLowerCase()}|${key}`;
      counts.set(pair, (counts.get(pair) ?? 0) + 1);
    }
  }
  const expected = new Set(
    (await h.expected()).flatMap(({ message, mailboxes }) =>
      mailboxes.map((mailbox) => `${mailbox}|${itemKey(h.connector.id, message.messageId)}`),
    ),
  );
  return {
    expected: expected.size,
    missing: [...expected].filter((pair) => !counts.has(pair)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([pair, n]) => `${pair} x${n}`),
    unexpected: [...counts.keys()].filter((pair) => !expected.has(pair)),
  };
}

export type HarnessOrg = { seed: string; users: number; messages: number; largeAttachments?: boolean };

export async function startHarness(org: HarnessOrg): Promise<Harness> {
  const symphony = await startSymphonySandbox({
    seed: org.seed,
    org: {
      users: org.users,
      messages: org.messages,
      end: Date.UTC(2026, 10, 1),
      largeAttachments: org.largeAttachments,
    },
  });
  const mailboxes = symphony.org.people.flatMap((person) =>
    person.m365Address ? [{ address: person.m365Address, displayName: person.displayName }] : [],
  );
  const m365 = await startM365Sandbox({ caDir: sandboxCaDir, consented: true, mailboxes });
  const suffix = randomBytes(4).toString("hex");
  const connectorId = randomUUID();
  const connector = await db.connector.create({
    data: {
      id: connectorId,
      name: `pipeline-test-${suffix}`,
      status: "ACTIVE",
      createdBy: "test",
      sourceKind: "CONVERSATIONS",
      podUrl: symphony.podUrl,
      agentUrl: symphony.agentUrl,
      keyManagerUrl: symphony.keyManagerUrl,
      botUsername: symphony.bot.username,
      privateKeyEncrypted: encryptSecret(symphony.bot.privateKeyPem, botKeyContext(connectorId)),
      tenantId: m365.tenantId,
      consentGrantedBy: "admin@test",
      consentGrantedAt: new Date(),
    },
  });
  const environment: PipelineEnvironment = {
    m365: {
      clientId: m365.app.clientId,
      clientSecret: m365.app.clientSecret,
      authorityHost: m365.url,
      graphBaseUrl: m365.graphBaseUrl,
    },
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
      const client = createSymphonyClient({
        ...symphony,
        botUsername: symphony.bot.username,
        privateKeyPem: symphony.bot.privateKeyPem,
      });
      const result = [];
      for await (const streams of client.listStreams()) {
        for (const stream of streams) {
          const members = (await client.listStreamMembers(stream.id)).map((m) => m.user.userId);
          for await (const page of client.messages(stream.id)) {
            for (const message of page) {
              const emails = [...new Set([...members, message.user.userId].map((id) => emailOf.get(id)!))];
              result.push({
                message,
                mailboxes: emails.filter((e) => mailboxSet.has(e)),
                unmapped: emails.filter((e) => !mailboxSet.has(e)),
              });
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

/**
 * Ledger rows of the connector that disagree with the mailboxes: an IMPORTED row must name a Graph
 * message that exists in its mailbox and carries the row's key.
 */
export async function ledgerMismatches(h: Harness): Promise<string[]> {
  const rows = await db.importItem.findMany({
    where: { connectorId: h.connector.id, status: "IMPORTED" },
    include: { sourceMessage: true },
  });
  const wrong: string[] = [];
  for (const row of rows) {
    const item = h.m365.items(row.mailbox)?.find((candidate) => candidate.id === row.graphMessageId);
    const key = itemKey(h.connector.id, row.sourceMessage.messageId);
    if (!item) wrong.push(`${row.mailbox}|${key}: Graph id ${row.graphMessageId} not in the mailbox`);
    else if (!item.extendedProperties.some((property) => property.value === key))
      wrong.push(`${row.mailbox}|${key}: Graph id ${row.graphMessageId} carries another key`);
  }
  return wrong;
}
