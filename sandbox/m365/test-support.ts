import fs from "node:fs";
import path from "node:path";
import { ConfidentialClientApplication } from "@azure/msal-node";
import { Client, GraphError } from "@microsoft/microsoft-graph-client";
import { expect } from "vitest";
import { connectorRedirectUris, startM365Sandbox, type M365Sandbox, type M365SandboxOptions } from "./index";

/** The app-only scope the sandbox's Entra accepts: its own Graph origin + `/.default`, as in a national cloud. */
export function graphScope(sandbox: Pick<M365Sandbox, "graphBaseUrl">): string {
  return `${new URL(sandbox.graphBaseUrl).origin}/.default`;
}

/** NODE_EXTRA_CA_CERTS is read once at process start; the sandbox must serve a certificate of that CA. */
export const trustedCaDir = (() => {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  return file && fs.existsSync(file) ? path.dirname(file) : null;
})();

export const skipWithoutCa = trustedCaDir === null;
if (skipWithoutCa) {
  console.warn(
    "sandbox/m365 tests skipped: NODE_EXTRA_CA_CERTS does not point at the sandbox CA. Run " +
      "`npx tsx -e \"import('./sandbox/m365/ca.ts').then(m => m.ensureSandboxCa('.data/test/m365-ca'))\"` and " +
      "`NODE_EXTRA_CA_CERTS=.data/test/m365-ca/ca.crt npx vitest run sandbox/m365`.",
  );
}

type MailboxInput = NonNullable<M365SandboxOptions["mailboxes"]>[number];

/** Alice and Bob: a pair, so MAILBOXES[0] and MAILBOXES[1] are known to exist. */
export const MAILBOXES = [
  { address: "alice@contoso.example", displayName: "Alice Archer", aliases: ["a.archer@contoso.example"] },
  { address: "bob@contoso.example", displayName: "Bob Baker" },
] satisfies [MailboxInput, MailboxInput];

/** Where the connector of the tests runs: its app registrations hold the redirect URIs under it. */
export const TEST_APP_URL = "http://localhost:3000";
export const TEST_REDIRECT_URIS = connectorRedirectUris(TEST_APP_URL);

/** A sandbox whose import app holds both of the connector's redirect URIs and whose sign-in app holds the sign-in one. */
export function startTestSandbox(options: M365SandboxOptions = {}): Promise<M365Sandbox> {
  const { signIn, consent } = TEST_REDIRECT_URIS;
  return startM365Sandbox({
    port: 0,
    caDir: trustedCaDir!,
    mailboxes: MAILBOXES,
    consented: true,
    app: { redirectUris: [signIn, consent] },
    webApp: { redirectUris: [signIn] },
    ...options,
  });
}

/** The msal-node configuration a non-Microsoft authority host needs: knownAuthorities. */
export function msalWithSecret(
  sandbox: M365Sandbox,
  clientSecret = sandbox.app.clientSecret,
): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: sandbox.app.clientId,
      authority: sandbox.authority,
      clientSecret,
      knownAuthorities: [sandbox.authorityHost],
    },
  });
}

export async function appToken(sandbox: M365Sandbox): Promise<string> {
  const result = await msalWithSecret(sandbox).acquireTokenByClientCredential({ scopes: [graphScope(sandbox)] });
  if (!result?.accessToken) throw new Error("no access token");
  return result.accessToken;
}

/** The GraphError a Graph client call fails with (the test fails if it succeeds or fails otherwise). */
export async function graphFailure(promise: Promise<unknown>): Promise<GraphError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GraphError);
  return error as GraphError;
}

/** The Graph client as the product wires it: base URL of the sandbox, its host trusted for the bearer token. */
export function graphClient(sandbox: M365Sandbox, getAccessToken: () => Promise<string>): Client {
  return Client.initWithMiddleware({
    authProvider: { getAccessToken },
    baseUrl: sandbox.url,
    customHosts: new Set([new URL(sandbox.url).hostname]),
  });
}
