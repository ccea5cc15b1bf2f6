// Test support for lib/pipeline and lib/jobs: both sandboxes over one seeded organisation, a connector
// row pointing at them, and the expected ledger read from the Symphony side.
import { randomBytes, randomUUID } from "node:crypto";
import { db } from "@/lib/db";
import type { Connector } from "@/lib/generated/prisma/client";

/** A connector's settings a test or bench sets (an edit waiting for Finish is never one). */
type SourceFields = Omit<Connector, "pendingEdit">;
import { openRun } from "@/lib/jobs";
import { botKeyContext, encryptSecret, pgpKeyContext, sftpCredentialContext } from "@/lib/secrets";
import { startM365Sandbox, type M365Sandbox } from "@/sandbox/m365";
import { startSymphonySandbox, type SymphonySandbox, type V4Message } from "@/sandbox/symphony";
import { createTokenProvider, parseM365Settings } from "@/lib/m365";
import type { PipelineEnvironment } from "@/lib/pipeline";
import { itemKey, spoolFromConfig } from "@/lib/pipeline";

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
  /**
   * Every message the bot can read (the streams it is a member of) and the mailboxes it must reach: the
   * members present at its time by the membership list (current members who had joined; people who left
   * cannot be known on this path) and the sender, never the bot, whose Symphony email finds a mailbox (by its
   * address or an alias), given by the mailbox's address. Messages the agent
   * cannot decrypt are left out (their items fail). From the sandbox's own knowledge, not from lib/.
   */
  expected(): Promise<Array<{ message: V4Message; mailboxes: string[]; unmapped: string[] }>>;
  /** Every message key the connector's source must deliver and the mailboxes it must reach. */
  expectedPairs(): Promise<Array<{ key: string; mailboxes: string[] }>>;
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
    (await h.expectedPairs()).flatMap(({ key, mailboxes }) =>
      mailboxes.map((mailbox) => `${mailbox}|${itemKey(h.connector.id, key)}`),
    ),
  );

  return {
    expected: expected.size,
    missing: [...expected].filter((pair) => !counts.has(pair)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([pair, n]) => `${pair} x${n}`),
    unexpected: [...counts.keys()].filter((pair) => !expected.has(pair)),
  };
}

/** GET on the Microsoft 365 sandbox's Graph as the harness's app registration (a path from /users on). */
export async function graphGet(h: Harness, path: string): Promise<Response> {
  const settings = parseM365Settings({ ...h.environment.m365, tenantId: h.m365.tenantId });
  const token = await createTokenProvider(settings).getAccessToken();
  return fetch(`${h.m365.graphBaseUrl}${path}`, { headers: { Authorization: `Bearer ${token}` } });
}

export type HarnessOrg = {
  seed: string;
  users: number;
  messages: number;
  largeAttachments?: boolean;
  /** Read the firm's Content Export files (through the Files API or SFTP) instead of the bot's conversations. */
  contentExport?: { delivery: "FILES_API" | "SFTP"; format?: "ACTIANCE" | "EML" };
  /**
   * Each mailbox also answers to its owner's older Symphony address (an alias), as in the demo tenant:
   * everyone of our company is then mapped, some through an alias.
   */
  aliases?: boolean;
  /** The pod offers simplified key delivery, and the connector has no key manager URL. */
  simplifiedKeyDelivery?: boolean;
  /** The bot is the pod's Content Export service user, which downloads any conversation's files (default true). */
  botIsContentExportUser?: boolean;
};

export async function startHarness(org: HarnessOrg): Promise<Harness> {
  const symphony = await startSymphonySandbox({
    seed: org.seed,
    org: {
      users: org.users,
      messages: org.messages,
      end: Date.UTC(2026, 10, 1),
      largeAttachments: org.largeAttachments,
    },
    simplifiedKeyDelivery: org.simplifiedKeyDelivery,
    botIsContentExportUser: org.botIsContentExportUser ?? true,
    ...(org.contentExport
      ? { contentExport: { format: org.contentExport.format, sftp: org.contentExport.delivery === "SFTP" } }
      : {}),
  });
  const mailboxes = symphony.org.people.flatMap((person) =>
    person.m365Address
      ? [
          {
            address: person.m365Address,
            displayName: person.displayName,
            aliases: org.aliases && person.symphonyEmail !== person.m365Address ? [person.symphonyEmail] : [],
          },
        ]
      : [],
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
      ...contentExportSettings(connectorId, symphony, org.contentExport?.delivery),
      podUrl: symphony.podUrl,
      agentUrl: symphony.agentUrl,
      keyManagerUrl: org.simplifiedKeyDelivery ? null : symphony.keyManagerUrl,
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
    staging: {
      connectionString: process.env.AZURE_STORAGE_CONNECTION_STRING!,
      containerName: `staging-${suffix}`,
      spool: spoolFromConfig(),
    },
  };
  // Every address that finds a mailbox (its own, its aliases) -> the mailbox's address.
  const mailboxOf = new Map(
    mailboxes.flatMap((m) => [m.address, ...m.aliases].map((a) => [a.toLowerCase(), m.address.toLowerCase()] as const)),
  );
  const mailboxesOf = (emails: string[]) => [...new Set(emails.flatMap((e) => mailboxOf.get(e) ?? []))];
  const emailOf = new Map([...symphony.org.people, symphony.org.bot].map((p) => [p.id, p.symphonyEmail.toLowerCase()]));

  const harness: Harness = {
    symphony,
    m365,
    environment,
    connector,
    newRun: async () => (await openRun({ connectorId: connector.id, trigger: "MANUAL", requestedBy: "test" })).run.id,
    expected() {
      const result = [];
      for (const stream of symphony.org.streams.filter((s) => s.botIsMember)) {
        const members = symphony.currentMembers(stream.id);
        for (const message of symphony.history(stream.id)) {
          if (message.diagnostic !== undefined) continue;
          const present = members.filter((m) => m.joinDate <= message.timestamp).map((m) => m.person.id);
          // The service account (the bot) is never a recipient.
          const people = [...present, message.user.userId].filter((id) => id !== symphony.org.bot.id);
          const emails = [...new Set(people.map((id) => emailOf.get(id)!))];
          result.push({ message, mailboxes: mailboxesOf(emails), unmapped: emails.filter((e) => !mailboxOf.has(e)) });
        }
      }
      return Promise.resolve(result);
    },
    async expectedPairs() {
      if (!org.contentExport) {
        return (await harness.expected()).map(({ message, mailboxes }) => ({ key: message.messageId, mailboxes }));
      }
      return symphony
        .contentExport!.expectedItems()
        .map((item) => ({ key: item.key, mailboxes: mailboxesOf(item.recipientEmails) }));
    },
    async close() {
      await Promise.all([symphony.close(), m365.close()]);
    },
  };
  return harness;
}

/** The connector's source settings: the bot's conversations, or Content Export with the sandbox's PGP key. */
function contentExportSettings(
  connectorId: string,
  symphony: SymphonySandbox,
  delivery: "FILES_API" | "SFTP" | undefined,
): Partial<SourceFields> {
  if (!delivery) return { sourceKind: "CONVERSATIONS" };
  if (!symphony.contentExport) throw new Error("the Symphony sandbox was started without Content Export");
  const { pgp, sftp } = symphony.contentExport;
  const settings: Partial<SourceFields> = {
    sourceKind: "CONTENT_EXPORT",
    exportDelivery: delivery,
    pgpKeyEncrypted: encryptSecret(
      JSON.stringify({ armoredKey: pgp.privateKeyArmored, passphrase: pgp.passphrase }),
      pgpKeyContext(connectorId),
    ),
    pgpKeyIds: [pgp.keyId],
  };
  if (delivery === "SFTP") {
    if (!sftp) throw new Error("the Symphony sandbox was started without its SFTP server");
    Object.assign(settings, {
      sftpHost: sftp.host,
      sftpPort: sftp.port,
      sftpUsername: sftp.username,
      sftpFolder: sftp.folder,
      sftpCredentialEncrypted: encryptSecret(
        JSON.stringify({ privateKeyPem: sftp.privateKeyPem }),
        sftpCredentialContext(connectorId),
      ),
      sftpHostKeySha256: sftp.hostKeySha256,
      sftpHostKeyConfirmedBy: "test",
    });
  }
  return settings;
}

/**
 * Everything that breaks "exactly once": expected pairs missing from the mailboxes, pairs there twice,
 * items no pair asked for, and ledger rows the mailboxes disagree with. A clean run gives no problem.
 */
export async function exactlyOnceProblems(h: Harness): Promise<{ report: DeliveryReport; problems: string[] }> {
  const report = await deliveryReport(h);
  const problems = [
    ...(report.expected === 0 ? ["no (message, mailbox) pair was expected"] : []),
    ...report.missing.map((pair) => `missing ${pair}`),
    ...report.duplicated.map((pair) => `duplicated ${pair}`),
    ...report.unexpected.map((pair) => `unexpected ${pair}`),
    ...(await ledgerMismatches(h)),
  ];
  return { report, problems };
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
