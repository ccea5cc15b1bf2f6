import { describe, expect, it } from "vitest";
import { M365AuthError, MailboxUnavailableError } from "./errors";
import { graphError } from "./graph";

const refusal = (message: string) => ({
  status: 403,
  headers: new Headers(),
  body: { error: { code: "ErrorAccessDenied", message } },
});

// One mailbox outside the access policy fails its own items; only missing consent stops every mailbox.
describe("a Graph 403 ErrorAccessDenied", () => {
  it.each([
    ["as Microsoft documents it", "Access to OData is disabled."],
    [
      "as tenants send it",
      "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.",
    ],
  ])("refused by an access policy (%s) concerns that mailbox only", (_, message) => {
    const error = graphError(refusal(message));
    expect(error).toBeInstanceOf(MailboxUnavailableError);
    expect(error).toMatchObject({ problem: "access-policy" });
    expect(error.message).toContain(message);
  });

  it("without a mail permission in the tenant stops the run for an administrator", () => {
    const error = graphError(refusal("Access is denied. Check credentials and try again."));
    expect(error).toBeInstanceOf(M365AuthError);
    expect(error.message).toMatch(/grant admin consent/);
  });
});
