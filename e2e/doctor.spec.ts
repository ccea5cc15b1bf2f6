import { spawnSync } from "node:child_process";
import { expect, test } from "@playwright/test";
import { dataDir, sandbox } from "./demo";
import { ADMIN, READER, check, signIn } from "./journey";

// The Health page and `npm run doctor` on the embedded demo: once the tenant's administrator has
// granted consent (in Entra ID, here the sandbox's admin API), every check is green.
test.beforeAll(async ({ playwright }) => {
  const m365 = await playwright.request.newContext({ ignoreHTTPSErrors: true });
  const granted = await m365.post(`${sandbox().m365}/sandbox/admin/consent`, { data: { consented: true } });
  expect(granted.ok()).toBe(true);
  await m365.dispose();
});

test("an admin opens Health from the navigation, sees every check green, and runs them again with the keyboard", async ({
  page,
}) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await signIn(page, ADMIN);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Health" }).click();
  await expect(page.getByRole("heading", { name: "Health", level: 1 })).toBeVisible();

  const status = page.getByRole("status").filter({ hasText: "Last run" });
  await expect(status).toContainText(/0 warnings, 0 failed/);
  for (const group of ["Microsoft 365", "Storage and database"]) {
    await expect(page.getByRole("heading", { name: group, level: 2 })).toBeVisible();
  }
  for (const title of [
    "Sign-in and consent addresses (APP_URL)",
    "Entra ID token (worldwide cloud)",
    "Permissions in the token",
    "Mailbox probe",
    "Inbox/Symphony folder",
    "Clock (Microsoft 365)",
    "Database (PostgreSQL)",
    "Database migrations",
    "Blob storage (staging)",
  ]) {
    const row = page.getByRole("listitem").filter({ has: page.getByText(title, { exact: true }) });
    await expect(row).toContainText("OK");
  }
  await expect(page.getByText("Failed", { exact: true })).toHaveCount(0);
  await expect(page.getByText("Warning", { exact: true })).toHaveCount(0);
  await check(page, "health");

  // Keyboard only: Tab to the button, Enter; the status line then names the new run.
  const before = await status.textContent();
  const rerun = page.getByRole("button", { name: "Run checks again" });
  for (let i = 0; i < 30 && !(await rerun.evaluate((button) => button === document.activeElement)); i++) {
    await page.keyboard.press("Tab");
  }
  await expect(rerun).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(status).not.toHaveText(before ?? "");
  await expect(status).toContainText(/0 failed/);
  await expect(rerun).toBeEnabled();
});

test("with consent withdrawn, the checks say what fails and how to fix it", async ({ page, playwright }) => {
  const m365 = await playwright.request.newContext({ ignoreHTTPSErrors: true });
  const consent = (consented: boolean) => m365.post(`${sandbox().m365}/sandbox/admin/consent`, { data: { consented } });
  expect((await consent(false)).ok()).toBe(true);
  try {
    await page.setViewportSize({ width: 1280, height: 900 });
    await signIn(page, ADMIN);
    await page.goto("/health");
    await page.getByRole("button", { name: "Run checks again" }).click();
    const status = page.getByRole("status").filter({ hasText: "Last run" });
    await expect(status).toContainText(/[1-9]\d* failed/);
    const permissions = page
      .getByRole("listitem")
      .filter({ has: page.getByText("Permissions in the token", { exact: true }) });
    await expect(permissions).toContainText("Failed");
    await expect(permissions).toContainText("carries no application permission");
    await expect(permissions).toContainText("How to fix: A global administrator grants admin consent");
    await expect(page.getByRole("heading", { name: "Microsoft 365", level: 2 }).locator("..")).toContainText("failed");
    await check(page, "health-failing");
  } finally {
    await consent(true);
    await m365.dispose();
  }
});

test("a reader sees the checks but cannot run them", async ({ page }) => {
  await signIn(page, READER);
  await page.goto("/health");
  await expect(page.getByRole("heading", { name: "Health", level: 1 })).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Last run" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Run checks again" })).toHaveCount(0);
});

test("npm run doctor prints each check and exits 0 on the running demo", ({ baseURL }) => {
  const appUrl = baseURL!;
  const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/with-app-env.ts", "scripts/doctor.ts"], {
    env: { ...process.env, DATA_DIR: dataDir, NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 120_000,
  });
  expect(run.stderr).not.toMatch(/Error/);
  expect(run.stdout).toContain(
    `Microsoft 365\n  ✓ Sign-in and consent addresses (APP_URL): Entra ID sends admins back to ${appUrl}/api/auth/callback/entra and ${appUrl}/api/consent/callback`,
  );
  expect(run.stdout).toContain("\n  ✓ Entra ID token (worldwide cloud): Entra ID at https://localhost:");
  expect(run.stdout).toMatch(/✓ Database migrations: All \d+ migrations are applied/);
  expect(run.stdout).toMatch(/\d+ ok, 0 warnings, 0 failed/);
  expect(run.status).toBe(0);
});
