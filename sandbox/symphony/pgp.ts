// The PGP key pairs export files are encrypted to, and the encryption itself (openpgp, binary
// messages as Symphony delivers `.zip.pgp` files).
import { randomBytes } from "node:crypto";
import { createMessage, encrypt, generateKey, readKey, type PublicKey } from "openpgp";

export type PgpKeyPair = { publicKeyArmored: string; privateKeyArmored: string; passphrase: string };
export type PgpKey = PgpKeyPair & {
  /** Key id of the encryption subkey: 16 lowercase hex characters, what a message's PKESK names. */
  keyId: string;
};

/** A fresh Curve25519 key pair (ECDH encryption subkey), its private key locked with a random passphrase. */
export async function generatePgpKeyPair(name = "Content Export"): Promise<PgpKeyPair> {
  const passphrase = randomBytes(18).toString("base64url");
  const { publicKey, privateKey } = await generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name, email: "content-export@symphony.invalid" }],
    passphrase,
    format: "armored",
  });
  return { publicKeyArmored: publicKey, privateKeyArmored: privateKey, passphrase };
}

export type PgpEncrypter = { key: PgpKey; encrypt(data: Uint8Array): Promise<Buffer> };

export async function pgpEncrypter(pair: PgpKeyPair): Promise<PgpEncrypter> {
  const publicKey: PublicKey = await readKey({ armoredKey: pair.publicKeyArmored });
  const subkey = await publicKey.getEncryptionKey();
  return {
    key: { ...pair, keyId: subkey.getKeyID().toHex() },
    async encrypt(data) {
      const message = await createMessage({ binary: data });
      return Buffer.from(await encrypt({ message, encryptionKeys: publicKey, format: "binary" }));
    },
  };
}
