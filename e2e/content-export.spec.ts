import { readFileSync } from "node:fs";
import { expect, test, type BrowserContext, type Locator, type Page } from "@playwright/test";
import { parse } from "csv-parse/sync";
import * as openpgp from "openpgp";
import { exportModel } from "../sandbox/symphony/export-model";
import { demoOrg, sandbox, secrets } from "./demo";
import { ADMIN, check, signIn } from "./journey";

// Content Export as a new admin sets it up: through the File Management API with a PGP key (a wrong
// one first), imported and reconciled; and over SFTP, with the server's host key checked and confirmed.
const suffix = Date.now().toString(36);
const apiName = `Content Export API ${suffix}`;
const sftpName = `Content Export SFTP ${suffix}`;

/** Every response the app sent to the admin's browser, searched for secrets at the end. */
const seen: { what: string; text: string }[] = [];
const pendingBodies: Promise<void>[] = [];
/** Secrets the admin typed that the demo does not know about (the wrong PGP key). */
const typedSecrets: { name: string; value: string }[] = [];

function watch(context: BrowserContext, appOrigin: string) {
  context.on("response", (response) => {
    if (!response.url().startsWith(appOrigin)) return;
    pendingBodies.push(
      response.body().then(
        (body) =>
          void seen.push({ what: `${response.request().method()} ${response.url()}`, text: body.toString("utf8") }),
        () => undefined, // redirects have no body
      ),
    );
  });
}

function allSecrets() {
  return [...secrets(), ...typedSecrets];
}

/** Fails naming each secret found in the page's HTML as it is now. */
async function expectNoSecretIn(page: Page, what: string) {
  const html = await page.content();
  seen.push({ what, text: html });
  expect(
    allSecrets()
      .filter((secret) => html.includes(secret.value))
      .map((secret) => `${secret.name} in ${what}`),
  ).toEqual([]);
}

async function startWizard(page: Page, name: string) {
  await page.goto("/connectors/new/terms");
  await page.getByLabel("I accept the terms of service").check();
  await page.getByRole("button", { name: "Next", exact: true }).click();
  await expect(page).toHaveURL(/\/connectors\/new\/name\?id=/);
  await page.getByLabel("Connector name").fill(name);
  await page.getByRole("button", { name: "Next", exact: true }).click();
  await expect(page).toHaveURL(/\/connectors\/new\/source/);
  await expect(page.getByRole("heading", { name: "Choose the source" })).toBeVisible();
}

/** Automatic mapping, then admin consent, up to the review step. */
async function mapAndConsent(page: Page) {
  await expect(page).toHaveURL(/\/connectors\/new\/mapping/);
  await page.getByLabel("Automatic (recommended)").check();
  await page.getByRole("button", { name: "Next", exact: true }).click();
  await expect(page).toHaveURL(/\/connectors\/new\/consent/);
  await page.getByRole("button", { name: "Provide consent" }).click();
  await page.getByRole("button", { name: "Accept" }).click();
  await expect(page.getByText(/Consent granted for tenant/)).toBeVisible();
  await page.getByRole("link", { name: "Next", exact: true }).click();
  await expect(page).toHaveURL(/\/connectors\/new\/review/);
}

/** Clicks Test connection and waits for its own answer (an earlier one may still be on screen). */
async function testConnection(page: Page) {
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/connectors/new/source")),
    page.getByRole("button", { name: "Test connection" }).click(),
  ]);
}

/** The Test connection table: one row per file, cells by column name. */
async function listedFiles(page: Page) {
  const table = page.getByRole("table", { name: "Newest Content Export files" });
  await expect(table).toBeVisible();
  const rows = table.locator("tbody tr");
  const files: { name: string; format: string; size: string; period: string; encryption: string }[] = [];
  for (const row of await rows.all()) {
    const [name, format, size, period, encryption] = await row.getByRole("cell").allInnerTexts();
    files.push({ name: name!, format: format!, size: size!, period: period!, encryption: encryption! });
  }
  return files;
}

/**
 * Encrypted zips of the demo with their period. The API's metadata also gives the format and the key
 * id a file is encrypted to; over SFTP only the name says anything, and the format shows as "—".
 */
function expectExportFiles(
  files: Awaited<ReturnType<typeof listedFiles>>,
  from: { api: true; keyId: string } | { api: false },
) {
  expect(files.length).toBeGreaterThan(0);
  for (const file of files) {
    expect(file.name).toMatch(/^e_.+\.zip\.pgp$/);
    expect(from.api ? ["Actiance XML", "EML"] : ["—"]).toContain(file.format);
    expect(file.size).toMatch(/^\d+(\.\d)? (B|KB|MB)$/);
    expect(file.period).toMatch(/^\d{4}-\d{2}-\d{2}( \d{2}:\d{2})? – \d{4}-\d{2}-\d{2}( \d{2}:\d{2})? UTC$/);
    expect(file.encryption.replace(/\s+/g, " ").trim()).toBe(from.api ? `PGP ${from.keyId}` : "PGP");
  }
}

/** A value in one of the flyout's property lists. */
function property(flyout: Locator, label: string): Locator {
  return flyout.locator("dt", { hasText: new RegExp(`^${label}$`) }).locator("xpath=following-sibling::dd[1]");
}

/** A CSV download started by clicking a link, kept for the secret search. */
async function download(page: Page, link: Locator, what: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent("download"), link.click()]);
  const text = readFileSync(await file.path(), "utf8");
  seen.push({ what, text });
  return text;
}

type ReconciliationRow = Record<
  | "file"
  | "status"
  | "format"
  | "period_start"
  | "period_end"
  | "sha256"
  | "hash_verified"
  | "messages_in_file"
  | "messages_ledgered"
  | "items_imported"
  | "flag",
  string
>;
type LogRow = Record<"symphony_message_id" | "mailbox" | "status" | "m365_item_id" | "source_file" | "sender", string>;

test.describe.serial("Content Export", () => {
  let page: Page;
  let demoKeyId = "";
  /** The files the Files API's Test connection listed (the newest ones). */
  let testedFiles: string[] = [];

  test.beforeAll(async ({ browser, baseURL }) => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    watch(context, new URL(baseURL!).origin);
    page = await context.newPage();
    const key = await openpgp.readPrivateKey({ armoredKey: readFileSync(sandbox().contentExport.pgpKeyFile, "utf8") });
    demoKeyId = (await key.getEncryptionKey()).getKeyID().toHex().toUpperCase();
    await signIn(page, ADMIN);
  });

  test("Files API: Test connection lists the newest files and tells a wrong PGP key from the right one", async () => {
    const s = sandbox();
    const ce = s.contentExport;
    const wrong = await openpgp.generateKey({
      type: "curve25519",
      userIDs: [{ name: "Not the export key", email: "wrong@bank.example" }],
      passphrase: "a passphrase for the wrong key",
      format: "object",
    });
    const wrongArmored = wrong.privateKey.armor();
    typedSecrets.push(
      { name: "wrong PGP key's passphrase", value: "a passphrase for the wrong key" },
      ...wrongArmored
        .split("\n")
        .filter((line) => line.trim().length >= 16 && !line.startsWith("-----"))
        .map((line, i) => ({ name: `wrong PGP private key, line ${i + 2}`, value: line.trim() })),
    );
    const wrongKeyIds = wrong.privateKey.getKeyIDs().map((id) => id.toHex().toUpperCase());

    await startWizard(page, apiName);
    await expect(page.getByLabel(/^Content Export/)).toBeChecked();
    await page.getByLabel("File Management API").check();
    await expect(page.getByLabel("Agent URL")).toBeHidden();
    await page.getByLabel("Pod URL").fill(s.pod);
    await page.getByLabel("Service account user name").fill("archive-bot");
    await page.getByLabel("…or upload the key file").setInputFiles(s.keyFile);
    await page.getByLabel("Paste the armored private key").fill(wrongArmored);
    await page.getByLabel("Passphrase of the key").fill("a passphrase for the wrong key");
    await testConnection(page);

    await expect(page.getByText(/Signed in as archive-bot and listed the Content Export files/)).toBeVisible();
    const files = await listedFiles(page);
    expectExportFiles(files, { api: true, keyId: demoKeyId });
    testedFiles = files.map((file) => file.name);
    const newest = files[0]!.name;
    const mismatch = page.getByRole("alert").filter({ hasText: "it cannot decrypt it" });
    await expect(mismatch).toContainText(`The newest encrypted file, ${newest}, is encrypted to ${demoKeyId}`);
    await expect(mismatch).toContainText(`but your key has ${wrongKeyIds.join(", ")}`);
    await expectNoSecretIn(page, "Source step after testing a wrong PGP key");
    await check(page, "20-ce-source-wrong-pgp-key");

    // Test connection saved nothing and left every field as typed; the wrong PGP key is swapped for the demo's.
    await expect(page.getByLabel("Pod URL")).toHaveValue(s.pod);
    await expect(page.getByLabel("Paste the armored private key")).toHaveValue(wrongArmored);
    await page.getByLabel("Paste the armored private key").fill("");
    await page.getByLabel("…or upload the PGP key file").setInputFiles(ce.pgpKeyFile);
    await page.getByLabel("Passphrase of the key").fill(ce.pgpPassphrase);
    await testConnection(page);
    await expect(
      page
        .getByRole("status")
        .filter({ hasText: `The newest encrypted file, ${newest}, is encrypted to ${demoKeyId};` }),
    ).toContainText(/your key has [0-9A-F, ]+: it can decrypt it\./);
    await expect(page.getByText("it cannot decrypt it")).toHaveCount(0);
    expect((await listedFiles(page)).map((file) => file.name)).toEqual(files.map((file) => file.name));
    await expectNoSecretIn(page, "Source step after testing the right PGP key");
    await check(page, "21-ce-source-pgp-matches");

    await page.getByLabel("…or upload the key file").setInputFiles(s.keyFile);
    await page.getByLabel("…or upload the PGP key file").setInputFiles(ce.pgpKeyFile);
    await page.getByLabel("Passphrase of the key").fill(ce.pgpPassphrase);
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page).toHaveURL(/\/connectors\/new\/mapping/);
    const mappingUrl = page.url();

    // Saved: the step tells what is on file and shows none of it.
    await page.getByRole("link", { name: "Back" }).click();
    await expect(page).toHaveURL(/\/connectors\/new\/source/);
    await expect(page.getByText("Key on file")).toBeVisible();
    await expect(
      page.getByText(new RegExp(`Key [0-9A-F, ]*${demoKeyId}[0-9A-F, ]*\\. Leave the fields empty`)),
    ).toBeVisible();
    await expectNoSecretIn(page, "Source step after saving (Files API)");

    await page.goto(mappingUrl);
    await mapAndConsent(page);
    const source = page.locator("section", { has: page.getByRole("heading", { name: "Source", exact: true }) });
    await expect(source.getByText("Content Export (every conversation of the firm)")).toBeVisible();
    await expect(property(source, "Delivery")).toHaveText("File Management API");
    await expect(property(source, "Service account")).toHaveText("archive-bot");
    await expect(property(source, "PGP decryption key")).toContainText(
      new RegExp(`On file \\(key ids .*${demoKeyId}`, "i"),
    );
    await check(page, "22-ce-review");
  });

  test("Files API: Finish imports every file, with hashes verified, a reconciliation report and the source file logged", async () => {
    // The first run reads every daily file of the demo's 90 days on a shared two-core machine.
    test.setTimeout(360_000);
    await page.getByRole("button", { name: "Finish" }).click();
    await expect(page).toHaveURL(/\/connectors\?connector=/);
    const flyout = page.getByRole("complementary", { name: apiName });
    await expect(flyout.getByText("Connected")).toBeVisible();
    await expect(flyout.getByText(/Last import/)).toBeVisible({ timeout: 300_000 });
    await page.reload();
    await expect(flyout.getByText(/Last import/)).toContainText("Succeeded");
    const imported = Number((await property(flyout, "Items imported").innerText()).replace(/\D/g, ""));
    expect(imported).toBeGreaterThan(0);

    const sourceFiles = flyout.getByRole("region", { name: "Source files" });
    const listed = sourceFiles.getByRole("listitem");
    expect(await listed.count()).toBeGreaterThan(0);
    for (const item of await listed.all()) {
      await expect(item).toContainText(/\.zip\.pgp/);
      await expect(item).toContainText("DONE");
      await expect(item).toContainText(/hash verified \([^)]*sha256/i);
      await expect(item).toContainText(/ · (Actiance XML|EML) · \d+ messages, \d+ items imported · /);
    }
    await expect(sourceFiles.getByText(/messages in the file, .* in the ledger/)).toHaveCount(0);
    await sourceFiles
      .getByRole("heading", { name: "Source files" })
      .evaluate((heading) => heading.scrollIntoView({ block: "start" }));
    await check(page, "23-ce-flyout-source-files");
    const shownNames = (await listed.locator("span.font-mono").allInnerTexts()).map((n) => n.trim());

    const report = await download(
      page,
      sourceFiles.getByRole("link", { name: "Download the reconciliation report (CSV)" }),
      "reconciliation report",
    );
    expect(report.split("\r\n")[0]).toMatch(/^file,status,format,/);
    const files = parse<ReconciliationRow>(report, { columns: true });
    // One daily file per day with messages in the demo organisation, each read once.
    expect(files).toHaveLength(exportModel(demoOrg()).days.length);
    expect(new Set(files.map((f) => f.file)).size).toBe(files.length);
    expect(files.map((f) => f.file)).toEqual(expect.arrayContaining([...shownNames, ...testedFiles]));
    for (const file of files) {
      expect(file.file).toMatch(/\.zip\.pgp$/);
      expect(file.status, file.file).toBe("DONE");
      expect(file.hash_verified, file.file).toMatch(/^yes \(/);
      expect(file.sha256, file.file).toMatch(/^[0-9a-f]{64}$/);
      expect(file.messages_ledgered, file.file).toBe(file.messages_in_file);
      expect(file.flag, file.file).toBe("");
    }
    expect(report).not.toContain("MESSAGES IN FILE != MESSAGES LEDGERED");
    expect(files.reduce((sum, f) => sum + Number(f.items_imported), 0)).toBe(imported);

    const log = await download(page, flyout.getByRole("link", { name: "Download log" }), "status log");
    expect(log.split("\r\n")[0]).toContain(",source_file");
    const rows = parse<LogRow>(log, { columns: true });
    expect(rows.length).toBeGreaterThan(0);
    const names = new Set(files.map((f) => f.file));
    for (const row of rows)
      expect(names.has(row.source_file), `${row.symphony_message_id}: ${row.source_file}`).toBe(true);
    const importedRows = rows.filter((row) => row.status === "IMPORTED");
    expect(importedRows).toHaveLength(imported);

    // One imported item, as its mailbox shows it.
    const item = importedRows.find((row) => row.m365_item_id)!;
    const mailbox = await page.context().newPage();
    await mailbox.goto(
      `${sandbox().m365}/sandbox/mailbox/${encodeURIComponent(item.mailbox)}/messages/${encodeURIComponent(item.m365_item_id)}`,
    );
    await expect(mailbox.getByRole("link", { name: `Back to ${item.mailbox}` })).toBeVisible();
    await expect(mailbox.getByRole("heading", { level: 1 })).not.toHaveText("");
    await mailbox.close();
  });

  test("SFTP: the host key is shown, refused until confirmed, then files are listed and the fingerprint kept", async () => {
    const { sftp, pgpKeyFile, pgpPassphrase } = sandbox().contentExport;
    const fillServer = async () => {
      await page.getByLabel("Host", { exact: true }).fill(sftp.host);
      await page.getByLabel("Port", { exact: true }).fill(String(sftp.port));
      await page.getByLabel("User name", { exact: true }).fill(sftp.username);
      await page.getByLabel("Remote folder").fill(sftp.folder);
    };
    const fillSecrets = async () => {
      await page.getByLabel("Password of the SFTP user").fill(sftp.password);
      await page.getByLabel("…or upload the PGP key file").setInputFiles(pgpKeyFile);
      await page.getByLabel("Passphrase of the key").fill(pgpPassphrase);
    };

    await startWizard(page, sftpName);
    await page.getByLabel("SFTP", { exact: true }).check();
    await expect(page.getByLabel("Pod URL")).toBeHidden();
    await fillServer();
    await page.getByLabel("Password", { exact: true }).check();
    await fillSecrets();
    await testConnection(page);

    const hostKey = page.getByRole("group", { name: "Host key of the SFTP server" });
    await expect(hostKey).toBeVisible();
    await expect(hostKey.locator("code").first()).toHaveText(sftp.hostKeySha256);
    await expect(hostKey).toContainText(`key of ${sftp.host}:${sftp.port}`);
    await expect(page.getByRole("status").filter({ hasText: "nothing else was sent to it" })).toBeVisible();
    await expect(page.getByRole("table", { name: "Newest Content Export files" })).toHaveCount(0);
    const confirm = page.getByLabel("I have checked this fingerprint with the SFTP server's administrator");
    await expect(confirm).not.toBeChecked();
    await expectNoSecretIn(page, "Source step after reading the SFTP host key");
    await check(page, "24-ce-sftp-host-key");

    // Saving without confirming the key is refused, and the key stays on screen to be checked.
    await fillSecrets();
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page.getByText(/Tick the box once you have checked this fingerprint/)).toBeVisible();
    await expect(page).toHaveURL(/\/connectors\/new\/source/);
    await expect(hostKey.locator("code").first()).toHaveText(sftp.hostKeySha256);
    await expect(confirm).toHaveAttribute("aria-invalid", "true");
    await check(page, "25-ce-sftp-unconfirmed");

    await confirm.check();
    await fillSecrets();
    await testConnection(page);
    await expect(
      page.getByText(/presented the confirmed host key; signed in as symphony-export and listed \/exports/),
    ).toBeVisible();
    expectExportFiles(await listedFiles(page), { api: false });
    await expect(page.getByRole("status").filter({ hasText: "it can decrypt it" })).toBeVisible();
    await expectNoSecretIn(page, "Source step after testing SFTP");
    await check(page, "26-ce-sftp-files");

    await expect(confirm).toBeChecked();
    await fillSecrets();
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page).toHaveURL(/\/connectors\/new\/mapping/);
    const mappingUrl = page.url();
    await page.getByRole("link", { name: "Back" }).click();
    await expect(page.getByText(`Confirmed for ${sftp.host}:${sftp.port} by ${ADMIN}:`)).toBeVisible();
    await expect(page.getByText(sftp.hostKeySha256)).toBeVisible();
    await expectNoSecretIn(page, "Source step after saving (SFTP)");

    await page.goto(mappingUrl);
    await mapAndConsent(page);
    const source = page.locator("section", { has: page.getByRole("heading", { name: "Source", exact: true }) });
    await expect(property(source, "Delivery")).toHaveText("SFTP");
    await expect(property(source, "SFTP server")).toHaveText(`${sftp.username}@${sftp.host}:${sftp.port}`);
    await expect(property(source, "Folder")).toHaveText(sftp.folder);
    await expect(property(source, "SFTP credential")).toHaveText("On file (encrypted)");
    await expect(property(source, "Host key")).toHaveText(`${sftp.hostKeySha256} (confirmed by ${ADMIN})`);
    await check(page, "27-ce-sftp-review");
  });

  test("no secret appears in any page, response or download of these journeys", async () => {
    await Promise.all(pendingBodies);
    expect(seen.length).toBeGreaterThan(30);
    // The search does read what the app sent: pages carry the connectors' names, the downloads their rows.
    expect(seen.some((h) => h.what.startsWith("GET ") && h.text.includes(apiName))).toBe(true);
    expect(seen.find((h) => h.what === "status log")?.text).toContain(",IMPORTED,");
    const leaks = allSecrets().flatMap((secret) => {
      expect(secret.value.length).toBeGreaterThanOrEqual(16);
      return seen.filter((h) => h.text.includes(secret.value)).map((h) => `${secret.name} in ${h.what}`);
    });
    expect(leaks).toEqual([]);
  });
});
