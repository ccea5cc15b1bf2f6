import { afterEach, describe, expect, it } from "vitest";
import type { M365Sandbox, M365SandboxOptions } from "./index";
import { MAILBOXES, appToken, graphClient, graphFailure, skipWithoutCa, startTestSandbox } from "./test-support";

const [alice, bob] = [MAILBOXES[0].address, MAILBOXES[1].address];

const mail = (to: string[]) => ({
  message: {
    subject: "Connector needs attention",
    body: { contentType: "Text", content: "Symphony refused the sign-in." },
    toRecipients: to.map((address) => ({ emailAddress: { address } })),
  },
  saveToSentItems: false,
});

describe.skipIf(skipWithoutCa)("M365 sandbox: POST /users/{id}/sendMail", () => {
  let sandbox: M365Sandbox | undefined;
  afterEach(() => sandbox?.close());

  async function graphWith(options: M365SandboxOptions) {
    sandbox = await startTestSandbox(options);
    const token = await appToken(sandbox);
    return graphClient(sandbox, () => Promise.resolve(token));
  }

  it("answers 202 and puts the message in each recipient's Inbox (by address or alias), with Mail.Send alone", async () => {
    const graph = await graphWith({ appRoles: ["Mail.Send"] });
    await graph
      .api(`/users/${alice}/sendMail`)
      .post(mail([bob, "a.archer@contoso.example", "someone@elsewhere.example"]));

    for (const owner of [bob, alice]) {
      expect(sandbox!.items(owner)).toEqual([
        expect.objectContaining({ folder: "Inbox", subject: "Connector needs attention", from: alice, isDraft: false }),
      ]);
    }
  });

  it("keeps a copy in the sender's Sent Items unless saveToSentItems is false", async () => {
    const graph = await graphWith({ appRoles: ["Mail.ReadWrite", "User.Read.All", "Mail.Send"] });
    await graph.api(`/users/${alice}/sendMail`).post({ message: mail([bob]).message });
    expect(sandbox!.items(alice)?.map((item) => item.folder)).toEqual(["Sent Items"]);
  });

  it("refuses a token without Mail.Send (403 ErrorAccessDenied), and a message without recipients (400)", async () => {
    const withoutSend = await graphWith({});
    const refused = await graphFailure(withoutSend.api(`/users/${alice}/sendMail`).post(mail([bob])));
    expect(refused).toMatchObject({ statusCode: 403, code: "ErrorAccessDenied" });
    expect(sandbox!.items(bob)).toEqual([]);
    await sandbox!.close();

    const graph = await graphWith({ appRoles: ["Mail.Send"] });
    const empty = await graphFailure(graph.api(`/users/${alice}/sendMail`).post(mail([])));
    expect(empty).toMatchObject({ statusCode: 400, code: "ErrorInvalidRecipients" });
  });
});
