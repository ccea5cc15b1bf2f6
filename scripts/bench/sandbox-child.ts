// Child process of `npm run bench`: hosts the Symphony and Microsoft 365 sandboxes so that the RSS the
// benchmark measures in its own process is the pipeline's, not the sandboxes' (the M365 sandbox keeps
// a summary of every imported item in memory). Driven over the IPC channel by scripts/bench/sandboxes.ts.
import { startM365Sandbox, type M365Sandbox } from "../../sandbox/m365";
import { startSymphonySandbox, type SymphonySandbox } from "../../sandbox/symphony";
import type {
  SandboxCommand,
  SandboxContentExport,
  SandboxDelivery,
  SandboxPair,
  SandboxPairOptions,
} from "./sandboxes";

const pairs = new Map<number, { symphony: SymphonySandbox; m365: M365Sandbox }>();
let nextId = 1;

async function start(options: SandboxPairOptions): Promise<SandboxPair> {
  const symphony = await startSymphonySandbox({
    seed: options.seed,
    org: {
      users: options.users,
      externalUsers: options.externalUsers,
      messages: options.messages,
      streams: options.streams,
      largeAttachments: false,
      smallAttachments: options.attachments ?? true,
      end: Date.UTC(2026, 10, 1),
    },
    botIsContentExportUser: true,
    ...(options.contentExport ? { contentExport: { format: options.contentExport.format, encrypt: true } } : {}),
  });
  const people = symphony.org.people.filter((person) => person.m365Address).slice(0, options.mailboxes ?? Infinity);
  const m365 = await startM365Sandbox({
    caDir: options.caDir,
    consented: true,
    limits: options.limits,
    mailboxes: people.map((person) => ({
      address: person.m365Address!,
      displayName: person.displayName,
      aliases: person.symphonyEmail !== person.m365Address ? [person.symphonyEmail] : [],
    })),
  });
  const contentExport = symphony.contentExport ? await exportSummary(symphony, people) : undefined;
  const id = nextId++;
  pairs.set(id, { symphony, m365 });
  return {
    id,
    symphony: {
      podUrl: symphony.podUrl,
      agentUrl: symphony.agentUrl,
      keyManagerUrl: symphony.keyManagerUrl,
      bot: symphony.bot,
      ...(contentExport ? { contentExport } : {}),
    },
    m365: {
      tenantId: m365.tenantId,
      url: m365.url,
      graphBaseUrl: m365.graphBaseUrl,
      clientId: m365.app.clientId,
      clientSecret: m365.app.clientSecret,
    },
    org: {
      streams: symphony.org.streams.length,
      messages: symphony.org.totalMessages,
      people: symphony.org.people.length,
      mailboxes: people.length,
    },
  };
}

/**
 * The connector's PGP key and the export files, generated here before the run (Symphony writes them
 * ahead of time, so their making is not the pipeline's cost).
 */
async function exportSummary(
  symphony: SymphonySandbox,
  mailboxPeople: SymphonySandbox["org"]["people"],
): Promise<SandboxContentExport> {
  const exporter = symphony.contentExport!;
  const { pgp } = exporter;
  const made = await exporter.files();
  const mailboxes = new Set(mailboxPeople.map((person) => person.symphonyEmail.toLowerCase()));
  return {
    pgp: { privateKeyArmored: pgp.privateKeyArmored, passphrase: pgp.passphrase, keyId: pgp.keyId },
    files: made.length,
    bytes: made.reduce((sum, file) => sum + file.size, 0),
    expectedItems: exporter
      .expectedItems()
      .reduce((sum, item) => sum + item.recipientEmails.filter((email) => mailboxes.has(email)).length, 0),
  };
}

function delivery(id: number): SandboxDelivery {
  const { m365, symphony } = pair(id);
  const mailboxesByKey: Record<string, number> = {};
  const duplicated: string[] = [];
  for (const user of m365.mailboxes()) {
    const held = new Map<string, number>();
    for (const item of m365.items(user.mail) ?? []) {
      const key =
        item.extendedProperties.find((property) => /SymphonyItemKey/i.test(property.id))?.value ?? `no key: ${item.id}`;
      held.set(key, (held.get(key) ?? 0) + 1);
    }
    for (const [key, count] of held) {
      mailboxesByKey[key] = (mailboxesByKey[key] ?? 0) + 1;
      if (count > 1) duplicated.push(`${user.mail}|${key} x${count}`);
    }
  }
  const readableMessages = symphony.org.streams
    .filter((stream) => stream.botIsMember)
    .reduce((sum, stream) => sum + symphony.history(stream.id).filter((m) => m.diagnostic === undefined).length, 0);
  return { mailboxesByKey, duplicated, readableMessages, mailboxUsage: m365.mailboxUsage() };
}

function pair(id: number) {
  const found = pairs.get(id);
  if (!found) throw new Error(`no sandbox pair ${id}`);
  return found;
}

async function handle(command: SandboxCommand): Promise<unknown> {
  switch (command.cmd) {
    case "start":
      return start(command.options);
    case "stats": {
      const { m365, symphony } = pair(command.id);
      return { m365: m365.stats(), symphony: symphony.stats, rss: process.memoryUsage().rss };
    }
    case "setLimits":
      pair(command.id).m365.setLimits(command.limits);
      return null;
    case "rss":
      return process.memoryUsage().rss;
    case "delivery":
      return delivery(command.id);
    case "close": {
      const { m365, symphony } = pair(command.id);
      pairs.delete(command.id);
      await Promise.all([symphony.close(), m365.close()]);
      return null;
    }
  }
}

process.on("message", (message: { seq: number; command: SandboxCommand }) => {
  handle(message.command).then(
    (result) => process.send!({ seq: message.seq, result }),
    (error: unknown) =>
      process.send!({
        seq: message.seq,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
  );
});
process.on("disconnect", () => process.exit(0));
process.send!({ ready: true });
