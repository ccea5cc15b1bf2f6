import { X509Certificate, createPrivateKey, randomUUID } from "node:crypto";
import { SignJWT } from "jose";

export const CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** The app registration's certificate and its private key, both PEM. */
export type ClientCertificate = { certificatePem: string; privateKeyPem: string };

/**
 * A client assertion (private_key_jwt) as Entra ID reads it: signed with the certificate's key, the
 * certificate named by its SHA-256 thumbprint in the `x5t#S256` header (Entra finds the certificate by
 * thumbprint and ignores `kid`), the token endpoint as audience, the client id as issuer and subject
 * (learn.microsoft.com/entra/identity-platform/certificate-credentials).
 */
export function signClientAssertion(
  certificate: ClientCertificate,
  clientId: string,
  tokenEndpoint: string,
): Promise<string> {
  const sha256 = new X509Certificate(certificate.certificatePem).fingerprint256.replace(/:/g, "");
  return new SignJWT({ jti: randomUUID() })
    .setProtectedHeader({ alg: "PS256", typ: "JWT", "x5t#S256": Buffer.from(sha256, "hex").toString("base64url") })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenEndpoint)
    .setIssuedAt()
    .setNotBefore("0s")
    .setExpirationTime("10m")
    .sign(createPrivateKey(certificate.privateKeyPem));
}
