/**
 * Runs the Microsoft 365 sandbox until interrupted and prints the settings the product needs.
 *   npx tsx sandbox/m365/main.ts [--port 8443] [--consented] [--app-url http://localhost:3000]
 * The app registrations hold the redirect URIs of the connector at --app-url.
 * Mailboxes: our company's people of the seeded demo organisation.
 */
import { parseArgs } from "node:util";
import { generateOrg } from "../org";
import { connectorRedirectUris, startM365Sandbox, type Mailbox } from "./index";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    consented: { type: "boolean", default: false },
    "data-dir": { type: "string" },
    "app-url": { type: "string", default: "http://localhost:3000" },
  },
});
const redirect = connectorRedirectUris(values["app-url"]);

const sandbox = await startM365Sandbox({
  port: Number(values.port),
  consented: values.consented,
  dataDir: values["data-dir"],
  caDir: ".data/m365-ca",
  mailboxes: demoMailboxes(),
  app: { redirectUris: [redirect.signIn, redirect.consent] },
  webApp: { redirectUris: [redirect.signIn] },
});

console.log(
  JSON.stringify(
    {
      url: sandbox.url,
      authority: sandbox.authority,
      authorityHost: sandbox.authorityHost,
      tenantId: sandbox.tenantId,
      graphBaseUrl: sandbox.graphBaseUrl,
      caCertPath: sandbox.caCertPath,
      app: {
        clientId: sandbox.app.clientId,
        clientSecret: sandbox.app.clientSecret,
        thumbprint: sandbox.app.thumbprint,
      },
      webApp: sandbox.webApp,
      redirectUris: redirect,
      signInUsers: sandbox.signInUsers,
      mailboxes: sandbox.mailboxes().map((m) => m.mail),
      mailboxPages: `${sandbox.url}/sandbox/mailbox`,
      adminConsentUrl: `${sandbox.url}/organizations/adminconsent?client_id=${sandbox.app.clientId}&redirect_uri=<callback>&state=<state>`,
    },
    null,
    2,
  ),
);

/** Our company's people of the seeded demo organisation (sandbox/org.ts), the same seed as the Symphony sandbox's demo. */
function demoMailboxes(): Mailbox[] {
  const org = generateOrg({ seed: "demo" });
  return org.people
    .filter((p) => p.m365Address)
    .map((p) => ({
      address: p.m365Address!,
      displayName: p.displayName,
      aliases: p.symphonyEmail !== p.m365Address ? [p.symphonyEmail] : [],
    }));
}

const stop = () => void sandbox.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
