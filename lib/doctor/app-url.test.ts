import { describe, expect, it } from "vitest";
import { redirectCheck } from "./app-url";

// Entra ID's rule for redirect URIs (learn.microsoft.com/entra/identity-platform/reply-url): https, or
// http for localhost and 127.0.0.1 only.
describe("the doctor's check of APP_URL's redirect addresses", () => {
  it("names the two addresses to register for an https APP_URL", () => {
    expect(redirectCheck("https://archive.bank.example")).toMatchObject({
      id: "m365.redirects",
      status: "ok",
      detail:
        "Entra ID sends admins back to https://archive.bank.example/api/auth/callback/entra and https://archive.bank.example/api/consent/callback: both must be Web redirect URIs of the app registration.",
    });
  });

  it("takes plain http for localhost and 127.0.0.1, saying it works from this machine only", () => {
    for (const url of ["http://localhost:3000", "http://127.0.0.1:8080"]) {
      const check = redirectCheck(url);
      expect(check.status, url).toBe("ok");
      expect(check.detail).toContain("Plain http works from this machine only");
    }
  });

  it("fails plain http anywhere else, the IPv6 loopback included, with how to fix it", () => {
    for (const url of ["http://archive.bank.example", "http://10.0.0.5:3000", "http://[::1]:3000"]) {
      const check = redirectCheck(url);
      expect(check.status, url).toBe("fail");
      expect(check.detail).toMatch(
        /^Entra ID accepts http:\/\/ redirect addresses for localhost and 127\.0\.0\.1 only/,
      );
      expect(check.fix).toMatch(/^Serve the app over HTTPS/);
    }
  });
});
