// A Content Export file for the per-core figures, made in memory: an Actiance XML zip (yazl) with
// attachments, encrypted (openpgp) to a fresh key as Symphony encrypts `.zip.pgp` files.
import { randomBytes } from "node:crypto";
import { createMessage, encrypt, generateKey, readKey, type PublicKey } from "openpgp";
import { ZipFile } from "yazl";

export type ExportSample = {
  /** Messages and file transfers: the items a reader yields. */
  items: number;
  zip: Buffer;
  encrypted: Buffer;
  key: { privateKeyArmored: string; passphrase: string };
};

const MESSAGES_PER_CONVERSATION = 500;
/** One file transfer after every 50 messages, 4 to 64 KiB of incompressible bytes (a PDF or an image). */
const TRANSFER_EVERY = 50;
const PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank"];
const SENTENCES = [
  "Morning all, anything new on the curve today?",
  "ok",
  "&lt;b&gt;bid&lt;/b&gt; 190.10 / &lt;i&gt;offer&lt;/i&gt; 190.25, size 5m",
  "Levels: 2y 4.10, 5y 3.95, 10y 4.02 &amp; the 30y unchanged",
  "Can you send me the term sheet before the call? Thanks",
];

export async function makeExportSample(messages: number): Promise<ExportSample> {
  const attachments: Array<{ path: string; data: Buffer }> = [];
  const xml = actianceXml(messages, (id, name) => {
    const path = `files/${id}/${name}`;
    attachments.push({ path, data: randomBytes(4096 * (1 + (attachments.length % 16))) });
    return path;
  });
  const zip = new ZipFile();
  zip.addBuffer(Buffer.from(xml), "e_bench_SD-2019-08-13-00_ED-2019-08-14-00_GD-2019-08-14_1565740800000.xml");
  for (const { path, data } of attachments) zip.addBuffer(data, path, { compress: false });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  const zipBytes = Buffer.concat(chunks);

  const passphrase = randomBytes(18).toString("base64url");
  const { publicKey, privateKey } = await generateKey({
    type: "ecc",
    curve: "curve25519Legacy",
    userIDs: [{ name: "Content Export bench", email: "bench@symphony.invalid" }],
    passphrase,
    format: "armored",
  });
  return {
    items: messages + attachments.length,
    zip: zipBytes,
    encrypted: await encryptTo(publicKey, zipBytes),
    key: { privateKeyArmored: privateKey, passphrase },
  };
}

/** A binary OpenPGP message, as Symphony delivers `.zip.pgp` files. */
async function encryptTo(publicKeyArmored: string, data: Uint8Array): Promise<Buffer> {
  const publicKey: PublicKey = await readKey({ armoredKey: publicKeyArmored });
  const message = await createMessage({ binary: data });
  return Buffer.from(await encrypt({ message, encryptionKeys: publicKey, format: "binary" }));
}

/** Rooms of six people with a join and a leave mid-period; times in seconds, as recurring files carry them. */
function actianceXml(messages: number, attach: (id: string, name: string) => string): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<FileDump>\n'];
  const start = 1_565_654_400;
  for (let first = 0, room = 0; first < messages; first += MESSAGES_PER_CONVERSATION, room += 1) {
    const count = Math.min(MESSAGES_PER_CONVERSATION, messages - first);
    const end = start + count + 1;
    parts.push(`  <Conversation Perspective="Rates desk ${room}">\n    <RoomID>room-${room}</RoomID>\n`);
    parts.push(`    <StartTimeUTC>${start}</StartTimeUTC>\n`);
    for (const person of PEOPLE.slice(0, 4)) parts.push(participant("ParticipantEntered", person, start));
    parts.push(participant("ParticipantEntered", "erin", start + Math.floor(count / 3)));
    parts.push(participant("ParticipantLeft", "bob", start + Math.floor((2 * count) / 3)));
    for (let n = 0; n < count; n += 1) {
      const sender = PEOPLE[n % 4] as string;
      const at = start + n;
      parts.push(
        `    <Message><LoginName>${sender}</LoginName><DateTimeUTC>${at}</DateTimeUTC>` +
          `<Content>&lt;div data-format="PresentationML" data-version="2.0"&gt;${SENTENCES[n % SENTENCES.length]} (#${first + n})&lt;/div&gt;</Content>` +
          `<MessageId>msg-${room}-${n}</MessageId></Message>\n`,
      );
      if ((n + 1) % TRANSFER_EVERY === 0) {
        const fileName = attach(`${room}-${n}`, `report-${room}-${n}.pdf`);
        for (const [element, status] of [
          ["FileTransferStarted", "Started"],
          ["FileTransferEnded", "Completed"],
        ] as const) {
          parts.push(
            `    <${element}><LoginName>${sender}</LoginName><DateTimeUTC>${at}</DateTimeUTC>` +
              `<UserFileName>report-${room}-${n}.pdf</UserFileName><FileName>${fileName}</FileName><Status>${status}</Status></${element}>\n`,
          );
        }
      }
    }
    for (const person of ["alice", "carol", "dave", "erin"]) parts.push(participant("ParticipantLeft", person, end));
    parts.push(`    <EndTimeUTC>${end}</EndTimeUTC>\n  </Conversation>\n`);
  }
  parts.push("</FileDump>\n");
  return parts.join("");
}

function participant(element: string, login: string, at: number): string {
  return (
    `    <${element}><LoginName>${login}</LoginName><DateTimeUTC>${at}</DateTimeUTC><InternalFlag>true</InternalFlag>` +
    `<CorporateEmailID>${login}@bank.example</CorporateEmailID><DisplayName>${login}</DisplayName></${element}>\n`
  );
}
