import https from "node:https";
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

// msal-node refuses plain HTTP, so every test that talks to the Microsoft 365 sandbox relies on this.
it("test workers trust the Microsoft 365 sandbox's local CA", async () => {
  const dir = process.env.M365_SANDBOX_CA_DIR!;
  const server = https.createServer(
    { cert: readFileSync(path.join(dir, "server.crt")), key: readFileSync(path.join(dir, "server.key")) },
    (_, res) => res.end("trusted"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as { port: number };
    const response = await fetch(`https://localhost:${port}/`);
    expect(await response.text()).toBe("trusted");
  } finally {
    server.close();
  }
});
