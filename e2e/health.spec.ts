import { expect, test } from "@playwright/test";

test("the health endpoint reports the embedded database and blob store as up", async ({ request }) => {
  const response = await request.get("/api/health");
  expect(response.status()).toBe(200);
  expect(await response.json()).toMatchObject({ status: "ok", database: { ok: true }, blobStore: { ok: true } });
});
