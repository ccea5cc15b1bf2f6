import path from "node:path";
import { expect, test, type Locator, type Page } from "@playwright/test";
import { parse } from "csv-parse/sync";
import { currentMembers } from "../sandbox/symphony/membership";
import { generatedMessage } from "../sandbox/symphony/messages";
import { demoOrg, mailboxOf, sandbox } from "./demo";
import { ADMIN, check, shots, signIn } from "./journey";

// Real-time capture as a new admin sets it up: the Datahose source, its entitlement checked by Test
// connection, and a message (with a file) of a conversation the service account is not in reaching its
// people's mailboxes without waiting for the schedule.
const name = `Real time ${Date.now().toString(36)}`;

function property(flyout: Locator, label: string): Locator {
  return flyout.locator("dt", { hasText: new RegExp(`^${label}$`) }).locator("xpath=following-sibling::dd[1]");
}

type LogRow = Record<"symphony_message_id" | "mailbox" | "status" | "m365_item_id", string>;

async function logRows(page: Page, connectorId: string): Promise<LogRow[]> {
  const response = await page.request.get(`/api/connectors/${connectorId}/log`);
  expect(response.status()).toBe(200);
  return parse<LogRow>(await response.text(), { columns: true });
}

test("an admin sets up real-time capture and a message of a conversation the service account is not in reaches every participant's mailbox within seconds", async ({
  browser,
}) => {
  const s = sandbox();
  const org = demoOrg();
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await signIn(page, ADMIN);

  await page.goto("/connectors/new/terms");
  await page.getByLabel("I accept the terms of service").check();
  await page.getByRole("button", { name: "Next", exact: true }).click();
  await page.getByLabel("Connector name").fill(name);
  await page.getByRole("button", { name: "Next", exact: true }).click();
  await expect(page).toHaveURL(/\/connectors\/new\/source/);

  // The choice is React state: a click before the page's script has loaded is undone by hydration.
  const datahose = page.getByRole("radio", { name: "Real time (Datahose)" });
  await expect(async () => {
    await datahose.check({ timeout: 2_000 });
    await expect(page.getByLabel("Agent URL")).toBeVisible({ timeout: 1_000 });
  }).toPass({ timeout: 30_000 });
  await page.getByLabel("Pod URL").fill(s.pod);
  await page.getByLabel("Agent URL").fill(s.agent);
  await page.getByLabel("Key manager URL").fill(s.keyManager);
  await page.getByLabel("Service account user name").fill("archive-bot");
  await page.getByLabel("…or upload the key file").setInputFiles(s.keyFile);
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByText(/This pod has Datahose/)).toBeVisible();
  await check(page, "40-datahose-tested", { phone: true });
  await page.getByRole("button", { name: "Next", exact: true }).click();

  await expect(page).toHaveURL(/\/connectors\/new\/mapping/);
  await page.getByLabel("Automatic (recommended)").check();
  await page.getByRole("button", { name: "Next", exact: true }).click();
  await page.getByRole("button", { name: "Provide consent" }).click();
  await page.getByRole("button", { name: "Accept" }).click();
  await expect(page.getByText(/Consent granted for tenant/)).toBeVisible();
  await page.getByRole("link", { name: "Next", exact: true }).click();
  await expect(page).toHaveURL(/\/connectors\/new\/review/);
  await expect(page.getByText(/Real time \(Datahose\)/).first()).toBeVisible();
  await page.getByRole("button", { name: "Finish" }).click();
  await expect(page).toHaveURL(/\/connectors\?connector=/);
  const connectorId = new URL(page.url()).searchParams.get("connector")!;
  const flyout = page.getByRole("complementary", { name });
  const capture = flyout.getByRole("region", { name: "Real-time capture" });

  // A worker takes the connector's capture within its scan interval.
  await expect(async () => {
    await page.reload();
    await expect(property(capture, "Capture")).toHaveText("Reading the Datahose", { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });

  // A conversation without the service account, whose people all have a mailbox: REST could not read it.
  const people = (stream: (typeof org.streams)[number]) =>
    currentMembers(org, stream)
      .map((member) => member.person)
      .filter((person) => person.id !== org.bot.id);
  const stream = org.streams.find(
    (st) => !st.botIsMember && st.type !== "POST" && people(st).length > 1 && people(st).every((p) => mailboxOf(p)),
  )!;
  expect(stream, "a conversation the bot is not in").toBeDefined();
  const sent = await page.request.post(`${s.pod}/sandbox/messages`, {
    data: {
      streamId: stream.id,
      text: `Real-time check ${name}`,
      attachments: [{ name: "term-sheet.pdf", size: 24_000 }],
    },
  });
  expect(sent.status()).toBe(201);
  const { messageId } = (await sent.json()) as { messageId: string };

  // Imported into every participant's mailbox without a scheduled run.
  const expected = people(stream)
    .map((p) => p.symphonyEmail.toLowerCase())
    .sort();
  await expect(async () => {
    const rows = (await logRows(page, connectorId)).filter((row) => row.symphony_message_id === messageId);
    expect(rows.map((row) => `${row.mailbox} ${row.status}`).sort()).toEqual(
      expected.map((mailbox) => `${mailbox} IMPORTED`),
    );
  }).toPass({ timeout: 120_000, intervals: [2_000] });

  // With its file, downloaded at capture (the demo's service account is the Content Export service user).
  const rows = (await logRows(page, connectorId)).filter((row) => row.symphony_message_id === messageId);
  const person = people(stream).find((p) => rows.some((row) => row.mailbox === p.symphonyEmail.toLowerCase()))!;
  const item = rows.find((row) => row.mailbox === person.symphonyEmail.toLowerCase())!;
  const mailboxPage = await context.newPage();
  await mailboxPage.goto(
    `${s.m365}/sandbox/mailbox/${encodeURIComponent(mailboxOf(person)!)}/messages/${encodeURIComponent(item.m365_item_id)}`,
  );
  await expect(mailboxPage.getByText("term-sheet.pdf").first()).toBeVisible();
  await mailboxPage.close();

  // A wall post shared (Share in Symphony): the item shows the post it shares below the sharer's words.
  const wall = org.streams.find(
    (st) => st.type === "POST" && st.messageCount > 0 && people(st).length === 1 && mailboxOf(people(st)[0]!),
  )!;
  expect(wall, "a wall with posts whose author has a mailbox").toBeDefined();
  const original = generatedMessage(org, wall, 0);
  const shared = await page.request.post(`${s.pod}/sandbox/messages`, {
    data: {
      streamId: wall.id,
      text: `Worth a read ${name}`,
      shares: { streamId: wall.id, messageId: original.messageId },
    },
  });
  expect(shared.status()).toBe(201);
  const share = (await shared.json()) as { messageId: string };
  const author = people(wall)[0]!;
  let shareRow: LogRow | undefined;
  await expect(async () => {
    shareRow = (await logRows(page, connectorId)).find((row) => row.symphony_message_id === share.messageId);
    expect(shareRow?.status).toBe("IMPORTED");
  }).toPass({ timeout: 120_000, intervals: [2_000] });
  const sharePage = await context.newPage();
  await sharePage.goto(
    `${s.m365}/sandbox/mailbox/${encodeURIComponent(mailboxOf(author)!)}/messages/${encodeURIComponent(shareRow!.m365_item_id)}`,
  );
  const body = sharePage.frameLocator('iframe[title="Message body"]');
  await expect(body.getByText(`Worth a read ${name}`)).toBeVisible();
  await expect(body.getByText(`Shared post by ${original.user.displayName}`)).toBeVisible();
  await expect(sharePage.getByRole("row", { name: /^X-Symphony-Shared-Message-Id / })).toContainText(
    original.messageId,
  );
  await sharePage.screenshot({ path: path.join(shots, "42-shared-post-item.png"), fullPage: true });
  await sharePage.close();

  await page.reload();
  await expect(property(capture, "Capture lag")).toContainText("newest message sent");
  await expect(property(capture, "Events per minute")).not.toHaveText("");
  await capture.getByRole("heading", { name: "Real-time capture" }).scrollIntoViewIfNeeded();
  await check(page, "41-datahose-flyout", { phone: true });

  // Deleting the connector ends its capture.
  await flyout.getByRole("button", { name: "Delete" }).click();
  await flyout.getByRole("button", { name: "Delete connector" }).click();
  await expect(page.getByRole("link", { name })).toHaveCount(0);
  await context.close();
});
