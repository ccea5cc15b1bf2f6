import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "./logger";

describe("the logger", () => {
  it("writes no secret kept under a secret's name, up to four levels deep in the logged object", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger("info", destination);
    const settings = {
      sftpPassword: "sftp-secret-1",
      pgpPassphrase: "pgp-secret-2",
      delivery: { files: { signedUrl: "https://x/?sig=secret-3", connectionString: "AccountKey=secret-4" } },
    };
    log.info({ settings, clientSecret: "secret-5", mailbox: "a@bank.example" }, "saved");
    const line = lines.join("");
    for (const secret of ["sftp-secret-1", "pgp-secret-2", "secret-3", "secret-4", "secret-5"])
      expect(line).not.toContain(secret);
    expect(line).toContain("a@bank.example");
    expect(line).toContain("[Redacted]");
  });
});
