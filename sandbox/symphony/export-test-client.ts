// For the Content Export tests: a minimal Files API client, PGP decryption, unzipping, and an
// independent reading of Actiance XML by the contract's rules (plain fetch, openpgp, yauzl, saxes;
// never our lib/ code). The tests compare what it finds in the files with expectedItems().
import { createHash } from "node:crypto";
import { decrypt, decryptKey, readMessage, readPrivateKey, type Message } from "openpgp";
import { SaxesParser } from "saxes";
import yauzl from "yauzl";
import type { SymphonySandbox } from "./index";
import type { PgpKey } from "./pgp";
import { loginHeaders } from "./test-client";

export async function filesToken(sandbox: SymphonySandbox): Promise<string> {
  const { sessionToken } = await loginHeaders(sandbox);
  const res = await fetch(`${sandbox.podUrl}/login/idm/tokens?scope=sym-files`, {
    method: "POST",
    headers: { sessionToken },
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export type FileMetadata = {
  id: string;
  name: string;
  size: number | null;
  uploadTime: string;
  contentType: string;
  integrityHash: string | null;
  type: string;
  encryption?: { encryptionKeyId: string; alg: string };
  typeSpecificMetadata: {
    jobType: string;
    fileFormat: string;
    startTime: string;
    endTime: string;
    generationDate: string;
  };
};

export const filesGet = (sandbox: SymphonySandbox, token: string, pathAndQuery: string) =>
  fetch(`${sandbox.podUrl}${pathAndQuery}`, { headers: { authorization: `Bearer ${token}` } });

/** Every page of the listing. */
export async function listAll(sandbox: SymphonySandbox, token: string, query = ""): Promise<FileMetadata[]> {
  const all: FileMetadata[] = [];
  for (let page = 1; ; page++) {
    const res = await filesGet(sandbox, token, `/files/v1/?type=ContentExport&pageSize=100&page=${page}${query}`);
    if (res.status !== 200) throw new Error(`list: ${res.status} ${await res.text()}`);
    const batch = (await res.json()) as FileMetadata[];
    all.push(...batch);
    if (all.length >= Number(res.headers.get("x-total-count")) || batch.length === 0) return all;
  }
}

export async function signedUrl(sandbox: SymphonySandbox, token: string, id: string): Promise<string> {
  const res = await filesGet(sandbox, token, `/files/v1/${id}?type=ContentExport`);
  if (res.status !== 200) throw new Error(`download: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { signedUrl: string }).signedUrl;
}

export async function download(sandbox: SymphonySandbox, token: string, id: string): Promise<Buffer> {
  const res = await fetch(await signedUrl(sandbox, token, id));
  if (res.status !== 200) throw new Error(`storage: ${res.status} ${await res.text()}`);
  return Buffer.from(await res.arrayBuffer());
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const unlocked = new Map<string, ReturnType<typeof decryptKey>>();

export async function pgpDecrypt(key: PgpKey, bytes: Uint8Array): Promise<Buffer> {
  // Unlocking a key runs its passphrase's S2K (about 0.1 s): once per key.
  let privateKey = unlocked.get(key.privateKeyArmored);
  if (!privateKey) {
    privateKey = readPrivateKey({ armoredKey: key.privateKeyArmored }).then((k) =>
      decryptKey({ privateKey: k, passphrase: key.passphrase }),
    );
    unlocked.set(key.privateKeyArmored, privateKey);
  }
  const message: Message<Uint8Array> = await readMessage({ binaryMessage: bytes });
  const decrypted = await decrypt({ message, decryptionKeys: await privateKey, format: "binary" });
  return Buffer.from(decrypted.data);
}

export type ZipListing = Array<{
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  read(): Promise<Buffer>;
}>;

/** The entries of a zip, read only on demand (yauzl, random access; names kept as they are, even ../). */
export function unzip(bytes: Buffer): Promise<ZipListing> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, decodeStrings: false }, (error, zip) => {
      if (error) return reject(error);
      const entries: ZipListing = [];
      zip.on("error", reject);
      zip.on("entry", (entry: yauzl.Entry) => {
        // Without decodeStrings, yauzl gives the raw name bytes (and does not refuse ../ names).
        const raw = entry.fileName as unknown as Buffer;
        entries.push({
          name: raw.toString("utf8"),
          compressedSize: entry.compressedSize,
          uncompressedSize: entry.uncompressedSize,
          read: () =>
            new Promise((done, fail) =>
              zip.openReadStream(entry, (e, stream) => {
                if (e) return fail(e);
                const chunks: Buffer[] = [];
                stream
                  .on("data", (c: Buffer) => chunks.push(c))
                  .on("end", () => done(Buffer.concat(chunks)))
                  .on("error", fail);
              }),
            ),
        });
        zip.readEntry();
      });
      zip.on("end", () => resolve(entries));
      zip.readEntry();
    });
  });
}

type Element = { tag: string; fields: Record<string, string> };
type Conversation = { roomId: string; elements: Element[] };

/** Conversations of an Actiance file as flat elements with their child fields (saxes, no DTD). */
export function readActiance(xml: string): Conversation[] {
  const parser = new SaxesParser();
  const conversations: Conversation[] = [];
  let conversation: Conversation | undefined;
  let element: Element | undefined;
  let field: string | undefined;
  let text = "";
  parser.on("opentag", (tag) => {
    if (tag.name === "Conversation") conversations.push((conversation = { roomId: "", elements: [] }));
    else if (conversation && !element && tag.name !== "RoomID" && !tag.name.endsWith("TimeUTC"))
      element = { tag: tag.name, fields: {} };
    field = tag.name;
    text = "";
  });
  parser.on("text", (t) => (text += t));
  parser.on("closetag", (tag) => {
    if (tag.name === "RoomID" && conversation) conversation.roomId = text;
    else if (element && tag.name === element.tag) {
      conversation!.elements.push(element);
      element = undefined;
    } else if (element && tag.name === field) element.fields[tag.name] = text;
    text = "";
  });
  parser.write(xml).close();
  return conversations;
}

export type FoundItem = {
  key: string;
  conversationId: string;
  sentAt: number;
  senderEmail: string;
  recipientEmails: string[];
  editOf?: string;
  attachmentNames: string[];
};

/**
 * The items of one file by the contract: recipients are those present at the message's time (Entered
 * at e <= t, no Left in [e, t)) plus the sender; key = MessageId, or `ce-` + the SHA-256 of
 * [conversation, login, epoch seconds, content, file paths] (+ n for the n-th repeat in a
 * conversation); an edit is linked to its original through EditedNewMsgId.
 */
export function itemsOf(conversations: Conversation[]): FoundItem[] {
  const items: FoundItem[] = [];
  const originalOf = new Map<string, string>();
  const edits: Array<{ item: FoundItem; id: string }> = [];
  for (const c of conversations) {
    const ms = (s: string) => (Number(s) < 1e11 ? Number(s) * 1000 : Number(s));
    const repeats = new Map<string, number>();
    const hashKey = (...parts: unknown[]) => {
      const first = sha256(Buffer.from(JSON.stringify(parts)));
      const seen = repeats.get(first) ?? 0;
      repeats.set(first, seen + 1);
      return `ce-${seen === 0 ? first : sha256(Buffer.from(JSON.stringify([...parts, seen])))}`;
    };
    const emailOf = new Map<string, string>();
    for (const e of c.elements)
      if (e.fields.CorporateEmailID) emailOf.set(e.fields.LoginName!, e.fields.CorporateEmailID.toLowerCase());
    const presence = c.elements
      .filter((e) => e.tag === "ParticipantEntered" || e.tag === "ParticipantLeft")
      .map((e) => ({
        login: e.fields.LoginName!,
        entered: e.tag === "ParticipantEntered",
        time: ms(e.fields.DateTimeUTC!),
      }));
    const presentAt = (t: number) =>
      [...emailOf.keys()].filter((login) => {
        const enters = presence.filter((p) => p.login === login && p.entered && p.time <= t).map((p) => p.time);
        if (enters.length === 0) return false;
        const e = Math.max(...enters);
        return !presence.some((p) => p.login === login && !p.entered && p.time >= e && p.time < t);
      });
    for (const e of c.elements) {
      const login = e.fields.LoginName!;
      const t = ms(e.fields.DateTimeUTC ?? "0");
      const seconds = Math.floor(t / 1000);
      const common = () => ({
        conversationId: c.roomId,
        sentAt: t,
        senderEmail: emailOf.get(login)!,
        recipientEmails: [...new Set([...presentAt(t), login].map((l) => emailOf.get(l)!))].sort(),
      });
      if (e.tag === "Message") {
        const key = e.fields.MessageId ?? hashKey(c.roomId, login, seconds, e.fields.Content ?? "", []);
        const item: FoundItem = { ...common(), key, attachmentNames: [] };
        items.push(item);
        if (e.fields.UpdatedType === "EditedOriginalMsg" && e.fields.MessageId && e.fields.EditedNewMsgId)
          originalOf.set(e.fields.EditedNewMsgId, e.fields.MessageId);
        if (e.fields.UpdatedType === "EditedNewMsg" && e.fields.MessageId) edits.push({ item, id: e.fields.MessageId });
      }
      if (e.tag === "FileTransferEnded")
        items.push({
          ...common(),
          key: hashKey(c.roomId, login, seconds, "", [e.fields.FileName!]),
          attachmentNames: [e.fields.UserFileName!],
        });
    }
  }
  for (const edit of edits) {
    const original = originalOf.get(edit.id);
    if (original) edit.item.editOf = original;
  }
  return items;
}
