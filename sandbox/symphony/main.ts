// Standalone Symphony sandbox: npx tsx sandbox/symphony/main.ts --port-base 0 --messages 200
// Prints its settings (URLs, bot name and key pair) as JSON and runs until interrupted.
// --content-export adds export files, the Files API and a storage server (--sftp: an SFTP server too).
import { parseArgs } from "node:util";
import { z } from "zod";
import { startSymphonySandbox } from "./index";

const { values } = parseArgs({
  options: {
    "port-base": { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    seed: { type: "string", default: "demo" },
    users: { type: "string", default: "20" },
    "external-users": { type: "string" },
    messages: { type: "string", default: "200" },
    "datafeed-timeout-ms": { type: "string", default: "30000" },
    "content-export": { type: "boolean", default: false },
    "export-format": { type: "string", default: "ACTIANCE" },
    "export-unencrypted": { type: "boolean", default: false },
    "without-export-reader-role": { type: "boolean", default: false },
    sftp: { type: "boolean", default: false },
    "simplified-key-delivery": { type: "boolean", default: false },
    "agent-version": { type: "string", default: "25.8.1" },
    "datahose-rate": { type: "string", default: "0" },
    "without-datahose": { type: "boolean", default: false },
    "without-export-service-user": { type: "boolean", default: false },
  },
});
const count = z.coerce.number().int().min(0);
const portBase = count.max(65531).parse(values["port-base"]);

const sandbox = await startSymphonySandbox({
  seed: values.seed,
  org: {
    users: count.min(2).parse(values.users),
    externalUsers: values["external-users"] === undefined ? undefined : count.parse(values["external-users"]),
    messages: count.parse(values.messages),
  },
  datafeedTimeoutMs: count.parse(values["datafeed-timeout-ms"]),
  // --datahose-rate N: N live messages a second into random streams; --without-datahose: the pod lacks the add-on.
  datahose: {
    messagesPerSecond: z.coerce.number().min(0).parse(values["datahose-rate"]),
    entitled: !values["without-datahose"],
  },
  // The demo's bot is the pod's Content Export service user (it downloads any conversation's files).
  botIsContentExportUser: !values["without-export-service-user"],
  simplifiedKeyDelivery: values["simplified-key-delivery"],
  agentVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .parse(values["agent-version"]),
  host: values.host,
  // --port-base N puts the pod on N, the agent on N+1 and the key manager on N+2; 0 = ephemeral.
  ports: portBase === 0 ? {} : { pod: portBase, agent: portBase + 1, keyManager: portBase + 2 },
  // ... and the export storage on N+3, SFTP on N+4.
  contentExport:
    values["content-export"] || values.sftp
      ? {
          format: z.enum(["ACTIANCE", "EML"]).parse(values["export-format"]),
          encrypt: !values["export-unencrypted"],
          contentExportReader: !values["without-export-reader-role"],
          sftp: values.sftp,
          ports: portBase === 0 ? {} : { storage: portBase + 3, sftp: portBase + 4 },
        }
      : undefined,
});
const contentExport = sandbox.contentExport;

console.log(
  JSON.stringify(
    {
      podUrl: sandbox.podUrl,
      agentUrl: sandbox.agentUrl,
      keyManagerUrl: sandbox.keyManagerUrl,
      adminUrl: `${sandbox.podUrl}/sandbox`,
      bot: sandbox.bot,
      seed: sandbox.org.seed,
      people: sandbox.org.people.length,
      streams: sandbox.org.streams.length,
      messages: sandbox.org.totalMessages,
      ...(contentExport
        ? {
            contentExport: {
              storageUrl: contentExport.storageUrl,
              files: (await contentExport.files()).length,
              pgp: contentExport.pgp,
              sftp: contentExport.sftp,
            },
          }
        : {}),
    },
    null,
    2,
  ),
);

for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => void sandbox.close().then(() => process.exit(0)));
