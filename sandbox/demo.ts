// The demo world `npm start` and `npm run sandbox` bring up when no real tenant is configured:
// a Microsoft 365 sandbox whose mailboxes are the demo organisation's people, and a Symphony sandbox
// holding their conversations. The bot key, the ports and the organisation's time line are kept in
// `dir`, so a connector saved in the wizard still works after a restart.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { ensureSandboxCa } from "./m365/ca";
import { startM365Sandbox } from "./m365";
import { freePorts } from "./ports";
import { rsaKeyPair, startSymphonySandbox } from "./symphony";

interface DemoState {
  orgEnd: number;
  ports: { pod: number; agent: number; keyManager: number; m365: number };
  bot: { privateKeyPem: string; publicKeyPem: string };
  appSecret: string;
  webAppSecret: string;
}

export interface Demo {
  /** Settings for the product's processes (what a real deployment puts in its environment). */
  env: Record<string, string>;
  /** What to tell the person who started it. */
  instructions: string[];
  close(): Promise<void>;
}

export const DEMO_ORG = { seed: "demo", users: 20, messages: 300 } as const;

export async function startDemoSandboxes(options: { dir: string }): Promise<Demo> {
  const dir = path.resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const state = await loadState(dir);
  const ca = ensureSandboxCa(path.join(dir, "ca"));

  const symphony = await startSymphonySandbox({
    seed: DEMO_ORG.seed,
    org: { users: DEMO_ORG.users, messages: DEMO_ORG.messages, end: state.orgEnd },
    botKey: state.bot,
    ports: state.ports,
  });
  const mailboxes = symphony.org.people
    .filter((person) => person.m365Address)
    .map((person) => ({ address: person.m365Address!, displayName: person.displayName }));
  const m365 = await startM365Sandbox({
    port: state.ports.m365,
    caDir: path.dirname(ca.caCertPath),
    dataDir: path.join(dir, "m365"),
    mailboxes,
    app: { clientSecret: state.appSecret },
    webApp: { clientSecret: state.webAppSecret, redirectUris: [] },
  });

  const keyFile = path.join(dir, "symphony-bot-key.pem");
  writeFileSync(keyFile, state.bot.privateKeyPem, { mode: 0o600 });
  const admin = m365.signInUsers.find((user) => user.roles.length > 0);
  const viewer = m365.signInUsers.find((user) => user.roles.length === 0);

  return {
    env: {
      ENTRA_AUTHORITY_HOST: m365.url,
      ENTRA_TENANT_ID: m365.tenantId,
      ENTRA_CLIENT_ID: m365.app.clientId,
      ENTRA_CLIENT_SECRET: m365.app.clientSecret,
      AUTH_CLIENT_ID: m365.webApp.clientId,
      AUTH_CLIENT_SECRET: m365.webApp.clientSecret,
      GRAPH_BASE_URL: m365.url,
      NODE_EXTRA_CA_CERTS: ca.caCertPath,
      SANDBOX_CONSOLE_URL: m365.url,
    },
    instructions: [
      `Sign in with the Microsoft 365 sandbox as ${admin?.email ?? "the admin user"} (role Connector.Admin) or ${viewer?.email ?? "the viewer"} (read only).`,
      `Symphony sandbox for the wizard: pod ${symphony.podUrl}, agent ${symphony.agentUrl}, key manager ${symphony.keyManagerUrl},`,
      `  bot user name ${symphony.bot.username}, private key file ${keyFile}`,
      `Imported items can be seen at ${m365.url}/sandbox/mailbox/<address>`,
    ],
    async close() {
      await Promise.all([symphony.close(), m365.close()]);
    },
  };
}

async function loadState(dir: string): Promise<DemoState> {
  const file = path.join(dir, "demo-state.json");
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as DemoState;
  const [pod, agent, keyManager, m365] = (await freePorts(4)) as [number, number, number, number];
  const state: DemoState = {
    orgEnd: Date.now(),
    ports: { pod, agent, keyManager, m365 },
    bot: await rsaKeyPair(),
    appSecret: randomBytes(24).toString("base64url"),
    webAppSecret: randomBytes(24).toString("base64url"),
  };
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}
