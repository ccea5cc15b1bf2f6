import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from "node:crypto";
import forge from "node-forge";

export type SigningKey = { kid: string; privateKey: KeyObject; publicKey: KeyObject; jwk: Record<string, unknown> };

/** The key the sandbox's Entra ID signs ID and access tokens with (published in the JWKS). */
export function createSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomBytes(20).toString("base64url");
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, use: "sig", alg: "RS256" };
  return { kid, privateKey, publicKey, jwk };
}

export type AppCertificate = {
  certificatePem: string;
  privateKeyPem: string;
  /** SHA-1 of the DER certificate, upper-case hex: what the Azure portal shows and msal's `thumbprint` takes. */
  thumbprint: string;
  /** SHA-256 of the DER certificate, hex: msal's `thumbprintSha256`. */
  thumbprintSha256: string;
};

/** A self-signed certificate registered on the connector app (Certificates & secrets). */
export function createAppCertificate(existing?: { certificatePem?: string; privateKeyPem?: string }): AppCertificate {
  if (existing?.certificatePem && existing.privateKeyPem) {
    return describeCertificate(existing.certificatePem, existing.privateKeyPem);
  }
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = "01" + forge.util.bytesToHex(forge.random.getBytesSync(15));
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 60 * 60 * 1000);
  const subject = [{ name: "commonName", value: "Symphony M365 Connector (sandbox)" }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return describeCertificate(forge.pki.certificateToPem(cert), forge.pki.privateKeyToPem(keys.privateKey));
}

function describeCertificate(certificatePem: string, privateKeyPem: string): AppCertificate {
  const der = certificateDer(certificatePem);
  return {
    certificatePem,
    privateKeyPem,
    thumbprint: createHash("sha1").update(der).digest("hex").toUpperCase(),
    thumbprintSha256: createHash("sha256").update(der).digest("hex"),
  };
}

export function certificateDer(certificatePem: string): Buffer {
  const body = certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
  return Buffer.from(body, "base64");
}
