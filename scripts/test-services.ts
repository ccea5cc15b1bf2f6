// vitest globalSetup: the real services the tests talk to. PostgreSQL is embedded unless DATABASE_URL
// names a server; Azurite is started unless AZURE_STORAGE_CONNECTION_STRING is given. Each run gets a
// fresh, migrated database; its settings reach the test workers through process.env.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import path from "node:path";
import { migrate } from "@/lib/migrations";
import { runSql } from "@/lib/testing";
import { startAzurite, type AzuriteHandle } from "../sandbox/azurite";
import { ensureSandboxCa } from "../sandbox/m365/ca";
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from "../sandbox/postgres";

const root = path.resolve(import.meta.dirname, "..");
const dataDir = path.join(root, ".data/test");
// Each run gets its own server folders, so runs in parallel (several checkouts, or a developer and
// CI) never share a PostgreSQL data directory; they are removed when the run ends.
const runDir = path.join(dataDir, `run-${process.pid}`);

export default async function setup() {
  let postgres: EmbeddedPostgresHandle | undefined;
  let azurite: AzuriteHandle | undefined;

  const adminUrl =
    process.env.DATABASE_URL ??
    (postgres = await startEmbeddedPostgres({ dir: path.join(runDir, "postgres"), database: "postgres" })).url;
  const testDatabase = `connector_test_${process.pid}`;
  await runSql(adminUrl, `DROP DATABASE IF EXISTS "${testDatabase}" WITH (FORCE)`);
  await runSql(adminUrl, `CREATE DATABASE "${testDatabase}"`);
  const testUrl = new URL(adminUrl);
  testUrl.pathname = `/${testDatabase}`;
  await migrate({ databaseUrl: testUrl.toString(), dir: path.join(root, "prisma/migrations") });

  if (!process.env.AZURE_STORAGE_CONNECTION_STRING) {
    azurite = await startAzurite({ dir: path.join(runDir, "azurite") });
    process.env.AZURE_STORAGE_CONNECTION_STRING = azurite.connectionString;
  }

  // Test workers are forked after this, so they start trusting the Microsoft 365 sandbox's local CA
  // (msal-node only talks HTTPS). The sandboxes the tests start serve certificates from the same folder.
  const ca = ensureSandboxCa(path.join(dataDir, "m365-ca"));
  process.env.NODE_EXTRA_CA_CERTS = ca.caCertPath;
  process.env.M365_SANDBOX_CA_DIR = path.dirname(ca.caCertPath);

  process.env.TEST_ADMIN_DATABASE_URL = adminUrl;
  process.env.DATABASE_URL = testUrl.toString();
  process.env.SECRETS_KEY ??= randomBytes(32).toString("base64");
  process.env.NEXTAUTH_SECRET ??= randomBytes(32).toString("hex");
  process.env.DATA_DIR ??= dataDir;
  // The Symphony sandboxes of the tests listen on loopback; network.test.ts turns this off for itself.
  process.env.SYMPHONY_ALLOW_PRIVATE_HOSTS ??= "true";

  return async () => {
    await runSql(adminUrl, `DROP DATABASE IF EXISTS "${testDatabase}" WITH (FORCE)`).catch(() => {});
    await azurite?.stop();
    await postgres?.stop();
    rmSync(runDir, { recursive: true, force: true });
  };
}
