import { type Client, RetryHandlerOptions } from "@microsoft/microsoft-graph-client";
import { SignJWT, decodeJwt } from "jose";
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { M365Sandbox } from "./index";
import {
  MAILBOXES,
  appToken,
  graphClient,
  graphFailure,
  graphScope,
  skipWithoutCa,
  startTestSandbox,
} from "./test-support";

const ITEM_KEY = "String {8c2d5e3a-4b1f-4c6d-9e7a-0f1b2c3d4e5f} Name SymphonyItemKey";
const NO_RETRY = [new RetryHandlerOptions(0, 0)];

// The parts of Graph's answers these tests read (the Graph client types them `any`).
type Entity = { id: string };
type Collection<T> = { value: T[]; "@odata.count"?: number; "@odata.nextLink"?: string };
type User = Entity & { mail: string };
type Message = Entity & { subject: string; isDraft: boolean; singleValueExtendedProperties?: unknown[] };
type Attachment = Entity & { contentBytes: string };
type Batch = { responses: Array<{ id: string; status: number; body?: { value?: unknown[] } }> };

describe.skipIf(skipWithoutCa)("M365 sandbox: Graph mail with the real Graph client", () => {
  let sandbox: M365Sandbox;
  let graph: Client;
  const alice = MAILBOXES[0].address;

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    const token = await appToken(sandbox);
    graph = graphClient(sandbox, () => Promise.resolve(token));
  });
  beforeEach(() => sandbox.reset());
  afterAll(() => sandbox?.close());

  it("finds mailbox owners by UPN, by mail and by alias (advanced query), and answers 404 for an unknown user", async () => {
    const byUpn = (await graph.api(`/users/${alice}`).get()) as User;
    expect(byUpn).toMatchObject({ mail: alice, userPrincipalName: alice });
    expect(((await graph.api(`/users/${byUpn.id}`).get()) as User).mail).toBe(alice);

    const byMail = (await graph.api("/users").filter(`mail eq '${alice}'`).get()) as Collection<User>;
    expect(byMail.value.map((u) => u.id)).toEqual([byUpn.id]);

    const byAlias = (await graph
      .api("/users")
      .header("ConsistencyLevel", "eventual")
      .query({ $count: "true" })
      .filter("proxyAddresses/any(p:p eq 'smtp:a.archer@contoso.example')")
      .get()) as Collection<User>;
    expect(byAlias["@odata.count"]).toBe(1);
    expect(byAlias.value[0]?.id).toBe(byUpn.id);

    const withoutHeader = await graphFailure(
      graph.api("/users").query({ $count: "true" }).filter(`mail eq '${alice}'`).get(),
    );
    expect(withoutHeader.statusCode).toBe(400);

    const unknown = await graphFailure(graph.api("/users/nobody@contoso.example").get());
    expect(unknown).toMatchObject({ statusCode: 404, code: "Request_ResourceNotFound" });
    const unknownMailbox = await graphFailure(
      graph.api("/users/nobody@contoso.example/mailFolders/inbox/childFolders").get(),
    );
    expect(unknownMailbox.statusCode).toBe(404);
    expect(unknownMailbox.requestId).toBeTruthy();
  });

  it("creates the Symphony folder under Inbox, finds it by displayName and answers 409 ErrorFolderExists the second time", async () => {
    const created = (await graph
      .api(`/users/${alice}/mailFolders/inbox/childFolders`)
      .post({ displayName: "Symphony" })) as Entity;
    const inbox = (await graph.api(`/users/${alice}/mailFolders/inbox`).get()) as Entity;
    expect(created).toMatchObject({
      displayName: "Symphony",
      parentFolderId: inbox.id,
      childFolderCount: 0,
      unreadItemCount: 0,
      totalItemCount: 0,
    });

    const found = (await graph
      .api(`/users/${alice}/mailFolders/inbox/childFolders`)
      .filter("displayName eq 'Symphony'")
      .get()) as Collection<Entity>;
    expect(found.value.map((f) => f.id)).toEqual([created.id]);

    const again = await graphFailure(
      graph.api(`/users/${alice}/mailFolders/inbox/childFolders`).post({ displayName: "symphony" }),
    );
    expect(again).toMatchObject({ statusCode: 409, code: "ErrorFolderExists" });
  });

  it("creates a received (non-draft) item with its times and our key, and finds it again by the key", async () => {
    const folder = (await graph
      .api(`/users/${alice}/mailFolders/inbox/childFolders`)
      .post({ displayName: "Symphony" })) as Entity;
    const key = "stream-1:message-42";
    const created = (await graph.api(`/users/${alice}/mailFolders/${encodeURIComponent(folder.id)}/messages`).post({
      subject: "Rates Desk",
      body: { contentType: "html", content: "<p>Hello <b>desk</b></p>" },
      from: { emailAddress: { name: "Bob Baker", address: "bob@contoso.example" } },
      toRecipients: [{ emailAddress: { address: alice } }],
      internetMessageId: "<m42@symphony.example>",
      singleValueExtendedProperties: [
        { id: "Integer 0x0E07", value: "1" },
        { id: "SystemTime 0x0E06", value: "2026-03-04T10:11:12Z" },
        { id: "SystemTime 0x0039", value: "2026-03-04T10:11:10Z" },
        { id: ITEM_KEY, value: key },
      ],
    })) as Message;
    expect(created).toMatchObject({
      isDraft: false,
      isRead: true,
      parentFolderId: folder.id,
      internetMessageId: "<m42@symphony.example>",
      receivedDateTime: "2026-03-04T10:11:12Z",
      sentDateTime: "2026-03-04T10:11:10Z",
    });

    const draft = (await graph
      .api(`/users/${alice}/mailFolders/${encodeURIComponent(folder.id)}/messages`)
      .post({ subject: "no flags" })) as Message;
    expect(draft.isDraft).toBe(true);

    const found = (await graph
      .api(`/users/${alice}/mailFolders/${encodeURIComponent(folder.id)}/messages`)
      .filter(`singleValueExtendedProperties/Any(ep: ep/id eq '${ITEM_KEY}' and ep/value eq '${key}')`)
      .expand(`singleValueExtendedProperties($filter=id eq '${ITEM_KEY}')`)
      .get()) as Collection<Message>;
    expect(found.value).toHaveLength(1);
    expect(found.value[0]?.id).toBe(created.id);
    expect(found.value[0]?.singleValueExtendedProperties).toEqual([
      { id: ITEM_KEY.replace("{8C2D", "{8c2d"), value: key },
    ]);

    const missing = (await graph
      .api(`/users/${alice}/messages`)
      .filter(`singleValueExtendedProperties/Any(ep: ep/id eq '${ITEM_KEY}' and ep/value eq 'other-key')`)
      .get()) as Collection<Message>;
    expect(missing.value).toEqual([]);

    const byId = (await graph.api(`/users/${alice}/messages/${encodeURIComponent(created.id)}`).get()) as Message;
    expect(byId.subject).toBe("Rates Desk");
    expect(sandbox.items(alice)?.[0]?.extendedProperties).toContainEqual({ id: "Integer 0xe07", value: "1" });
  });

  it("rejects unknown message properties and malformed extended property ids with 400", async () => {
    const typo = await graphFailure(graph.api(`/users/${alice}/mailFolders/inbox/messages`).post({ subjekt: "x" }));
    expect(typo.statusCode).toBe(400);
    const badId = await graphFailure(
      graph
        .api(`/users/${alice}/mailFolders/inbox/messages`)
        .post({ singleValueExtendedProperties: [{ id: "Integer E07", value: "1" }] }),
    );
    expect(badId.statusCode).toBe(400);
  });

  it("stores custom x- headers given on create, returns them only with $select, and refuses what Graph refuses", async () => {
    const headers = [
      { name: "X-Symphony-Message-Id", value: "m42" },
      { name: "X-Symphony-Stream-Id", value: "stream-1" },
      { name: "x-symphony-stream-type", value: "ROOM" },
    ];
    const created = (await graph
      .api(`/users/${alice}/mailFolders/inbox/messages`)
      .post({ subject: "with headers", internetMessageHeaders: headers })) as Message;
    expect(created).not.toHaveProperty("internetMessageHeaders");
    const plain = (await graph.api(`/users/${alice}/messages/${encodeURIComponent(created.id)}`).get()) as Message;
    expect(plain).not.toHaveProperty("internetMessageHeaders");
    const selected = (await graph
      .api(`/users/${alice}/messages/${encodeURIComponent(created.id)}`)
      .select("internetMessageHeaders")
      .get()) as Message & { internetMessageHeaders: unknown };
    expect(selected.internetMessageHeaders).toEqual(headers);
    const listed = (await graph
      .api(`/users/${alice}/messages`)
      .select("id,internetMessageHeaders")
      .get()) as Collection<Message & { internetMessageHeaders: unknown }>;
    expect(listed.value[0]?.internetMessageHeaders).toEqual(headers);

    const six = Array.from({ length: 6 }, (_, i) => ({ name: `X-Test-${i}`, value: String(i) }));
    const tooMany = await graphFailure(
      graph.api(`/users/${alice}/mailFolders/inbox/messages`).post({ subject: "six", internetMessageHeaders: six }),
    );
    expect(tooMany).toMatchObject({
      statusCode: 400,
      code: "InvalidInternetMessageHeaderCollection",
      message: "Maximum number of headers in one message should be less than or equal to 5.",
    });
    const standard = await graphFailure(
      graph
        .api(`/users/${alice}/mailFolders/inbox/messages`)
        .post({ subject: "rfc", internetMessageHeaders: [{ name: "In-Reply-To", value: "<a@b>" }] }),
    );
    expect(standard).toMatchObject({
      statusCode: 400,
      code: "InvalidInternetMessageHeader",
      message: "The internet message header name 'In-Reply-To' should start with 'x-' or 'X-'.",
    });
    expect(sandbox.items(alice)).toHaveLength(1);
  });

  it("pages with $top and @odata.nextLink until every item is seen once", async () => {
    for (let i = 0; i < 7; i++) {
      await graph
        .api(`/users/${alice}/mailFolders/inbox/messages`)
        .post({
          subject: `item ${i}`,
          singleValueExtendedProperties: [
            { id: "SystemTime 0x0E06", value: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() },
          ],
        });
    }
    const seen: string[] = [];
    let page = (await graph
      .api(`/users/${alice}/mailFolders/inbox/messages`)
      .top(3)
      .orderby("receivedDateTime asc")
      .get()) as Collection<Message>;
    let pages = 1;
    seen.push(...page.value.map((m) => m.subject));
    while (page["@odata.nextLink"]) {
      page = (await graph.api(page["@odata.nextLink"]).get()) as Collection<Message>;
      seen.push(...page.value.map((m) => m.subject));
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `item ${i}`));
  });

  it("adds a small file attachment and refuses one over 3 MB", async () => {
    const message = (await graph
      .api(`/users/${alice}/mailFolders/inbox/messages`)
      .post({ subject: "with file" })) as Message;
    const path = `/users/${alice}/messages/${encodeURIComponent(message.id)}/attachments`;
    const content = Buffer.from("hello attachment");
    const attachment = (await graph
      .api(path)
      .post({
        "@odata.type": "#microsoft.graph.fileAttachment",
        name: "hello.txt",
        contentType: "text/plain",
        contentBytes: content.toString("base64"),
      })) as Attachment;
    expect(attachment).toMatchObject({ name: "hello.txt", size: content.length, isInline: false });
    const listed = (await graph.api(path).get()) as Collection<Attachment>;
    expect(Buffer.from(listed.value[0]?.contentBytes ?? "", "base64").equals(content)).toBe(true);

    const big = Buffer.alloc(3 * 1024 * 1024 + 1, 7).toString("base64");
    const refused = await graphFailure(
      graph
        .api(path)
        .middlewareOptions(NO_RETRY)
        .post({ "@odata.type": "#microsoft.graph.fileAttachment", name: "big.bin", contentBytes: big }),
    );
    expect([400, 413]).toContain(refused.statusCode);
  });

  it("runs a $batch with dependsOn in order and fails dependents of a failed request with 424", async () => {
    const result = (await graph.api("/$batch").post({
      requests: [
        {
          id: "folder",
          method: "POST",
          url: `/users/${alice}/mailFolders/inbox/childFolders`,
          headers: { "Content-Type": "application/json" },
          body: { displayName: "Batch" },
        },
        {
          id: "list",
          method: "GET",
          url: `/users/${alice}/mailFolders/inbox/childFolders?$filter=displayName eq 'Batch'`,
          dependsOn: ["folder"],
        },
        {
          id: "again",
          method: "POST",
          url: `/users/${alice}/mailFolders/inbox/childFolders`,
          headers: { "Content-Type": "application/json" },
          body: { displayName: "Batch" },
          dependsOn: ["list"],
        },
        { id: "after", method: "GET", url: `/users/${alice}/mailFolders/inbox`, dependsOn: ["again"] },
      ],
    })) as Batch;
    const byId = Object.fromEntries(result.responses.map((r) => [r.id, r]));
    expect(byId.folder?.status).toBe(201);
    expect(byId.list?.body?.value).toHaveLength(1);
    expect(byId.again).toMatchObject({ status: 409, body: { error: { code: "ErrorFolderExists" } } });
    expect(byId.after?.status).toBe(424);

    const tooMany = await graphFailure(
      graph
        .api("/$batch")
        .post({
          requests: Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: "GET", url: `/users/${alice}` })),
        }),
    );
    expect(tooMany.statusCode).toBe(400);
  });

  it("holds each create of a $batch to the mailbox's size limit as if it were sent alone", async () => {
    const create = (subject: string) => ({
      subject,
      body: { contentType: "text", content: 'Grüße "aus" Zürich\n'.repeat(100) },
      toRecipients: [{ emailAddress: { address: alice } }],
    });
    const inBatch = (id: string, body: object) => ({
      id,
      method: "POST",
      url: `/users/${alice}/messages`,
      headers: { "Content-Type": "application/json" },
      body,
    });
    const fits = create("fits");
    const before = sandbox.mailboxes().find((user) => user.mail === alice)!.policy.maxReceiveSize;
    sandbox.setMailbox(alice, { maxReceiveSize: Buffer.byteLength(JSON.stringify(fits)) });
    try {
      const alone = await graphFailure(
        graph.api(`/users/${alice}/messages`).middlewareOptions(NO_RETRY).post(create("fits!")),
      );
      expect(alone).toMatchObject({ statusCode: 413, code: "ErrorMessageSizeExceeded" });
      const result = (await graph
        .api("/$batch")
        .post({ requests: [inBatch("fits", fits), inBatch("over", create("fits!"))] })) as Batch;
      const byId = Object.fromEntries(result.responses.map((r) => [r.id, r]));
      expect(byId.fits?.status).toBe(201);
      expect(byId.over).toMatchObject({ status: 413, body: { error: { code: "ErrorMessageSizeExceeded" } } });
    } finally {
      sandbox.setMailbox(alice, { maxReceiveSize: before });
    }
  });

  it("answers 401 InvalidAuthenticationToken for a missing, forged or expired token", async () => {
    const missing = await fetch(`${sandbox.graphBaseUrl}/users/${alice}`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: unknown }).error).toMatchObject({
      code: "InvalidAuthenticationToken",
      innerError: { "request-id": expect.any(String) as unknown },
    });

    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = await new SignJWT({ appid: sandbox.app.clientId, tid: sandbox.tenantId, roles: ["Mail.ReadWrite"] })
      .setProtectedHeader({ alg: "RS256" })
      .setAudience("https://graph.microsoft.com")
      .setExpirationTime("1h")
      .sign(privateKey);
    const forgedError = await graphFailure(
      graphClient(sandbox, () => Promise.resolve(forged))
        .api(`/users/${alice}`)
        .get(),
    );
    expect(forgedError).toMatchObject({ statusCode: 401, code: "InvalidAuthenticationToken" });

    const other = await startTestSandbox();
    try {
      const foreign = await appToken(other);
      const foreignError = await graphFailure(
        graphClient(sandbox, () => Promise.resolve(foreign))
          .api(`/users/${alice}`)
          .get(),
      );
      expect(foreignError.statusCode).toBe(401);
    } finally {
      await other.close();
    }

    // exp has whole seconds: a token asked for late in a second could expire before its first use, so it
    // lives 2 s and is asked for at the start of a second.
    const shortLived = await startTestSandbox({ tokenLifetimeSeconds: 2 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000)));
      const response = await fetch(`${shortLived.authority}/oauth2/v2.0/token`, {
        method: "POST",
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: shortLived.app.clientId,
          client_secret: shortLived.app.clientSecret,
          scope: graphScope(shortLived),
        }),
      });
      const { access_token: token, expires_in: expiresIn } = (await response.json()) as {
        access_token: string;
        expires_in: number;
      };
      expect(expiresIn).toBe(2);
      // Accepted while valid (and its signature remembered), refused once its lifetime is over.
      const client = graphClient(shortLived, () => Promise.resolve(token));
      await expect(client.api(`/users/${alice}`).get()).resolves.toMatchObject({ mail: alice });
      await new Promise((resolve) => setTimeout(resolve, 3100));
      const expired = await graphFailure(
        graphClient(shortLived, () => Promise.resolve(token))
          .api(`/users/${alice}`)
          .get(),
      );
      expect(expired).toMatchObject({ statusCode: 401, code: "InvalidAuthenticationToken" });
      expect(expired.message).toContain("expired");
    } finally {
      await shortLived.close();
    }
  });

  it("answers 403 to app tokens of a tenant that has not consented, and serves them once consent is given", async () => {
    sandbox.setConsent(false);
    try {
      const denied = await graphFailure(graph.api(`/users/${alice}/mailFolders/inbox/childFolders`).get());
      expect(denied).toMatchObject({ statusCode: 403, code: "ErrorAccessDenied" });
      const deniedDirectory = await graphFailure(graph.api(`/users/${alice}`).get());
      expect(deniedDirectory.statusCode).toBe(403);
    } finally {
      sandbox.setConsent(true);
    }
    await expect(graph.api(`/users/${alice}/mailFolders/inbox/childFolders`).get()).resolves.toMatchObject({
      value: [],
    });
  });

  it("issues tokens without roles until consent takes effect, and a token keeps the roles it was issued with", async () => {
    sandbox.setConsent(false);
    sandbox.setFaults({ consentDelaySeconds: 600 });
    try {
      sandbox.setConsent(true);
      const early = await appToken(sandbox);
      expect(decodeJwt(early).roles).toEqual([]);
      const inbox = `/users/${alice}/mailFolders/inbox/childFolders`;
      const refused = await graphFailure(
        graphClient(sandbox, () => Promise.resolve(early))
          .api(inbox)
          .get(),
      );
      expect(refused).toMatchObject({ statusCode: 403, code: "ErrorAccessDenied" });

      sandbox.setFaults({ consentDelaySeconds: 0 }); // the consent has taken effect
      const later = await appToken(sandbox);
      expect(decodeJwt(later).roles).toEqual(expect.arrayContaining(["Mail.ReadWrite", "User.Read.All"]));
      await expect(
        graphClient(sandbox, () => Promise.resolve(later))
          .api(inbox)
          .get(),
      ).resolves.toMatchObject({ value: [] });
      const stale = await graphFailure(
        graphClient(sandbox, () => Promise.resolve(early))
          .api(inbox)
          .get(),
      );
      expect(stale.statusCode).toBe(403);
    } finally {
      sandbox.setFaults({ consentDelaySeconds: 0 });
      sandbox.setConsent(true);
    }
  });

  it("answers 504 to a create that lands anyway: a lookup right after misses it, and its retry meets it", async () => {
    const create = `/users/${alice}/mailFolders/inbox/messages`;
    const message = (key: string) => ({
      subject: "Late",
      singleValueExtendedProperties: [{ id: ITEM_KEY, value: key }],
    });
    const byKey = async (key: string) =>
      (
        (await graph
          .api(`/users/${alice}/messages`)
          .filter(`singleValueExtendedProperties/Any(ep: ep/id eq '${ITEM_KEY}' and ep/value eq '${key}')`)
          .get()) as Collection<Message>
      ).value;
    sandbox.setFaults({ lostCreateShare: 1, lostCreateLandsAfterMs: 600_000 });
    try {
      const lost = await graphFailure(graph.api(create).middlewareOptions(NO_RETRY).post(message("late-1")));
      expect(lost).toMatchObject({ statusCode: 504, code: "UnknownError" });
      expect(await byKey("late-1")).toEqual([]);
      // The same create again is answered normally, and meets the first one landing: two items.
      const retried = (await graph.api(create).middlewareOptions(NO_RETRY).post(message("late-1"))) as Message;
      expect((await byKey("late-1")).map((m) => m.id)).toContain(retried.id);
      expect(await byKey("late-1")).toHaveLength(2);
      expect(sandbox.stats().lostCreates).toBe(1);

      // Left alone, a lost create lands after lostCreateLandsAfterMs.
      sandbox.setFaults({ lostCreateLandsAfterMs: 0 });
      await graphFailure(graph.api(create).middlewareOptions(NO_RETRY).post(message("late-2")));
      expect(await byKey("late-2")).toHaveLength(1);
    } finally {
      sandbox.setFaults({ lostCreateShare: 0, lostCreateLandsAfterMs: 30_000 });
    }
  });
});
