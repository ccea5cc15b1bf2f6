import { generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import type { Connector, Prisma } from "@/lib/generated/prisma/client";
import { botKeyContext, encryptSecret, sftpCredentialContext } from "@/lib/secrets";
import { canRun } from "@/lib/testing";
import { freePort } from "@/sandbox/ports";
import { startSymphonySandbox, type SymphonySandbox } from "@/sandbox/symphony";
import { connectorChecks } from "./connectors";
import { runDoctor } from "./index";
import { testSettings } from "./test-support";

// Each connector's Symphony side against the Symphony sandbox: sign-in with the stored key, the roles
// the API says are missing, the SFTP server, and the pod's clock; each failure made to happen.
const org = { users: 6, messages: 20, largeAttachments: false };
const options = { allowPrivateHosts: true, requestTimeoutMs: 5_000 };

let symphony: SymphonySandbox;
const created: string[] = [];

beforeAll(async () => {
  if (!canRun) return;
  symphony = await startSymphonySandbox({ seed: "doctor", org, contentExport: { sftp: true } });
});
afterAll(async () => {
  await symphony?.close();
  if (created.length > 0) await db.connector.deleteMany({ where: { id: { in: created } } });
});

type Source = "CONVERSATIONS" | "FILES_API" | "SFTP";

async function connector(
  source: Source,
  sandbox: SymphonySandbox = symphony,
  change: (id: string) => Partial<Prisma.ConnectorUncheckedCreateInput> = () => ({}),
): Promise<Connector> {
  const id = randomUUID();
  const sftp = symphony.contentExport!.sftp!;
  const row = await db.connector.create({
    data: {
      id,
      name: `doctor-${source.toLowerCase()}-${id.slice(0, 8)}`,
      status: "ACTIVE",
      createdBy: "test",
      sourceKind: source === "CONVERSATIONS" ? "CONVERSATIONS" : "CONTENT_EXPORT",
      exportDelivery: source === "SFTP" ? "SFTP" : "FILES_API",
      podUrl: sandbox.podUrl,
      agentUrl: sandbox.agentUrl,
      keyManagerUrl: sandbox.keyManagerUrl,
      botUsername: sandbox.bot.username,
      privateKeyEncrypted: encryptSecret(sandbox.bot.privateKeyPem, botKeyContext(id)),
      ...(source === "SFTP"
        ? {
            sftpHost: sftp.host,
            sftpPort: sftp.port,
            sftpUsername: sftp.username,
            sftpFolder: sftp.folder,
            sftpCredentialEncrypted: encryptSecret(
              JSON.stringify({ password: sftp.password }),
              sftpCredentialContext(id),
            ),
            sftpHostKeySha256: sftp.hostKeySha256,
          }
        : {}),
      ...change(id),
    },
  });
  created.push(id);
  return row;
}

async function checksOf(row: Connector) {
  const { group, secrets } = await connectorChecks(row, options);
  return {
    group,
    secrets,
    byId: (suffix: string) => group.checks.find((c) => c.id === `connector.${row.id}.${suffix}`)!,
  };
}

const otherKey = () =>
  generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();

describe.skipIf(!canRun)("doctor: a connector reading the service account's conversations", () => {
  it("signs in, sees the roles at work and the pod's clock agreeing", async () => {
    const row = await connector("CONVERSATIONS");
    const { group, byId } = await checksOf(row);
    expect(group.title).toBe(`Connector "${row.name}": conversations of the service account`);
    expect(group.checks.map((c) => [c.title, c.status])).toEqual([
      ["Symphony sign-in (pod, key manager, agent)", "ok"],
      ["Service account roles", "ok"],
      ["Clock (Symphony pod)", "ok"],
    ]);
    expect(byId("signin").detail).toBe(
      `Signed in as ${symphony.bot.username} to the pod (${symphony.podUrl}) and the key manager (${symphony.keyManagerUrl}), and reached the agent (${symphony.agentUrl}).`,
    );
    expect(byId("roles").detail).toMatch(
      /^The service account listed the pod's \d+ conversations, which needs the User Provisioning role\. It is a member of \d+ of them/,
    );
  });

  it("says the pod rejected the key, with no secret in the words", async () => {
    const wrong = otherKey();
    const row = await connector("CONVERSATIONS", symphony, (id) => ({
      privateKeyEncrypted: encryptSecret(wrong, botKeyContext(id)),
    }));
    const { group, byId } = await checksOf(row);
    expect(byId("signin")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(`The pod rejected the bot's key for user "${symphony.bot.username}"`) as unknown,
    });
    expect(byId("roles")).toMatchObject({ status: "skipped", detail: "Not signed in: see the sign-in check." });
    expect(byId("clock").status).toBe("ok");
    const words = JSON.stringify(group);
    for (const line of wrong.split("\n").filter((l) => l.length > 20)) expect(words).not.toContain(line);
  });

  it("says the service account lacks the User Provisioning role", async () => {
    const notAdmin = await startSymphonySandbox({ seed: "doctor", org, botKey: symphony.bot, botIsAdmin: false });
    try {
      const { byId } = await checksOf(await connector("CONVERSATIONS", notAdmin));
      expect(byId("signin").status).toBe("ok");
      expect(byId("roles")).toMatchObject({
        status: "fail",
        detail: expect.stringMatching(/signed in but may not call .* User Provisioning/) as unknown,
        fix: expect.stringContaining("give the service account the User Provisioning role") as unknown,
      });
    } finally {
      await notAdmin.close();
    }
  });

  it("says the stored key cannot be decrypted with this SECRETS_KEY", async () => {
    const row = await connector("CONVERSATIONS", symphony, (id) => ({
      privateKeyEncrypted: encryptSecret(symphony.bot.privateKeyPem, botKeyContext(id), randomBytes(32)),
    }));
    const { byId } = await checksOf(row);
    expect(byId("signin")).toMatchObject({
      status: "fail",
      detail: "The stored private key cannot be decrypted with this SECRETS_KEY.",
      fix: expect.stringContaining("DATA_DIR/secrets.json") as unknown,
    });
  });

  it("fails sign-in when this server's clock is 2 minutes ahead of the pod's, and says the clock is why", async () => {
    const behind = await startSymphonySandbox({ seed: "doctor", org, botKey: symphony.bot, clockSkewMs: -120_000 });
    try {
      const { byId } = await checksOf(await connector("CONVERSATIONS", behind));
      expect(byId("signin")).toMatchObject({
        status: "fail",
        detail: expect.stringMatching(
          /rejected the bot's key.* This server's clock is 2 minutes ahead of the pod's, which alone makes the pod refuse the login JWT/,
        ) as unknown,
      });
      expect(byId("clock")).toMatchObject({
        status: "fail",
        detail: expect.stringMatching(
          /^This server's clock is 2 minutes ahead of the Symphony pod's\. Symphony accepts a login JWT only while it expires within 5 minutes of the pod's time.*With this difference sign-in fails\.$/,
        ) as unknown,
        fix: expect.stringContaining("NTP") as unknown,
      });
    } finally {
      await behind.close();
    }
  });

  it("warns when the clocks differ by 45 seconds but sign-in still works", async () => {
    const ahead = await startSymphonySandbox({ seed: "doctor", org, botKey: symphony.bot, clockSkewMs: 45_000 });
    try {
      const { byId } = await checksOf(await connector("CONVERSATIONS", ahead));
      expect(byId("signin").status).toBe("ok");
      expect(byId("clock")).toMatchObject({
        status: "warn",
        detail: expect.stringMatching(
          /^This server's clock is 4[456] seconds behind the Symphony pod's\..*Sign-in still works, but little margin is left\.$/,
        ) as unknown,
      });
    } finally {
      await ahead.close();
    }
  });

  it("says which server cannot be reached", async () => {
    const port = await freePort();
    const { byId } = await checksOf(
      await connector("CONVERSATIONS", symphony, () => ({ podUrl: `http://127.0.0.1:${port}` })),
    );
    expect(byId("signin")).toMatchObject({
      status: "fail",
      detail: expect.stringContaining(
        `Cannot reach the pod at http://127.0.0.1:${port} (connection refused)`,
      ) as unknown,
    });
    expect(byId("clock")).toMatchObject({
      status: "skipped",
      detail: "The pod did not answer, so its time is not known.",
    });
  });
});

describe.skipIf(!canRun)("doctor: a Content Export connector", () => {
  it("signs in to the Files API and lists the files", async () => {
    const row = await connector("FILES_API");
    const { group, byId } = await checksOf(row);
    expect(group.title).toBe(`Connector "${row.name}": Content Export through the File Management API`);
    expect(group.checks.map((c) => c.status)).toEqual(["ok", "ok", "ok"]);
    expect(byId("signin").detail).toBe(`Signed in to the pod (${symphony.podUrl}) as ${symphony.bot.username}.`);
    expect(byId("roles").detail).toMatch(
      /obtained a File Management API token \(it has the Content Export Reader role\) and listed the Content Export files: the newest is e_/,
    );
  });

  it("says the service account lacks the Content Export Reader role", async () => {
    const noReader = await startSymphonySandbox({
      seed: "doctor",
      org,
      botKey: symphony.bot,
      contentExport: { contentExportReader: false },
    });
    try {
      const { byId } = await checksOf(await connector("FILES_API", noReader));
      expect(byId("signin").status).toBe("ok");
      expect(byId("roles")).toMatchObject({
        status: "fail",
        detail: expect.stringContaining("lacks the Content Export Reader role") as unknown,
        fix: "In the Symphony Admin Portal, give the service account the Content Export Reader role.",
      });
    } finally {
      await noReader.close();
    }
  });

  it("signs in to the SFTP server with the confirmed host key", async () => {
    const row = await connector("SFTP");
    const { group, secrets } = await checksOf(row);
    expect(group.title).toBe(`Connector "${row.name}": Content Export through SFTP`);
    expect(group.checks).toHaveLength(1);
    expect(group.checks[0]).toMatchObject({
      title: "SFTP server",
      status: "ok",
      detail: expect.stringMatching(
        /presented the confirmed host key; signed in as symphony-export and listed \/exports: the newest file is/,
      ) as unknown,
    });
    expect(secrets).toContain(symphony.contentExport!.sftp!.password);
  });

  it("says the SFTP server cannot be reached, or has no confirmed host key", async () => {
    const port = await freePort();
    const down = await checksOf(await connector("SFTP", symphony, () => ({ sftpPort: port })));
    expect(down.group.checks[0]!.status).toBe("fail");
    const unconfirmed = await checksOf(await connector("SFTP", symphony, () => ({ sftpHostKeySha256: null })));
    expect(unconfirmed.group.checks[0]).toMatchObject({
      status: "fail",
      detail: expect.stringMatching(/No host key of .* has been confirmed/) as unknown,
      fix: expect.stringContaining("confirm the server's fingerprint") as unknown,
    });
  });
});

describe.skipIf(!canRun)("doctor: connectors in the whole report", () => {
  it("groups each connector's checks after Microsoft 365 and storage, without a secret", async () => {
    const rest = await connector("CONVERSATIONS");
    const sftp = await connector("SFTP");
    const report = await runDoctor(testSettings(), { connectorIds: [rest.id, sftp.id] });
    // Connectors by name: "doctor-conversations-…" before "doctor-sftp-…".
    expect(report.groups.map((group) => group.id)).toEqual([
      "m365",
      "storage",
      `connector.${rest.id}`,
      `connector.${sftp.id}`,
    ]);
    const words = JSON.stringify(report);
    expect(words).not.toContain(symphony.contentExport!.sftp!.password);
    for (const line of symphony.bot.privateKeyPem.split("\n").filter((l) => l.length > 20))
      expect(words).not.toContain(line);
  });
});
