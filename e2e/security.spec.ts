import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { sandbox } from "./demo";
import { ADMIN, NO_ROLE, READER, check, signIn } from "./journey";

// The admin surface under attack: response headers and framing, a tampered admin-consent callback,
// an attempt to make the stored bot key sign in to another host, who may see what, and where Entra
// may send a sign-in back to.

test("every response carries the security headers", async ({ request, page }) => {
  const responses = [await request.get("/signin"), await request.get("/api/health")];
  await page.goto("/signin");
  const script = await page.locator("script[src]").first().getAttribute("src");
  responses.push(await request.get(script!));
  for (const response of responses) {
    const headers = response.headers();
    expect(headers["x-content-type-options"], response.url()).toBe("nosniff");
    expect(headers["referrer-policy"], response.url()).toBe("same-origin");
    expect(headers["x-frame-options"], response.url()).toBe("DENY");
  }
  const policy = (await request.get("/signin")).headers()["content-security-policy"] ?? "";
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).toMatch(/script-src 'self' 'nonce-[^']+' 'strict-dynamic'/);
  expect(policy).not.toContain("unsafe-inline' 'strict-dynamic");
  // Served over http here, so no HSTS (it would pin a host that has no TLS).
  expect(responses[0]!.headers()["strict-transport-security"]).toBeUndefined();
});

test("the sign-in page shows only its own words, whatever its query string holds", async ({ page }) => {
  // A repeated parameter arrives as a list, and an error name may be any property of an object.
  for (const query of ["callbackUrl=/a&callbackUrl=/b", "error=constructor", "error=OAuthCallback&error=x"]) {
    const response = await page.goto(`/signin?${query}`);
    expect(response?.status(), query).toBe(200);
    await expect(page.getByRole("button", { name: "Sign in with Microsoft" }), query).toBeVisible();
  }
  await page.goto("/signin?error=constructor");
  await expect(page.getByText("Sign-in failed. Try again.")).toBeVisible();
  await expect(page.locator("main")).not.toContainText("function");
});

test("pages run under the nonce policy without violations and cannot be framed", async ({ page, baseURL }) => {
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await signIn(page, ADMIN);
  await page.goto("/connectors/new/terms");
  await expect(page.getByLabel("I accept the terms of service")).toBeVisible();
  expect(violations).toEqual([]);

  await page.setContent(`<iframe id="victim" src="${baseURL}/signin" width="600" height="400"></iframe>`);
  await page.waitForTimeout(1500);
  const frame = page.frames().find((f) => f.url().includes("/signin"));
  const framedText = frame
    ? await frame
        .locator("body")
        .innerText()
        .catch(() => "")
    : "";
  expect(framedText).not.toContain("Sign in with Microsoft");
});

test.describe.serial("a connector's secrets and consent under attack", () => {
  let page: Page;
  let rogue: Server;
  let rogueUrl = "";
  const rogueRequests: string[] = [];

  test.beforeAll(async ({ browser }) => {
    rogue = createServer((request, response) => {
      rogueRequests.push(`${request.method} ${request.url}`);
      response.writeHead(200, { "content-type": "application/json" }).end('{"token":"captured"}');
    });
    await new Promise<void>((resolve) => rogue.listen(0, "127.0.0.1", resolve));
    rogueUrl = `http://127.0.0.1:${(rogue.address() as AddressInfo).port}`;
    page = await (await browser.newContext({ ignoreHTTPSErrors: true })).newPage();
    await signIn(page, ADMIN);
  });
  test.afterAll(async () => {
    await new Promise((resolve) => rogue.close(resolve));
  });

  test("the stored key is never sent to a host it was not saved for", async () => {
    const s = sandbox();
    await page.goto("/connectors/new/terms");
    await page.getByLabel("I accept the terms of service").check();
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await page.getByLabel("Connector name").fill(`Security probe ${Date.now().toString(36)}`);
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await page.getByLabel("Conversations of the service account").check();
    await page.getByLabel("Pod URL").fill(s.pod);
    await page.getByLabel("Agent URL").fill(s.agent);
    await page.getByLabel("Key manager URL").fill(s.keyManager);
    await page.getByLabel("Service account user name").fill("archive-bot");
    await page.getByLabel("…or upload the key file").setInputFiles(s.keyFile);
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page).toHaveURL(/\/connectors\/new\/mapping/);

    await page.getByRole("link", { name: "Back" }).click();
    await expect(page.getByText("Key on file")).toBeVisible();
    // Same servers: the key on file may be used.
    await page.getByRole("button", { name: "Test connection" }).click();
    await expect(page.getByText(/Connected as .*archive-bot/)).toBeVisible();
    // Another pod: the key must be given again, and nothing is sent there.
    await page.getByLabel("Pod URL").fill(rogueUrl);
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/connectors/new/source")),
      page.getByRole("button", { name: "Test connection" }).click(),
    ]);
    await expect(page.getByText(/differs from the saved one, so paste or upload the private key again/)).toBeVisible();
    await page.getByLabel("Pod URL").fill(rogueUrl);
    // The same message is on screen from the test above: wait for Save's own answer.
    await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST" && r.url().includes("/connectors/new/source")),
      page.getByRole("button", { name: "Next", exact: true }).click(),
    ]);
    await expect(page.getByText(/differs from the saved one/)).toBeVisible();
    await expect(page.getByLabel("Pod URL")).toHaveValue(rogueUrl);
    expect(rogueRequests).toEqual([]);
    // Back to the saved servers: the key on file is used again. The form re-renders once the refused
    // save's answer is applied; typing into it before then is lost, so fill and save until it sticks.
    await expect(async () => {
      await page.getByLabel("Pod URL").fill(s.pod);
      await page.getByLabel("Agent URL").fill(s.agent);
      await page.getByLabel("Key manager URL").fill(s.keyManager);
      await page.getByRole("button", { name: "Next", exact: true }).click();
      await expect(page).toHaveURL(/\/connectors\/new\/mapping/, { timeout: 5_000 });
    }).toPass({ timeout: 30_000 });

    // A file larger than the form takes is refused in the browser with a message, never sent.
    await page.getByLabel("Upload a mapping file (CSV)").check();
    await page
      .getByLabel("Mapping file", { exact: true })
      .setInputFiles({
        name: "huge.csv",
        mimeType: "text/csv",
        buffer: Buffer.alloc(2_200_000, "a@bank.example,a@sandbox.onmicrosoft.com\n"),
      });
    await expect(page.getByText(/This file is larger than 2 MB/)).toBeVisible();
    await expect(page.getByLabel("Mapping file", { exact: true })).toHaveValue("");
    await page.getByLabel("Automatic (recommended)").check();
    await page.getByRole("button", { name: "Next", exact: true }).click();
    await expect(page).toHaveURL(/\/connectors\/new\/consent/);
  });

  test("a tampered consent callback records nothing and shows none of its text", async () => {
    const consentPage = page.url();
    const connectorId = new URL(consentPage).searchParams.get("id")!;
    // Leave for the consent page but do not answer it: the state it carries is what an attacker captures.
    await page.getByRole("button", { name: "Provide consent" }).click();
    await page.waitForURL(/adminconsent/);
    const state = new URL(page.url()).searchParams.get("state")!;
    expect(state).toBeTruthy();

    const tampered = new URLSearchParams({ admin_consent: "True", tenant: "not-a-tenant/../x?y=1", state });
    await page.goto(`/api/consent/callback?${tampered.toString()}`);
    await expect(page).toHaveURL(new RegExp(`/connectors/new/consent\\?id=${connectorId}`));
    await expect(page.getByText(/another Microsoft 365 organisation/)).toBeVisible();
    await expect(page.getByText("Consent has not been granted yet.")).toBeVisible();

    // The state was used up: replaying it is refused.
    const replay = await page.request.get(`/api/consent/callback?${tampered.toString()}`, { maxRedirects: 0 });
    expect(replay.status()).toBe(400);

    // A refusal's description comes from the query string: it is never shown as the page's message.
    await page.getByRole("button", { name: "Provide consent" }).click();
    await page.waitForURL(/adminconsent/);
    const second = new URL(page.url()).searchParams.get("state")!;
    const lure = new URLSearchParams({
      error: "access_denied",
      error_description: "Your account is locked. Call +1-800-555-0199 and read out your one-time code.",
      state: second,
    });
    await page.goto(`/api/consent/callback?${lure.toString()}`);
    await expect(page.getByText(/Consent was not granted: a global administrator declined/)).toBeVisible();
    await expect(page.getByText(/800-555-0199/)).toHaveCount(0);
    await expect(page.getByText("Consent has not been granted yet.")).toBeVisible();

    // The real flow still works.
    await page.getByRole("button", { name: "Provide consent" }).click();
    await page.getByRole("button", { name: "Accept" }).click();
    await expect(page.getByText(/Consent granted for tenant/)).toBeVisible();
  });
});

/** The flyout's server actions (they take a connector id), from the build's manifest. */
function lifecycleActions(): string[] {
  const manifest = JSON.parse(readFileSync(path.join(".next", "server", "server-reference-manifest.json"), "utf8")) as {
    node: Record<string, { filename: string }>;
  };
  return Object.entries(manifest.node)
    .filter(([, action]) => action.filename === "app/(console)/connectors/actions.ts")
    .map(([id]) => id);
}

/** Where a server action call sends the caller instead of running (its `x-action-redirect`). */
async function actionRedirect(request: APIRequestContext, baseURL: string, actionId: string): Promise<string> {
  const response = await request.post("/connectors", {
    headers: {
      "next-action": actionId,
      "content-type": "text/plain;charset=UTF-8",
      accept: "text/x-component",
      origin: new URL(baseURL).origin,
    },
    data: JSON.stringify([randomUUID()]),
    maxRedirects: 0,
  });
  return response.headers()["x-action-redirect"] ?? `(no redirect: HTTP ${response.status()})`;
}

const readRoutes = (id: string) => [
  `/api/connectors/${id}/log`,
  `/api/connectors/${id}/progress`,
  `/api/connectors/${id}/reconciliation`,
];

test.describe("who may see what", () => {
  test("a member of the tenant with no app role sees only the no-access page, and everything else refuses them", async ({
    browser,
    baseURL,
  }) => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await signIn(page, NO_ROLE, "You don't have access");
    await expect(page).toHaveURL(/\/no-access$/);
    await expect(page.getByText(NO_ROLE)).toBeVisible();
    await expect(page.getByText("Connector.Reader")).toBeVisible();
    await expect(page.getByRole("navigation")).toHaveCount(0);
    for (const [width, shot] of [
      [1280, "30-no-access"],
      [390, "31-no-access-narrow"],
    ] as const) {
      await page.setViewportSize({ width, height: 800 });
      await check(page, shot);
    }

    const id = randomUUID();
    for (const url of ["/", "/connectors", `/connectors?connector=${id}`, "/connectors/new/terms", "/signin"]) {
      await page.goto(url);
      await expect(page, url).toHaveURL(/\/no-access$/);
      await expect(page.getByRole("heading", { name: "You don't have access" })).toBeVisible();
    }
    for (const route of [
      ...readRoutes(id),
      `/api/consent/callback?admin_consent=True&tenant=x&state=${"s".repeat(32)}`,
    ]) {
      const response = await context.request.get(route, { maxRedirects: 0 });
      expect(response.status(), route).toBe(403);
      expect(((await response.json()) as { error: string }).error, route).toMatch(
        /Connector\.Reader or Connector\.Admin/,
      );
    }
    const actions = lifecycleActions();
    expect(actions.length).toBeGreaterThanOrEqual(4);
    for (const action of actions)
      expect(await actionRedirect(context.request, baseURL!, action)).toMatch(/^\/no-access;/);

    // Signing out still works from there.
    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/signin/);
    await context.close();
  });

  test("a reader sees the connectors and their logs but is refused every change", async ({ browser, baseURL }) => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await signIn(page, READER);
    await expect(page.getByText("Read-only")).toBeVisible();
    await expect(page.getByRole("link", { name: "Add connector" })).toHaveCount(0);
    await page.goto("/connectors/new/terms");
    await expect(page).toHaveURL(/\/connectors\?denied=1$/);
    await expect(page.getByText("Only connector admins can create or change connectors.")).toBeVisible();
    // Readers pass the role check: an unknown connector is "not found", not "forbidden".
    const id = randomUUID();
    for (const route of [`/api/connectors/${id}/log`, `/api/connectors/${id}/reconciliation`]) {
      expect((await context.request.get(route)).status(), route).toBe(404);
    }
    expect((await context.request.get(`/api/connectors/${id}/progress`)).status()).toBe(200);
    const callback = await context.request.get(`/api/consent/callback?state=${"s".repeat(32)}`, { maxRedirects: 0 });
    expect(callback.status()).toBe(403);
    for (const action of lifecycleActions()) {
      expect(await actionRedirect(context.request, baseURL!, action)).toMatch(/^\/connectors\?denied=1;/);
    }
    await context.close();
  });
});

test("Entra sends a sign-in back only to a redirect URI the app registration holds (AADSTS50011 otherwise)", async ({
  page,
  baseURL,
}) => {
  await page.goto("/signin");
  await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
  await page.waitForURL(/\/oauth2\/v2\.0\/authorize/);
  const authorize = new URL(page.url());
  expect(authorize.searchParams.get("redirect_uri")).toBe(`${baseURL}/api/auth/callback/entra`);
  for (const other of [
    `${baseURL}/api/auth/callback/azure-ad`,
    `${baseURL}/api/consent/callback`,
    "https://connector.evil.example/api/auth/callback/entra",
  ]) {
    authorize.searchParams.set("redirect_uri", other);
    await page.goto(authorize.toString());
    await expect(
      page.getByText(/AADSTS50011: The redirect URI '[^']+' specified in the request does not match/),
    ).toBeVisible();
  }
});
