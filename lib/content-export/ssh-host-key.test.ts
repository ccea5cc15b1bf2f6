import { describe, expect, it } from "vitest";
import { hostKeyOf, normalizeFingerprint } from "./ssh-host-key";

// Public keys with the fingerprints `ssh-keygen -lf` printed for them.
const ED25519 = {
  blob: "AAAAC3NzaC1lZDI1NTE5AAAAIF01INLYwDoZfygvbLV1EMLhDrDjeYVc3VGy/RVEKoz1",
  fingerprint: "SHA256:1NVtgaP0o1BMukBdZUTLRwWyAY94UC/HIHZyxxAa5EA",
};
const RSA = {
  blob: "AAAAB3NzaC1yc2EAAAADAQABAAAAgQDMk0nS4vXaKvmLlWYLTW+ZZ2tOAOe1A2u61Qgo+UINilTrTbzullUI/EDvdW4Uk+yk5cQeXGc00PI8nrqtVed9BOjbpg12L+Cj0I0YJ8QY9q7jAUbkeMAgwDv5PMfQK6YR1CcrLDVIhI40PRZNiqZrRc7mgpT+pT8YNoRSEq+mgQ==",
  fingerprint: "SHA256:nkKxqUqFsvfLlkCY820Rr/x9IQm179fwGmVnbO4aopg",
};

describe("hostKeyOf", () => {
  it("gives OpenSSH's SHA256 fingerprint and the key type", () => {
    expect(hostKeyOf(Buffer.from(ED25519.blob, "base64"))).toEqual({
      fingerprint: ED25519.fingerprint,
      algorithm: "ssh-ed25519",
    });
    expect(hostKeyOf(Buffer.from(RSA.blob, "base64"))).toEqual({ fingerprint: RSA.fingerprint, algorithm: "ssh-rsa" });
  });

  it("names no algorithm for a blob that is not a key", () => {
    expect(hostKeyOf(Buffer.from([0, 0, 0, 200, 1])).algorithm).toBe("unknown");
  });
});

describe("normalizeFingerprint", () => {
  it("accepts the fingerprint with or without its prefix and padding", () => {
    const bare = ED25519.fingerprint.slice("SHA256:".length);
    expect(normalizeFingerprint(ED25519.fingerprint)).toBe(ED25519.fingerprint);
    expect(normalizeFingerprint(` ${bare}= `)).toBe(ED25519.fingerprint);
  });

  it("refuses what is not a SHA-256 fingerprint", () => {
    expect(normalizeFingerprint("MD5:12:34")).toBeNull();
    expect(normalizeFingerprint("SHA256:short")).toBeNull();
  });
});
