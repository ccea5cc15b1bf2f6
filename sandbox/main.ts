// `npm run sandbox`: the Symphony and Microsoft 365 sandboxes with the demo organisation, on their own,
// printing the settings the product needs to use them (as environment variables) and the wizard's
// Symphony settings. Ctrl-C stops them.
import path from "node:path";
import { startDemoSandboxes } from "./demo";

const dir = path.resolve(process.env.DATA_DIR ?? ".data", "sandbox");
// The app registrations hold the redirect URIs of the connector at APP_URL (`npm run dev`: port 3000).
const appUrl = process.env.APP_URL ?? `http://localhost:${process.env.PORT ?? 3000}`;
const demo = await startDemoSandboxes({ dir, appUrl });

console.log("# Settings for the product (e.g. in .env):");
for (const [name, value] of Object.entries(demo.env)) console.log(`${name}=${value}`);
console.log("");
for (const line of demo.instructions) console.log(`# ${line}`);

// Signal listeners cannot wait for a promise: close, then exit.
const stop = () => void demo.close().then(() => process.exit(0));
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
