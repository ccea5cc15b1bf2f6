// What the e2e specs know about the demo world `npm start` brings up in DATA_DIR (.data/e2e):
// its sandbox settings and secrets, and the seeded organisation (derived again from its seed).
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import ssh2 from "ssh2";
import { generateOrg, type Org, type Person } from "../sandbox/org";
import { DEMO_ORG, demoAliasedPerson } from "../sandbox/demo";
import { sshFingerprint } from "../sandbox/symphony/sftp";

export const dataDir = process.env.E2E_DATA_DIR ?? path.join(".data", "e2e");
const sandboxDir = process.env.E2E_SANDBOX_DIR ?? path.join(dataDir, "sandbox");

type DemoState = {
  orgEnd: number;
  ports: Record<"pod" | "agent" | "keyManager" | "m365" | "storage" | "sftp", number>;
  bot: { privateKeyPem: string };
  appSecret: string;
  webAppSecret: string;
  contentExport: {
    pgp: { privateKeyArmored: string; passphrase: string };
    sftp: { hostKeyPem: string; privateKeyPem: string; password: string };
  };
};

function demoState(): DemoState {
  return JSON.parse(readFileSync(path.join(sandboxDir, "demo-state.json"), "utf8")) as DemoState;
}

export function sandbox() {
  const state = demoState();
  return {
    pod: `http://127.0.0.1:${state.ports.pod}`,
    agent: `http://127.0.0.1:${state.ports.agent}`,
    keyManager: `http://127.0.0.1:${state.ports.keyManager}`,
    keyFile: path.join(sandboxDir, "symphony-bot-key.pem"),
    m365: `https://localhost:${state.ports.m365}`,
    contentExport: contentExport(state),
  };
}

/** Content Export as the demo tells an admin about it: files and settings, secrets read from the demo's files. */
function contentExport(state: DemoState) {
  const hostKey = ssh2.utils.parseKey(state.contentExport.sftp.hostKeyPem);
  if (hostKey instanceof Error) throw hostKey;
  return {
    pgpKeyFile: path.join(sandboxDir, "content-export-pgp-private.asc"),
    pgpPassphrase: readFileSync(path.join(sandboxDir, "content-export-pgp-passphrase.txt"), "utf8").trim(),
    sftp: {
      host: "127.0.0.1",
      port: state.ports.sftp,
      username: "symphony-export",
      password: readFileSync(path.join(sandboxDir, "content-export-sftp-password.txt"), "utf8").trim(),
      keyFile: path.join(sandboxDir, "content-export-sftp-user-key"),
      folder: "/exports",
      hostKeySha256: sshFingerprint(hostKey.getPublicSSH()),
    },
  };
}

/** The demo organisation exactly as the Symphony sandbox serves it. */
export function demoOrg(): Org {
  return generateOrg({ ...DEMO_ORG, end: demoState().orgEnd });
}

/** The demo person whose older Symphony address is an alias of their mailbox. */
export function aliasedPerson(org: Org): Person {
  const person = demoAliasedPerson(org.people);
  if (!person) throw new Error("the demo organisation has nobody with an older Symphony address");
  return person;
}

/**
 * What the pipeline does with a person: a mailbox when their Symphony email is a Microsoft 365 mailbox
 * or one of its aliases.
 */
export function mailboxOf(person: Person): string | null {
  if (person.external || !person.m365Address) return null;
  const own = person.m365Address === person.symphonyEmail.toLowerCase();
  return own || person.id === aliasedPerson(demoOrg()).id ? person.m365Address : null;
}

/** Every secret that must never reach a page, a response, a download or a log line. */
export function secrets(): { name: string; value: string }[] {
  const state = demoState();
  const keyLines = (name: string, pem: string) =>
    pem
      .split("\n")
      .filter((line) => line.trim().length >= 16 && !line.startsWith("-----") && !/^[A-Za-z-]+: /.test(line))
      .map((line, i) => ({ name: `${name}, line ${i + 2}`, value: line.trim() }));
  const { pgp, sftp } = state.contentExport;
  const stored = JSON.parse(readFileSync(path.join(dataDir, "secrets.json"), "utf8")) as Record<string, string>;
  return [
    ...keyLines("Symphony private key", state.bot.privateKeyPem),
    ...keyLines("Content Export PGP private key", pgp.privateKeyArmored),
    { name: "Content Export PGP passphrase", value: pgp.passphrase },
    ...keyLines("Content Export SFTP private key", sftp.privateKeyPem),
    { name: "Content Export SFTP password", value: sftp.password },
    { name: "Entra app client secret", value: state.appSecret },
    { name: "Entra sign-in app client secret", value: state.webAppSecret },
    ...Object.entries(stored).map(([name, value]) => ({ name, value })),
  ];
}

/** The web app's and the worker's output, as `npm start` keeps it (null when a log is missing). */
export function appLogs(): { name: string; text: string | null }[] {
  return ["web.log", "worker.log"].map((name) => {
    const file = path.join(dataDir, "logs", name);
    return { name, text: existsSync(file) ? readFileSync(file, "utf8") : null };
  });
}
