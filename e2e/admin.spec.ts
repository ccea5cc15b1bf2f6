import { readFileSync } from "node:fs";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test, type Browser, type Page } from "@playwright/test";

// The whole admin journey on the embedded defaults, as a new admin would click it.
const sandboxDir = process.env.E2E_SANDBOX_DIR ?? path.join(process.env.E2E_DATA_DIR ?? path.join(".data", "e2e"), "sandbox");
const shots = path.join("e2e", "screenshots");
const name = `Symphony archive ${Date.now().toString(36)}`;

function sandbox() {
  const state = JSON.parse(readFileSync(path.join(sandboxDir, "demo-state.json"), "utf8"));
  return {
    pod: `http://127.0.0.1:${state.ports.pod}`,
    agent: `http://127.0.0.1:${state.ports.agent}`,
    keyManager: `http://127.0.0.1:${state.ports.keyManager}`,
    keyFile: path.join(sandboxDir, "symphony-bot-key.pem"),
    privateKeyPem: state.bot.privateKeyPem as string,
  };
}

async function signIn(page: Page, email: string) {
  await page.goto("/connectors");
  await expect(page).toHaveURL(/\/signin/);
  await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
  await page.locator(`button[data-email="${email}"]`).click();
  await expect(page.getByRole("heading", { name: "Data connectors" })).toBeVisible();
}

async function check(page: Page, shot: string) {
  await page.screenshot({ path: path.join(shots, `${shot}.png`), fullPage: true });
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

// The Microsoft 365 sandbox serves TLS from a local CA that only Node (NODE_EXTRA_CA_CERTS) trusts.
const trustSandbox = { ignoreHTTPSErrors: true };

/** Server-action requests the admin made, to be replayed with a viewer's cookies. */
const recordedActions: { url: string; headers: Record<string, string>; body: Buffer }[] = [];
let connectorUrl = "";

test.describe.serial("admin experience", () => {
  let page: Page;
  let browser: Browser;

  test.beforeAll(async ({ browser: b }) => {
    browser = b;
    page = await (await browser.newContext(trustSandbox)).newPage();
    page.on("request", (request) => {
      const headers = request.headers();
      if (request.method() === "POST" && headers["next-action"]) {
        recordedActions.push({ url: request.url(), headers, body: request.postDataBuffer() ?? Buffer.alloc(0) });
      }
    });
  });

  test("unauthenticated visits go to sign-in; an admin signs in and sees the empty dashboard", async () => {
    await page.goto("/connectors");
    await expect(page).toHaveURL(/\/signin/);
    await check(page, "00-signin");
    await signIn(page, "admin@sandbox.onmicrosoft.com");
    await expect(page.getByText("Connector admin")).toBeVisible();
    await check(page, "01-dashboard");
  });

  test("walks the six steps with their error cases", async () => {
    const s = sandbox();
    await page.goto("/connectors/new/terms");
    await check(page, "02-terms");
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page.getByText("Accept the terms of service to continue.")).toBeVisible();
    await page.getByLabel("I accept the terms of service").check();
    await page.getByRole("button", { name: "Next", exact: true }).click();

    await expect(page).toHaveURL(/\/connectors\/new\/name\?id=/);
    connectorUrl = page.url();
    await page.getByLabel("Connector name").fill("   ");
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page.getByText("Enter a name for the connector.")).toBeVisible();
    await check(page, "03-name-error");
    await page.getByLabel("Connector name").fill(`  ${name}  `);
    await page.getByRole("button", { name: "Next", exact: true }).click();

    await expect(page).toHaveURL(/\/connectors\/new\/source/);
    await page.getByLabel("Pod URL").fill(s.pod);
    await page.getByLabel("Agent URL").fill(s.agent);
    await page.getByLabel("Key manager URL").fill(s.keyManager);
    await page.getByLabel("Bot user name").fill("archive-bot");
    await page.getByLabel("Paste the key (PEM)").fill("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----");
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page.getByText("This is not a PEM-encoded RSA private key")).toBeVisible();
    await expect(page.getByLabel("Pod URL")).toHaveValue(s.pod);
    await check(page, "04-source-bad-key");
    await page.getByLabel("…or upload the key file").setInputFiles(s.keyFile);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(page.getByText(/Connected as .*archive-bot/)).toBeVisible();
    await check(page, "05-source-tested");
    await page.getByLabel("…or upload the key file").setInputFiles(s.keyFile);
    await page.getByRole("button", { name: "Next", exact: true }).click();

    await expect(page).toHaveURL(/\/connectors\/new\/mapping/);
    await expect(page.getByText(/Symphony users (can|cannot) be mapped/)).toBeVisible();
    await page.getByLabel("Upload a mapping file (CSV)").check();
    await page.getByLabel("Mapping file", { exact: true }).setInputFiles({
      name: "mapping.csv",
      mimeType: "text/csv",
      buffer: Buffer.from("Symphony user,Mailbox\nold.address@bank.example,someone@sandbox.onmicrosoft.com\nnot-a-user,x@sandbox.onmicrosoft.com\n"),
    });
    await page.getByRole("button", { name: "Preview" }).click();
    await expect(page.getByText(/Line 3: "not-a-user" is neither an email address/)).toBeVisible();
    await check(page, "06-mapping-csv-error");
    await page.getByLabel("Automatic (recommended)").check();
    await page.getByRole("button", { name: "Next", exact: true }).click();

    await expect(page).toHaveURL(/\/connectors\/new\/consent/);
    await expect(page.getByText("Consent has not been granted yet.")).toBeVisible();
    await page.getByRole("button", { name: "Provide consent" }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    await expect(page.getByText(/Consent was not granted/)).toBeVisible();
    await check(page, "07-consent-refused");
    await expect(page.getByRole("link", { name: "Next", exact: true })).toHaveCount(0);
    await page.getByRole("button", { name: "Provide consent" }).click();
    await page.getByRole("button", { name: "Accept" }).click();
    await expect(page.getByText(/Consent granted for tenant/)).toBeVisible();
    await check(page, "08-consent-granted");
    await page.getByRole("link", { name: "Next", exact: true }).click();

    await expect(page).toHaveURL(/\/connectors\/new\/review/);
    await expect(page.getByText("Key on file (encrypted)")).toBeVisible();
    await check(page, "09-review");
  });

  test("a duplicate name is refused", async () => {
    const other = await (await browser.newContext(trustSandbox)).newPage();
    await signIn(other, "admin@sandbox.onmicrosoft.com");
    await other.goto("/connectors/new/terms");
    await other.getByLabel("I accept the terms of service").check();
    await other.getByRole("button", { name: "Next", exact: true }).click();
    await other.getByLabel("Connector name").fill(name.toUpperCase());
    await other.getByRole("button", { name: "Next", exact: true }).click();
    await expect(other.getByText("A connector with this name already exists.")).toBeVisible();
    await other.close();
  });

  test("finish activates the connector and queues its first import", async () => {
    await page.getByRole("button", { name: "Finish" }).click();
    await expect(page).toHaveURL(/\/connectors\?connector=/);
    const flyout = page.getByRole("complementary", { name: name });
    await expect(flyout.getByText("Connected")).toBeVisible();
    await expect(flyout.getByText("Finished setup")).toBeVisible();
    await check(page, "10-flyout");
    // Counts move once the import engine processes the queued run (waits for the worker).
    await expect(flyout.getByText(/Last import/)).toBeVisible({ timeout: 90_000 });
    await page.reload();
    await check(page, "11-flyout-after-import");
  });

  test("the status log downloads as CSV without secrets", async () => {
    const id = new URL(page.url()).searchParams.get("connector")!;
    const response = await page.request.get(`/api/connectors/${id}/log`);
    expect(response.status()).toBe(200);
    const text = await response.text();
    expect(text.split("\r\n")[0]).toBe("time,symphony_message_id,stream,sender,mailbox,status,reason,size_bytes,m365_item_id");
    const s = sandbox();
    const keyBody = s.privateKeyPem.split("\n")[1];
    for (const body of [text, await page.content()]) expect(body).not.toContain(keyBody);
    const filtered = await page.request.get(`/api/connectors/${id}/log?status=FAILED&from=2000-01-01`);
    expect(filtered.status()).toBe(200);
    expect((await page.request.get(`/api/connectors/${id}/log?status=bogus`)).status()).toBe(400);
  });

  test("a viewer may look but every admin action is refused over HTTP", async () => {
    const context = await browser.newContext(trustSandbox);
    const viewer = await context.newPage();
    await signIn(viewer, "viewer@sandbox.onmicrosoft.com");
    await expect(viewer.getByText("Read-only")).toBeVisible();
    await viewer.goto(connectorUrl.replace("/name?", "/source?"));
    await expect(viewer).toHaveURL(/denied=1/);
    await check(viewer, "12-viewer-denied");
    expect(recordedActions.length).toBeGreaterThan(3);
    for (const action of recordedActions) {
      const response = await viewer.request.fetch(action.url, { method: "POST", headers: action.headers, data: action.body, maxRedirects: 0 });
      expect(response.status(), `${action.url} replayed by a viewer`).toBeGreaterThanOrEqual(400);
    }
    const callback = await viewer.request.get("/api/consent/callback?admin_consent=True&tenant=x&state=y", { maxRedirects: 0 });
    expect(callback.status()).toBe(403);
    await context.close();
    const anonymous = await browser.newContext(trustSandbox);
    const id = new URL(page.url()).searchParams.get("connector")!;
    expect((await anonymous.request.get(`/api/connectors/${id}/log`)).status()).toBe(401);
    await anonymous.close();
  });

  test("pause, resume and delete with confirmation", async () => {
    const flyout = page.getByRole("complementary", { name: name });
    await flyout.getByRole("button", { name: "Pause" }).click();
    await expect(flyout.getByText("Paused").first()).toBeVisible();
    await flyout.getByRole("button", { name: "Resume" }).click();
    await expect(flyout.getByRole("button", { name: "Pause" })).toBeVisible();
    await flyout.getByRole("button", { name: "Delete" }).click();
    await check(page, "13-delete-confirm");
    await flyout.getByRole("button", { name: "Delete connector" }).click();
    await expect(page.getByRole("link", { name })).toHaveCount(0);
  });
});
