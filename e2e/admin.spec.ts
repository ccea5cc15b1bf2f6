import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import {
  expect,
  test,
  type APIRequestContext,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
} from "@playwright/test";
import { parse } from "csv-parse/sync";
import { currentMembers } from "../sandbox/symphony/membership";
import { aliasedPerson, appLogs, demoOrg, mailboxOf, sandbox, secrets } from "./demo";
import { ADMIN, check, shots, signIn } from "./journey";

// The whole admin journey on the embedded defaults, as a new admin would click it.
const name = `Symphony archive ${Date.now().toString(36)}`;
const VIEWER = "viewer@sandbox.onmicrosoft.com";

// The Microsoft 365 sandbox serves TLS from a local CA that only Node (NODE_EXTRA_CA_CERTS) trusts.
const trustSandbox = { ignoreHTTPSErrors: true };

/** A server-action call as the browser sent it, body complete (files included), keyed by action id. */
type ActionCall = { id: string; url: string; contentType: string; routerState?: string; body: number[] };
const actionCalls = new Map<string, ActionCall>();

/** Every response the app sent to the admin's and viewer's browsers and API calls, searched for secrets at the end. */
const seen: { what: string; text: string }[] = [];
const pendingBodies: Promise<void>[] = [];

async function watch(context: BrowserContext) {
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
  // Playwright's request.postData() leaves file parts out of multipart bodies: record what fetch really sends.
  await context.exposeBinding(
    "__recordServerAction",
    (_source, call: ActionCall) => void actionCalls.set(call.id, call),
  );
  await context.addInitScript(() => {
    const original = window.fetch.bind(window);
    window.fetch = async function (input: RequestInfo | URL, init?: RequestInit) {
      const headers = new Headers(init?.headers);
      const id = headers.get("next-action");
      if (id && init?.body != null) {
        const encoded = new Request(location.href, { method: "POST", body: init.body });
        const body = Array.from(new Uint8Array(await encoded.clone().arrayBuffer()));
        const url = input instanceof Request ? input.url : new URL(String(input), location.href).href;
        const record = (window as unknown as { __recordServerAction: (call: unknown) => Promise<void> })
          .__recordServerAction;
        await record({
          id,
          url,
          contentType: encoded.headers.get("content-type") ?? "text/plain;charset=UTF-8",
          routerState: headers.get("next-router-state-tree") ?? undefined,
          body,
        });
      }
      return original(input, init);
    };
  });
}

async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext(trustSandbox);
  await watch(context);
  return context.newPage();
}

function connectorIdOf(page: Page): string {
  return new URL(page.url()).searchParams.get("connector")!;
}

function count(text: string | null): number {
  return Number((text ?? "").replace(/[^\d]/g, ""));
}

/** The people a new message of `stream` is imported for: its members now, but the bot. */
function recipientsOf(org: ReturnType<typeof demoOrg>, stream: ReturnType<typeof demoOrg>["streams"][number]) {
  return currentMembers(org, stream)
    .map((member) => member.person)
    .filter((person) => person.id !== org.bot.id);
}

/** A value in one of the flyout's property lists. */
function property(flyout: Locator, label: string): Locator {
  return flyout.locator("dt", { hasText: new RegExp(`^${label}$`) }).locator("xpath=following-sibling::dd[1]");
}

async function chartTotal(flyout: Locator): Promise<number> {
  const label = await flyout.getByRole("img", { name: /Items imported per day/ }).getAttribute("aria-label");
  return Number(/: (\d+) in all/.exec(label ?? "")?.[1]);
}

async function dashboardImported(page: Page): Promise<number> {
  return count(await page.getByRole("row").filter({ hasText: name }).getByRole("cell").nth(4).textContent());
}

type LogRow = Record<
  | "time"
  | "symphony_message_id"
  | "stream"
  | "sender"
  | "mailbox"
  | "status"
  | "reason"
  | "size_bytes"
  | "m365_item_id"
  | "source_file"
  | "run_id"
  | "imported_at",
  string
>;

let connectorUrl = "";
let appOrigin = "";

test.describe.serial("admin experience", () => {
  let page: Page;
  let browser: Browser;
  const org = demoOrg();

  test.beforeAll(async ({ browser: b, baseURL }) => {
    browser = b;
    appOrigin = new URL(baseURL!).origin;
    page = await newPage(browser);
  });

  test("unauthenticated visits go to sign-in; an admin signs in and sees the empty dashboard", async () => {
    await page.goto("/connectors");
    await expect(page).toHaveURL(/\/signin/);
    await check(page, "00-signin");
    await signIn(page, ADMIN);
    await expect(page.getByText("Connector admin")).toBeVisible();
    await check(page, "01-dashboard", { phone: true });
  });

  test("walks the six steps with their error cases", async () => {
    const s = sandbox();
    // Purview's path: the catalogue's Symphony tile, its description page, then the wizard.
    await page.getByRole("link", { name: "Add connector" }).click();
    await expect(page.getByRole("heading", { name: "Connector catalogue" })).toBeVisible();
    await check(page, "02-catalogue", { phone: true });
    await page
      .getByRole("main")
      .getByRole("link", { name: /Symphony/ })
      .click();
    await expect(page.getByRole("heading", { name: "Before you start" })).toBeVisible();
    await check(page, "02-description", { phone: true });
    await page.getByRole("link", { name: "Add connector" }).click();
    await expect(page).toHaveURL(/\/connectors\/new\/terms/);
    await check(page, "02-terms", { phone: true });
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page.getByText("Accept the terms of service to continue.")).toBeVisible();
    await page.getByLabel("I accept the terms of service").check();
    await page.getByRole("button", { name: "Next", exact: true }).click();

    await expect(page).toHaveURL(/\/connectors\/new\/name\?id=/);
    connectorUrl = page.url();
    await expect(page.getByText("Data connectors / New Symphony connector")).toBeVisible();
    // This step is done with the keyboard alone: the error summary takes focus and links to the field.
    await page.getByLabel("Connector name").focus();
    await page.keyboard.type("   ");
    await page.keyboard.press("Enter");
    await expect(page.getByText("Enter a name for the connector.")).toBeVisible();
    const summary = page.getByRole("alert").filter({ hasText: "There is a problem with this field" });
    await expect(summary).toBeFocused();
    await check(page, "03-name-error", { phone: true });
    await page.keyboard.press("Tab");
    await expect(summary.getByRole("link", { name: "Connector name" })).toBeFocused();
    await page.keyboard.press("Enter");
    await expect(page.getByLabel("Connector name")).toBeFocused();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.type(`  ${name}  `);
    await page.keyboard.press("Enter");

    await expect(page).toHaveURL(/\/connectors\/new\/source/);
    await expect(page.getByRole("heading", { name: "Choose the source" })).toBeVisible();
    await expect(page.getByText(`Data connectors / ${name}`)).toBeVisible();
    // Content Export is the default; this journey adds messages through the REST API, so it archives
    // the service account's own conversations.
    await expect(page.getByLabel(/^Content Export/)).toBeChecked();
    await expect(page.getByLabel("Agent URL")).toBeHidden();
    await page.getByLabel("Conversations of the service account").check();
    await expect(
      page.getByText(/Symphony decrypts only the conversations the service account\s+is a member of/),
    ).toBeVisible();
    await page.getByLabel("Pod URL").fill(s.pod);
    await page.getByLabel("Agent URL").fill(s.agent);
    await page.getByLabel("Key manager URL").fill(s.keyManager);
    await page.getByLabel("Service account user name").fill("archive-bot");
    await page
      .getByLabel("Paste the key (PEM)")
      .fill("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----");
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page.getByText("This is not a PEM-encoded RSA private key")).toBeVisible();
    await expect(page.getByLabel("Pod URL")).toHaveValue(s.pod);
    await check(page, "04-source-bad-key", { phone: true });
    await page.getByLabel("…or upload the key file").setInputFiles(s.keyFile);
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(page.getByText(/Connected as .*archive-bot/)).toBeVisible();
    await check(page, "05-source-tested");
    // The key just tested is still chosen: Next saves it, not the one on file.
    const keyFile = page.getByLabel("…or upload the key file");
    expect(await keyFile.evaluate((input) => (input as HTMLInputElement).files?.length)).toBe(1);
    await page.getByRole("button", { name: "Next", exact: true }).click();

    // Before consent only what Symphony knows can be told: people of other companies are never mapped.
    await expect(page).toHaveURL(/\/connectors\/new\/mapping/);
    const external = org.people.filter((p) => p.external);
    const internal = org.people.filter((p) => !p.external);
    const unmappedList = page.getByRole("list", { name: "Participants who cannot be mapped" });
    await expect(
      page.getByText(
        `${org.people.length} Symphony users: ${external.length} cannot be mapped, ${internal.length} to be looked up in Microsoft 365`,
      ),
    ).toBeVisible();
    await expect(
      page.getByText(
        `Whether each of the ${internal.length} users with an Email has a Microsoft 365 mailbox is checked once admin consent is given`,
      ),
    ).toBeVisible();
    await expect(unmappedList.getByRole("listitem")).toHaveCount(external.length);
    for (const person of external)
      await expect(
        unmappedList.getByText(
          `${person.displayName} · ${person.symphonyEmail}: external participant (${person.company})`,
        ),
      ).toBeVisible();
    await expect(
      page.getByText(/only these people.s own copies are skipped, and the status log lists them/),
    ).toBeVisible();
    await check(page, "06a-mapping-before-consent", { phone: true });
    await page.getByLabel("Upload a mapping file (CSV)").check();
    await page
      .getByLabel("Mapping file", { exact: true })
      .setInputFiles({
        name: "mapping.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(
          "Symphony user,Mailbox\nold.address@bank.example,someone@sandbox.onmicrosoft.com\nnot-a-user,x@sandbox.onmicrosoft.com\n",
        ),
      });
    await page.getByRole("button", { name: "Preview" }).click();
    await expect(page.getByText(/Line 3: "not-a-user" is neither an email address/)).toBeVisible();
    await check(page, "06-mapping-csv-error");
    // A file of many bad lines: the first ones, then how many more, never a page of thousands.
    const bad = Array.from({ length: 130 }, (_, n) => `bad-${n},x@sandbox.onmicrosoft.com`).join("\n");
    await page
      .getByLabel("Mapping file", { exact: true })
      .setInputFiles({
        name: "many.csv",
        mimeType: "text/csv",
        buffer: Buffer.from(`Symphony user,Mailbox\n${bad}\n`),
      });
    await page.getByRole("button", { name: "Preview" }).click();
    await expect(page.getByText("many.csv: 130 lines cannot be used")).toBeVisible();
    await expect(page.getByText("…and 80 more")).toBeVisible();
    await check(page, "06b-mapping-csv-many-errors", { phone: true });
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

    // After consent the review step has looked every internal address up in the Microsoft 365 directory.
    await expect(page).toHaveURL(/\/connectors\/new\/review/);
    await expect(page.getByText("Key on file (encrypted)")).toBeVisible();
    const withoutMailbox = internal.filter((p) => !mailboxOf(p));
    expect(withoutMailbox.length).toBeGreaterThan(0);
    await expect(
      page.getByText(
        `${org.people.length} Symphony users: ${internal.length - withoutMailbox.length} mapped to a mailbox, ${external.length + withoutMailbox.length} cannot be mapped.`,
      ),
    ).toBeVisible();
    for (const person of withoutMailbox) {
      await expect(
        unmappedList.getByText(
          `${person.displayName} · ${person.symphonyEmail}: no Microsoft 365 mailbox for ${person.symphonyEmail.toLowerCase()}`,
        ),
      ).toBeVisible();
    }
    await expect(unmappedList.getByRole("listitem")).toHaveCount(external.length + withoutMailbox.length);
    await check(page, "09-review", { phone: true });
  });

  test("a duplicate name is refused", async () => {
    const other = await newPage(browser);
    await signIn(other, ADMIN);
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
    await expect(flyout.getByText("No items imported yet")).toBeVisible();
    // No "Last import" time on the dashboard before the first import has finished.
    await expect(page.getByRole("row").filter({ hasText: name }).getByRole("cell").nth(3)).toHaveText("—");
    await check(page, "10-flyout", { phone: true });
    // Counts move once the import engine processes the queued run (waits for the worker).
    await expect(flyout.getByText(/Last import/)).toBeVisible({ timeout: 90_000 });
    // The open flyout follows the run to its end without a reload: its figures are the run's.
    await expect
      .poll(async () => count(await property(flyout, "Items imported").textContent()), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await page.reload();
    expect(count(await property(flyout, "Items imported").textContent())).toBeGreaterThan(0);
    expect(await chartTotal(flyout)).toBe(count(await property(flyout, "Items imported").textContent()));
    // The first run is all there is: its figures are the connector's totals.
    expect(count(await property(flyout, "Total items imported").textContent())).toBe(
      count(await property(flyout, "Items imported").textContent()),
    );
    await check(page, "11-flyout-after-import", { phone: true });
  });

  test("the status log downloads as CSV", async () => {
    const id = connectorIdOf(page);
    const response = await page.request.get(`/api/connectors/${id}/log`);
    expect(response.status()).toBe(200);
    const text = await response.text();
    seen.push({ what: "status log (API)", text });
    expect(text.split("\r\n")[0]).toBe(
      "time,symphony_message_id,stream,sender,mailbox,status,reason,size_bytes,m365_item_id,source_file,run_id,imported_at",
    );
    const filtered = await page.request.get(`/api/connectors/${id}/log?status=skipped&from=2000-01-01&to=2099-12-31`);
    expect(filtered.status()).toBe(200);
    expect(filtered.headers()["content-disposition"]).toContain("status-log-2000-01-01_to_2099-12-31-skipped.csv");
    const skipped = parse<LogRow>(await filtered.text(), { columns: true });
    expect(skipped.length).toBeGreaterThan(0);
    expect(new Set(skipped.map((row) => row.status))).toEqual(new Set(["SKIPPED"]));
    const bogus = await page.request.get(`/api/connectors/${id}/log?status=bogus`);
    expect(bogus.status()).toBe(400);
    expect(await bogus.json()).toEqual({
      error: "The status log filter is not valid: status must be one of pending, imported, skipped, failed, not_read.",
    });

    // The same filters from the flyout: only this run's imported items, in a file named after them.
    const flyout = page.getByRole("complementary", { name: name });
    const logForm = flyout.getByRole("region", { name: "Status log" });
    await logForm.getByLabel("Run").selectOption({ index: 1 });
    await logForm.getByLabel("Status").selectOption("imported");
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      logForm.getByRole("button", { name: "Download filtered log (CSV)" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/-status-log-run-[0-9a-f]{8}-all-dates-imported\.csv$/);
    const imported = parse<LogRow>(readFileSync(await download.path(), "utf8"), { columns: true });
    expect(imported.length).toBeGreaterThan(0);
    expect(new Set(imported.map((row) => row.status))).toEqual(new Set(["IMPORTED"]));
    expect(new Set(imported.map((row) => row.run_id)).size).toBe(1);
    expect(imported.every((row) => !Number.isNaN(Date.parse(row.imported_at)))).toBe(true);
  });

  test("run now collects messages added meanwhile, with progress, moving counts and chart, and logs them", async () => {
    const s = sandbox();
    // A conversation the bot is in (it reads no other) whose people all have a mailbox, among them
    // the person whose Symphony address is an older alias of their mailbox: every new message is
    // imported once per person (the bot itself is never a recipient).
    const uma = aliasedPerson(org);
    const people = (st: (typeof org.streams)[number]) => recipientsOf(org, st);
    const stream = org.streams.find(
      (st) =>
        st.botIsMember &&
        st.type !== "POST" &&
        people(st).every((person) => mailboxOf(person)) &&
        people(st).some((person) => person.id === uma.id),
    )!;
    expect(stream).toBeDefined();
    const mailboxes = people(stream).map((person) => mailboxOf(person)!);

    const flyout = page.getByRole("complementary", { name: name });
    const importedBefore = await dashboardImported(page);
    const chartBefore = await chartTotal(flyout);

    const added: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const response = await page.request.post(`${s.pod}/sandbox/messages`, {
        data: { streamId: stream.id, text: `Run-now check ${i} ${name}`, senderId: i === 1 ? uma.id : undefined },
      });
      expect(response.status()).toBe(201);
      added.push(((await response.json()) as { messageId: string }).messageId);
    }
    const expected = added.length * mailboxes.length;

    await flyout.getByRole("button", { name: "Run now" }).click();
    const progress = flyout.getByRole("progressbar", { name: "Import progress" });
    await expect(progress).toBeVisible();
    await page.screenshot({ path: path.join(shots, "14-run-now-progress.png") });
    await expect(progress).toBeHidden({ timeout: 90_000 });
    await expect(flyout.getByRole("button", { name: "Run now" })).toBeEnabled();
    await expect(property(flyout, "Messages collected")).toHaveText(String(added.length));
    await expect(property(flyout, "Items imported")).toHaveText(String(expected));
    await expect(property(flyout, "Items failed")).toHaveText("0");
    await page.reload();
    expect(await dashboardImported(page)).toBe(importedBefore + expected);
    expect(await chartTotal(flyout)).toBe(chartBefore + expected);
    await check(page, "15-flyout-after-run-now");

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      flyout.getByRole("link", { name: "Download log" }).click(),
    ]);
    const csv = readFileSync(await download.path(), "utf8");
    seen.push({ what: "downloaded status log", text: csv });
    const rows = parse<LogRow>(csv, { columns: true });
    const fresh = rows.filter((row) => added.includes(row.symphony_message_id));
    expect(fresh).toHaveLength(expected);
    for (const messageId of added) {
      const mine = fresh.filter((row) => row.symphony_message_id === messageId);
      // The ledger names a mailbox by the address it was mapped from (for her, the alias).
      expect(mine.map((row) => row.mailbox).sort()).toEqual(
        people(stream)
          .map((person) => person.symphonyEmail.toLowerCase())
          .sort(),
      );
      for (const row of mine) {
        expect(row.status).toBe("IMPORTED");
        expect(row.stream).toBe(`${stream.type} ${stream.id}`);
        expect(row.m365_item_id).not.toBe("");
        expect(row.reason).toBe("");
      }
    }

    // The item as a colleague's mailbox holds it: the sender is named by her Microsoft 365 address (a
    // content search by the mailbox finds it), her Symphony address and user id stay in X-Symphony-* headers.
    const colleague = mailboxes.find((address) => address !== uma.m365Address)!;
    const item = fresh.find((row) => row.symphony_message_id === added[0] && row.mailbox === colleague)!;
    expect(item).toBeDefined();
    const mailboxPage = await newPage(browser);
    await mailboxPage.goto(
      `${s.m365}/sandbox/mailbox/${encodeURIComponent(colleague)}/messages/${encodeURIComponent(item.m365_item_id)}`,
    );
    const headline = mailboxPage.getByRole("row", { name: /^From / });
    await expect(headline).toContainText(`${uma.displayName} <${uma.m365Address}>`);
    await expect(headline).not.toContainText(uma.symphonyEmail);
    const toCell = mailboxPage.getByRole("row", { name: /^To / });
    await expect(toCell).toContainText(colleague);
    await expect(toCell).not.toContainText(org.bot.symphonyEmail);
    const header = (headerName: string) => mailboxPage.getByRole("row", { name: new RegExp(`^${headerName} `) });
    await expect(header("X-Symphony-From-Address")).toContainText(uma.symphonyEmail);
    await expect(header("X-Symphony-Sender-Id")).toContainText(String(uma.id));
    await mailboxPage.screenshot({ path: path.join(shots, "15c-imported-item-mapped-sender.png"), fullPage: true });
    await mailboxPage.close();
  });

  test("a Run now that finds nothing new shows its own figures beside the connector's totals, and its line in the run history", async () => {
    const id = connectorIdOf(page);
    const flyout = page.getByRole("complementary", { name: name });
    const total = await dashboardImported(page);
    await flyout.getByRole("button", { name: "Run now" }).click();
    // The previous run collected messages: this one's "0" says it has finished.
    await expect(property(flyout, "Messages collected")).toHaveText("0", { timeout: 90_000 });
    await expect(property(flyout, "Items imported")).toHaveText("0");
    await page.reload();
    expect(count(await property(flyout, "Total items imported").textContent())).toBe(total);
    expect(await dashboardImported(page)).toBe(total);

    const latest = flyout.getByRole("region", { name: "Run history" }).getByRole("row").nth(1);
    const cells = latest.getByRole("cell");
    await expect(cells.nth(1)).toHaveText("Manual");
    await expect(cells.nth(2)).toHaveText("Succeeded");
    await expect(cells.nth(3)).toHaveText("0"); // imported
    await expect(cells.nth(4)).toHaveText("0"); // skipped
    await expect(cells.nth(5)).toHaveText("0"); // failed
    await expect(cells.nth(6)).toHaveText(/^\d+ (s|min)/); // duration
    const href = await latest.getByRole("link", { name: /^Status log of the run started / }).getAttribute("href");
    expect(href).toMatch(new RegExp(`^/api/connectors/${id}/log\\?run=[0-9a-f-]{36}$`));
    const log = await page.request.get(href!);
    expect(log.status()).toBe(200);
    expect((await log.text()).split("\r\n")[0]).toMatch(/^time,symphony_message_id,/);
    await check(page, "15b-flyout-nothing-new");
    await flyout.getByRole("region", { name: "Run history" }).scrollIntoViewIfNeeded();
    await check(page, "15d-run-history");
  });

  test("a run stopped by Symphony server errors says Retrying, why and when, and finishes once Symphony is back", async () => {
    test.setTimeout(240_000);
    const faults = async (serverErrorShare: number) =>
      expect((await page.request.put(`${sandbox().pod}/sandbox/faults`, { data: { serverErrorShare } })).status()).toBe(
        200,
      );
    const flyout = page.getByRole("complementary", { name: name });
    await faults(1);
    try {
      await flyout.getByRole("button", { name: "Run now" }).click();
      const retrying = flyout.getByRole("status").filter({ hasText: "Retrying:" });
      await expect(retrying).toHaveText(
        /^Retrying: Symphony's pod is answering with server errors \(POST \/login\/pubkey\/authenticate: HTTP 503\)\. Next try at \d\d:\d\d:\d\d UTC\.$/,
        { timeout: 90_000 },
      );
      await page.reload();
      await expect(retrying).toBeVisible();
      const latest = flyout.getByRole("region", { name: "Run history" }).getByRole("row").nth(1);
      await expect(latest.getByRole("cell").nth(2)).toHaveText("Retrying");
      await check(page, "15c-flyout-retrying");
    } finally {
      await faults(0);
    }
    await expect(flyout.getByRole("button", { name: "Run now" })).toBeEnabled({ timeout: 150_000 });
    await page.reload();
    const latest = flyout.getByRole("region", { name: "Run history" }).getByRole("row").nth(1);
    await expect(latest.getByRole("cell").nth(2)).toHaveText("Succeeded");
    await expect(page.getByRole("row").filter({ hasText: name }).getByRole("cell").nth(1)).toContainText("Connected");
  });

  test("a run Microsoft 365 refuses fails at once: the connector needs attention in the list, its filter and the flyout, until a run succeeds", async () => {
    const id = connectorIdOf(page);
    const consent = async (consented: boolean) =>
      expect(
        (await page.request.post(`${sandbox().m365}/sandbox/admin/consent`, { data: { consented } })).status(),
      ).toBe(200);
    const flyout = page.getByRole("complementary", { name: name });
    const status = flyout.getByRole("region", { name: "Connector status with source" });
    const row = page.getByRole("row").filter({ hasText: name });
    // A new message, so that the run has a mailbox to ask Microsoft 365 about.
    const stream = org.streams.find((st) => st.botIsMember && st.type !== "POST")!;
    const added = await page.request.post(`${sandbox().pod}/sandbox/messages`, {
      data: { streamId: stream.id, text: `Needs attention check ${name}` },
    });
    expect(added.status()).toBe(201);
    await consent(false);
    try {
      await flyout.getByRole("button", { name: "Run now" }).click();
      await expect(status).toContainText("Needs attention", { timeout: 60_000 });
      await expect(status).toContainText(
        "Microsoft 365 refused the app. The app has no Microsoft Graph permission in this tenant: ask a global administrator to grant admin consent",
      );
      await expect(row.getByRole("cell").nth(1)).toContainText("Needs attention");
      await check(page, "15e-flyout-needs-attention");
      await page.goto("/connectors?status=NEEDS_ATTENTION");
      await expect(page.getByLabel("Status")).toHaveValue("NEEDS_ATTENTION");
      await expect(row).toContainText("Microsoft 365 refused the app.");
      await check(page, "15f-dashboard-needs-attention");
      await page.goto("/connectors?status=CONNECTED");
      await expect(row).toHaveCount(0);
    } finally {
      await consent(true);
    }
    await page.goto(`/connectors?connector=${id}`);
    await flyout.getByRole("button", { name: "Run now" }).click();
    await expect(row.getByRole("cell").nth(1)).toHaveText("Connected", { timeout: 90_000 });
    await expect(status).not.toContainText("Needs attention");
  });

  test("a mailbox outside the access policy fails its own items; once it is in scope, Retry failed items imports them", async () => {
    const s = sandbox();
    const flyout = page.getByRole("complementary", { name: name });
    const people = (st: (typeof org.streams)[number]) =>
      currentMembers(org, st)
        .map((member) => member.person)
        .filter((person) => person.id !== org.bot.id);
    const stream = org.streams.find(
      (st) => st.botIsMember && st.type !== "POST" && people(st).every((person) => mailboxOf(person)),
    )!;
    const blocked = mailboxOf(people(stream)[0]!)!;
    const policy = async (appAccessBlocked: boolean) =>
      expect(
        (
          await page.request.patch(`${s.m365}/sandbox/admin/mailboxes/${encodeURIComponent(blocked)}`, {
            data: { appAccessBlocked },
          })
        ).status(),
      ).toBe(200);
    await policy(true);
    try {
      const added = await page.request.post(`${s.pod}/sandbox/messages`, {
        data: { streamId: stream.id, text: `Retry check ${name}` },
      });
      expect(added.status()).toBe(201);
      await flyout.getByRole("button", { name: "Run now" }).click();
      await expect(property(flyout, "Items failed")).toHaveText("1", { timeout: 90_000 });
    } finally {
      // The admin adds the mailbox to the policy's scope.
      await policy(false);
    }
    await page.reload();
    const retry = flyout.getByRole("button", { name: "Retry 1 failed item" });
    await expect(retry).toBeVisible();
    await check(page, "15g-flyout-retry-failed", { phone: true });
    await retry.click();
    await expect(flyout.getByRole("status").filter({ hasText: "queued again" })).toHaveText(
      "1 failed item queued again.",
    );
    await expect(flyout.getByRole("button", { name: "Run now" })).toBeEnabled({ timeout: 90_000 });
    await page.reload();
    await expect(retry).toBeHidden();
    await expect(property(flyout, "Items imported")).toHaveText("1");
    await expect(property(flyout, "Items failed")).toHaveText("0");
    await expect(flyout.getByText("Retried failed items (1)")).toBeVisible();
  });

  test("pause and resume", async () => {
    const flyout = page.getByRole("complementary", { name: name });
    await flyout.getByRole("button", { name: "Pause" }).click();
    await expect(flyout.getByText("Paused").first()).toBeVisible();
    await flyout.getByRole("button", { name: "Resume" }).click();
    await expect(flyout.getByRole("button", { name: "Pause" })).toBeVisible();
  });

  test("pause stops a run in progress, which says so, and the first run after Resume imports the rest", async () => {
    const s = sandbox();
    const flyout = page.getByRole("complementary", { name: name });
    const stream = org.streams.find(
      (st) => st.botIsMember && st.type !== "POST" && recipientsOf(org, st).every((person) => mailboxOf(person)),
    )!;
    // More items than are in flight at once (4 per mailbox for the run and for each of its 4 helpers):
    // some are left when the run stops.
    const messages = 40;
    const expected = messages * recipientsOf(org, stream).length;
    for (let i = 1; i <= messages; i++) {
      const added = await page.request.post(`${s.pod}/sandbox/messages`, {
        data: { streamId: stream.id, text: `Pause check ${i} ${name}` },
      });
      expect(added.status()).toBe(201);
    }
    // A slow Microsoft 365 (5 s an answer): the run is still importing well after the worker, which
    // looks every 5 s, sees the pause.
    const latency = async (latencyMs: number) =>
      expect((await page.request.post(`${s.m365}/sandbox/admin/faults`, { data: { latencyMs } })).status()).toBe(200);
    const status = flyout.getByRole("region", { name: "Connector status with source" });
    await latency(5000);
    try {
      await flyout.getByRole("button", { name: "Run now" }).click();
      // Paused once the worker runs it (a queued run would simply end before it starts).
      await expect(flyout.getByText(/^Importing… /)).toBeVisible({ timeout: 60_000 });
      await flyout.getByRole("button", { name: "Pause" }).click();
      await expect(flyout.getByRole("status").filter({ hasText: "Paused:" })).toHaveText(
        "Paused: the run in progress stops taking new items within seconds; what it has not imported waits for Resume.",
      );
      await expect(async () => {
        await page.reload();
        await expect(status).toContainText("Partly succeeded", { timeout: 1000 });
      }).toPass({ timeout: 120_000 });
    } finally {
      await latency(0);
    }
    await expect(status).toContainText("Stopped because an admin paused the connector");
    const stoppedAt = count(await property(flyout, "Items imported").textContent());
    expect(stoppedAt).toBeLessThan(expected);
    await check(page, "15h-flyout-paused-run", { phone: true });
    await flyout.getByRole("button", { name: "Resume" }).click();
    await expect(flyout.getByRole("button", { name: "Pause" })).toBeVisible();
    await flyout.getByRole("button", { name: "Run now" }).click();
    await expect(flyout.getByRole("progressbar", { name: "Import progress" })).toBeVisible();
    await expect(async () => {
      await page.reload();
      await expect(status).toContainText("Succeeded", { timeout: 1000 });
    }).toPass({ timeout: 90_000 });
    // The rest, once: the two runs together imported each new message once per person.
    await expect(property(flyout, "Items imported")).toHaveText(String(expected - stoppedAt));
    await expect(property(flyout, "Items failed")).toHaveText("0");
  });

  test("an edit of the active connector waits for Save changes, and Discard changes keeps what is in use", async () => {
    const id = connectorIdOf(page);
    const flyout = page.getByRole("complementary", { name: name });
    const fallback = property(flyout, "Fallback mailbox");
    const mailbox = org.people.map(mailboxOf).find(Boolean)!;
    const notice = page.getByRole("note", { name: "When changes apply" });
    const pendingNote = flyout.getByRole("status").filter({ hasText: "not applied yet" });
    await expect(fallback).toHaveText("None");
    const editFallback = async () => {
      await flyout.getByRole("link", { name: "Edit", exact: true }).click();
      await expect(page).toHaveURL(/\/connectors\/new\/review/);
      await expect(notice).toContainText("apply only when you select Save changes");
      await page.getByRole("link", { name: "Edit User mapping" }).click();
      await expect(notice).toContainText("the connector keeps the settings in use");
      await page.getByLabel("Fallback mailbox (optional)").fill(mailbox);
      await page.getByRole("button", { name: "Next", exact: true }).click();
      await expect(page).toHaveURL(/\/connectors\/new\/consent/);
      await page.getByRole("link", { name: "Next", exact: true }).click();
      await expect(page).toHaveURL(/\/connectors\/new\/review/);
      await expect(notice).toContainText("This edit has changes not applied yet.");
      await expect(property(page.locator("body"), "Fallback mailbox")).toHaveText(mailbox);
    };

    // Left half done: the connector and its runs keep the settings in use, and the flyout says so.
    await editFallback();
    await check(page, "16a-edit-pending", { phone: true });
    await page.goto(`/connectors?connector=${id}`);
    await expect(pendingNote).toBeVisible();
    await expect(fallback).toHaveText("None");
    await check(page, "16b-flyout-edit-pending", { phone: true });
    await pendingNote.getByRole("link", { name: "Review the changes" }).click();
    await page.getByRole("button", { name: "Discard changes" }).click();
    await expect(page).toHaveURL(/\/connectors\?connector=/);
    await expect(pendingNote).toHaveCount(0);
    await expect(fallback).toHaveText("None");
    await expect(flyout.getByText("Discarded changes not yet applied")).toBeVisible();

    // Save changes applies the edit; with the pod failing Test connection, only once the admin accepts it.
    await editFallback();
    const faults = (serverErrorShare: number) =>
      page.request.put(`${sandbox().pod}/sandbox/faults`, { data: { serverErrorShare } });
    expect((await faults(1)).status()).toBe(200);
    try {
      await page.getByRole("button", { name: "Save changes" }).click();
      await expect(page.getByText(/^Test connection fails with the saved source settings: /)).toBeVisible();
      await check(page, "16c-edit-source-fails", { phone: true });
      await page.getByLabel(/^Finish anyway\./).check();
      await page.getByRole("button", { name: "Save changes" }).click();
      await expect(page).toHaveURL(/\/connectors\?connector=/);
    } finally {
      await faults(0);
    }
    await expect(fallback).toHaveText(mailbox);
    await expect(pendingNote).toHaveCount(0);
    await expect(flyout.getByText("Applied changes, accepting a failing Test connection")).toBeVisible();
  });

  test("the flyout opens and closes from the keyboard, and focus goes back to the connector's row", async () => {
    const id = connectorIdOf(page);
    const flyout = page.getByRole("complementary", { name: name });
    await expect(flyout).toBeVisible();
    await page.keyboard.press("Escape");
    await expect(flyout).toHaveCount(0);
    const row = page.locator(`#connector-${id}`);
    await expect(row).toBeFocused();
    await check(page, "16-dashboard", { phone: true });
    await page.keyboard.press("Enter");
    await expect(flyout).toBeVisible();
    await expect(page.getByRole("heading", { name: name })).toBeFocused();
  });

  test("a viewer and a signed-out caller are refused every server action and mutating route, and nothing changes", async () => {
    const id = connectorIdOf(page);
    const flyout = page.getByRole("complementary", { name: name });
    const snapshot = async () => {
      await page.reload();
      return {
        connectors: await page.getByRole("row").count(),
        status: await flyout.getByRole("region", { name: "Connector status with source" }).textContent(),
        properties: await flyout.getByRole("region", { name: "Properties" }).textContent(),
        runs: await flyout.getByRole("region", { name: "Run history" }).textContent(),
        audit: await flyout.getByRole("region", { name: "Audit trail" }).textContent(),
      };
    };
    const before = await snapshot();

    const viewer = await newPage(browser);
    await signIn(viewer, VIEWER);
    await expect(viewer.getByText("Read-only")).toBeVisible();
    await viewer.goto(connectorUrl.replace("/name?", "/source?"));
    await expect(viewer).toHaveURL(/denied=1/);
    await check(viewer, "12-viewer-denied");
    const signedOut = await browser.newContext(trustSandbox);
    const anonymous = signedOut.request;

    // Every server action of the build: the admin's recorded call, or for the buttons this journey does not
    // press (the flyout's, Health's "Run checks again") a call with what they take.
    const argsOf: Record<string, unknown[]> = {
      "app/(console)/connectors/actions.ts": [id],
      "app/(console)/health/actions.ts": [],
    };
    const manifest = JSON.parse(
      readFileSync(path.join(".next", "server", "server-reference-manifest.json"), "utf8"),
    ) as { node: Record<string, { filename: string; exportedName: string }> };
    const actions = Object.entries(manifest.node);
    expect(actions.length).toBeGreaterThanOrEqual(12);
    for (const [actionId, { filename, exportedName }] of actions) {
      const what = `${exportedName} (${filename})`;
      const recorded = actionCalls.get(actionId);
      const call = recorded ?? {
        id: actionId,
        url: page.url(),
        contentType: "text/plain;charset=UTF-8",
        body: [...Buffer.from(JSON.stringify(argsOf[filename] ?? []))],
      };
      if (!recorded)
        expect(Object.keys(argsOf), `${what} was not recorded and its arguments are not known here`).toContain(
          filename,
        );
      // A refusal because of the role is the redirect to the "only admins" notice, sent before the action changes anything.
      expect(await callAction(viewer.request, call), `${what} called by a viewer`).toMatch(/^\/connectors\?denied=1;/);
      expect(await callAction(anonymous, call), `${what} called signed out`).toMatch(/^\/signin;/);
    }

    // Route handlers that change something (the others only read and are open to every signed-in user).
    const routes = listRoutes();
    expect(
      routes.filter(
        (r) =>
          ![
            "api/auth/[...nextauth]",
            "api/health",
            "api/cron",
            "api/connectors/[id]/log",
            "api/connectors/[id]/progress",
            "api/connectors/[id]/reconciliation",
          ].includes(r),
      ),
    ).toEqual(["api/consent/callback"]);
    const callback = `/api/consent/callback?admin_consent=True&tenant=x&state=${"s".repeat(32)}`;
    const refused = await viewer.request.get(callback, { maxRedirects: 0 });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toMatch(/role is required/);
    expect((await anonymous.get(callback, { maxRedirects: 0 })).status()).toBe(401);
    for (const read of [
      `/api/connectors/${id}/log`,
      `/api/connectors/${id}/progress`,
      `/api/connectors/${id}/reconciliation`,
    ]) {
      expect((await anonymous.get(read)).status(), `${read} signed out`).toBe(401);
      expect((await viewer.request.get(read)).status(), `${read} by a viewer`).toBe(200);
    }
    await viewer.context().close();
    await signedOut.close();

    const after = await snapshot();
    expect(after).toEqual(before);
    expect(after.audit).not.toContain(VIEWER);
  });

  test("delete with confirmation", async () => {
    const flyout = page.getByRole("complementary", { name: name });
    await flyout.getByRole("button", { name: "Delete" }).click();
    await check(page, "13-delete-confirm");
    await flyout.getByRole("button", { name: "Delete connector" }).click();
    await expect(page.getByRole("link", { name })).toHaveCount(0);
  });

  test("no secret appears in any page, response, download or log line", async () => {
    await Promise.all(pendingBodies);
    expect(seen.length).toBeGreaterThan(50);
    const logs = appLogs();
    for (const log of logs) expect(log.text, `${log.name} exists`).not.toBeNull();
    const haystacks = [...seen, ...logs.map((log) => ({ what: `log ${log.name}`, text: log.text! }))];
    // The search does read what the app sent: pages carry the connector's name, the download its rows.
    expect(seen.some((h) => h.what.startsWith("GET ") && h.text.includes(name))).toBe(true);
    expect(seen.find((h) => h.what === "downloaded status log")?.text).toContain(",IMPORTED,");
    const leaks = secrets().flatMap((secret) => {
      expect(secret.value.length).toBeGreaterThanOrEqual(16);
      return haystacks.filter((h) => h.text.includes(secret.value)).map((h) => `${secret.name} in ${h.what}`);
    });
    expect(leaks).toEqual([]);
  });
});

/** Calls a server action over plain HTTP; returns where the app redirected the caller ("" when it did not). */
async function callAction(request: APIRequestContext, call: ActionCall): Promise<string> {
  const response = await request.fetch(call.url, {
    method: "POST",
    headers: {
      "next-action": call.id,
      "content-type": call.contentType,
      accept: "text/x-component",
      origin: new URL(call.url).origin,
      ...(call.routerState ? { "next-router-state-tree": call.routerState } : {}),
    },
    data: Buffer.from(call.body),
    maxRedirects: 0,
  });
  return response.headers()["x-action-redirect"] ?? `(no redirect: HTTP ${response.status()})`;
}

/** Route handlers under app/, as "api/..." paths. */
function listRoutes(dir = "app", prefix = ""): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory())
      return listRoutes(full, entry.startsWith("(") ? prefix : `${prefix}${prefix ? "/" : ""}${entry}`);
    return entry === "route.ts" ? [prefix] : [];
  });
}
