// What every admin journey does the same way: sign in through the sandbox's sign-in page, and look
// at each page (a full screenshot for people, an axe scan that fails on serious problems).
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, type Page } from "@playwright/test";

export const shots = path.join("e2e", "screenshots");
// The sandbox's people: an admin, a reader (Connector.Reader) and a member of the tenant with no app role.
export const ADMIN = "admin@sandbox.onmicrosoft.com";
export const READER = "viewer@sandbox.onmicrosoft.com";
export const NO_ROLE = "norole@sandbox.onmicrosoft.com";

/** Signs in as the person picked on the sandbox's sign-in page; `landing` is the heading they then see. */
export async function signIn(page: Page, email: string, landing = "Data connectors") {
  await page.goto("/connectors");
  await expect(page).toHaveURL(/\/signin/);
  await page.getByRole("button", { name: "Sign in with Microsoft" }).click();
  await page.locator(`button[data-email="${email}"]`).click();
  await expect(page.getByRole("heading", { name: landing })).toBeVisible();
}

const PHONE = { width: 390, height: 844 };

/**
 * A full screenshot and an axe scan of the page; with `phone`, also at a phone's width (390 px). The
 * pages every admin meets (dashboard, catalogue, a wizard step, the flyout) are checked at both.
 */
export async function check(page: Page, shot: string, { phone = false }: { phone?: boolean } = {}) {
  const desktop = page.viewportSize();
  const widths = phone
    ? ([
        ["", desktop],
        ["-phone", PHONE],
      ] as const)
    : ([["", desktop]] as const);
  for (const [suffix, size] of widths) {
    if (size) await page.setViewportSize(size);
    await page.screenshot({ path: path.join(shots, `${shot}${suffix}.png`), fullPage: true });
    const { violations } = await new AxeBuilder({ page }).analyze();
    const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    expect(
      serious.map((v) => `${suffix || "desktop"} ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    ).toEqual([]);
  }
  if (desktop) await page.setViewportSize(desktop);
}
