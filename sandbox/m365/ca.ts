import fs from "node:fs";
import path from "node:path";
import forge from "node-forge";

export type SandboxCa = { caCertPath: string; keyPath: string; certPath: string };

const SERVER_NAMES = ["localhost"];
const SERVER_IPS = ["127.0.0.1"];
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Creates (or reuses) a local certificate authority and a server certificate for localhost and
 * 127.0.0.1 signed by it. Trust the CA with NODE_EXTRA_CA_CERTS=caCertPath.
 */
export function ensureSandboxCa(dir: string): SandboxCa {
  dir = path.resolve(dir);
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    caCertPath: path.join(dir, "ca.crt"),
    caKeyPath: path.join(dir, "ca.key"),
    certPath: path.join(dir, "server.crt"),
    keyPath: path.join(dir, "server.key"),
  };
  const result = { caCertPath: files.caCertPath, keyPath: files.keyPath, certPath: files.certPath };

  let ca = readValidCa(files.caCertPath, files.caKeyPath);
  if (!ca) {
    ca = createCa();
    writeAtomic(files.caKeyPath, forge.pki.privateKeyToPem(ca.key));
    writeAtomic(files.caCertPath, forge.pki.certificateToPem(ca.cert));
    fs.rmSync(files.certPath, { force: true });
  }
  if (!isValidServerCert(files.certPath, files.keyPath, ca.cert)) {
    const server = createServerCert(ca);
    writeAtomic(files.keyPath, forge.pki.privateKeyToPem(server.key));
    writeAtomic(files.certPath, forge.pki.certificateToPem(server.cert));
  }
  return result;
}

type KeyAndCert = { key: forge.pki.rsa.PrivateKey; cert: forge.pki.Certificate };

function readValidCa(certPath: string, keyPath: string): KeyAndCert | null {
  try {
    const cert = forge.pki.certificateFromPem(fs.readFileSync(certPath, "utf8"));
    const key = forge.pki.privateKeyFromPem(fs.readFileSync(keyPath, "utf8"));
    return stillValid(cert) ? { key, cert } : null;
  } catch {
    return null;
  }
}

function isValidServerCert(certPath: string, keyPath: string, caCert: forge.pki.Certificate): boolean {
  try {
    const cert = forge.pki.certificateFromPem(fs.readFileSync(certPath, "utf8"));
    forge.pki.privateKeyFromPem(fs.readFileSync(keyPath, "utf8"));
    if (!stillValid(cert) || !caCert.verify(cert)) return false;
    const san = cert.getExtension("subjectAltName") as { altNames?: { value?: string; ip?: string }[] } | null;
    const names = (san?.altNames ?? []).map((n) => n.ip ?? n.value);
    return [...SERVER_NAMES, ...SERVER_IPS].every((n) => names.includes(n));
  } catch {
    return false;
  }
}

function stillValid(cert: forge.pki.Certificate): boolean {
  const now = Date.now();
  return cert.validity.notBefore.getTime() <= now && cert.validity.notAfter.getTime() > now + DAY_MS;
}

function createCa(): KeyAndCert {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = baseCert(keys.publicKey, 3650);
  const subject = [{ name: "commonName", value: "Symphony M365 Connector Sandbox CA" }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { key: keys.privateKey, cert };
}

function createServerCert(ca: KeyAndCert): KeyAndCert {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = baseCert(keys.publicKey, 365);
  cert.setSubject([{ name: "commonName", value: "localhost" }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: [...SERVER_NAMES.map((value) => ({ type: 2, value })), ...SERVER_IPS.map((ip) => ({ type: 7, ip }))],
    },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return { key: keys.privateKey, cert };
}

function baseCert(publicKey: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = "01" + forge.util.bytesToHex(forge.random.getBytesSync(15));
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(Date.now() + days * DAY_MS);
  return cert;
}

/** Several processes may call ensureSandboxCa at once: never let one read a half-written file. */
function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, content, { mode: file.endsWith(".key") ? 0o600 : 0o644 });
  fs.renameSync(tmp, file);
}
