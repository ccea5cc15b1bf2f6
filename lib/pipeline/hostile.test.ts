// Hostile input through the whole pipeline: messages with script, event handlers, javascript: links,
// broken markup, a 2 MB body, empty bodies and an attachment Symphony cannot serve are collected,
// converted, staged and imported like any other. The run completes, no HTML body in any mailbox can
// run script, and every (message, participant) pair that is not in its mailbox is in the ledger
// with a readable reason.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Parser } from "htmlparser2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { messageIdFor } from "@/lib/convert";
import { db } from "@/lib/db";
import { createTokenProvider, parseM365Settings } from "@/lib/m365";
import type { V4Message } from "@/sandbox/symphony";
import { runImport } from "./run";
import { canRun, startHarness, type Harness } from "./test-harness";

if (!canRun)
  console.warn(
    "lib/pipeline hostile-input test skipped: needs vitest's globalSetup (DATABASE_URL, Azurite, NODE_EXTRA_CA_CERTS for the M365 sandbox)",
  );

const pml = (inner: string) => `<div data-format="PresentationML" data-version="2.0">${inner}</div>`;

const HOSTILE: Record<string, string> = {
  script: pml(`<script>alert("script")</script>before<SCRIPT src="https://evil.example/x.js"></SCRIPT>after`),
  handlers: pml(
    `<img src="x" onerror="alert(1)"/><b onclick="alert(2)" OnMouseOver='alert(3)'>bold</b><svg onload="alert(4)"><circle/></svg>`,
  ),
  links: pml(
    `<a href="javascript:alert(1)">a</a> <a href="  JaVaScRiPt:alert(2)">b</a> <a href="java&#x09;script:alert(3)">c</a>` +
      ` <a href="&#106;avascript:alert(4)">d</a> <a href="vbscript:msgbox(5)">e</a> <a href="data:text/html,&lt;script&gt;alert(6)&lt;/script&gt;">f</a>` +
      ` <a href="https://symphony.com/">safe</a>`,
  ),
  embeds: pml(
    `<iframe src="javascript:alert(1)"></iframe><object data="x.swf"></object><embed src="x"/><style>body{background:url(javascript:alert(2))}</style><form action="javascript:alert(3)"><input/></form><meta http-equiv="refresh" content="0;url=javascript:alert(4)"/>`,
  ),
  unclosed: `<div data-format="PresentationML" data-version="2.0"><b><i>never closed <table><tr><td>cell<ul><li>item <a href="https://x.example/`,
  notMarkup: `<<<>>> &&& </div></div></span> <!-- <script>alert(1)</script> --> <![CDATA[<script>alert(2)</script>]]>`,
  huge: pml(`<p>${"A 2 MB body. ".repeat(Math.ceil((2 * 1024 * 1024) / 13))}</p><script>alert("tail")</script>`),
  empty: "",
  emptyDiv: pml(""),
  whitespace: pml("   \n\t  "),
};

describe.skipIf(!canRun)("hostile input through the whole pipeline", () => {
  let h: Harness;
  const added: Array<{ name: string; message: V4Message }> = [];

  beforeAll(async () => {
    h = await startHarness({ seed: "hostile-input", users: 6, messages: 20, largeAttachments: false });
    const room = h.symphony.org.streams.find((s) => s.type === "ROOM")!;
    for (const [name, message] of Object.entries(HOSTILE))
      added.push({ name, message: h.symphony.addMessage({ streamId: room.id, message }) });
    added.push({
      name: "hostile data",
      message: h.symphony.addMessage({
        streamId: room.id,
        message: pml(`<span class="entity" data-entity-id="m1">@x</span>`),
        data: {
          m1: {
            type: "com.symphony.user.mention",
            id: [{ type: "com.symphony.user.userId", value: `<script>alert(1)</script>` }],
          },
        },
      }),
    });
    const broken = h.symphony.addMessage({
      streamId: room.id,
      text: "see the attached file",
      attachments: [{ name: "gone.pdf", size: 2048 }],
    });
    added.push({ name: "missing attachment", message: broken });
    // Symphony lists an attachment id that it then cannot serve: the connector reads the agent through
    // a proxy that rewrites that id in the message lists.
    agentProxy = await startRewritingProxy(h.symphony.agentUrl, broken.attachments[0]!.id, "no-such-attachment-id");
    await db.connector.update({ where: { id: h.connector.id }, data: { agentUrl: agentProxy.url } });
  });
  let agentProxy: { url: string; close(): Promise<void> } | undefined;
  afterAll(async () => {
    await agentProxy?.close();
    await h?.close();
  });

  it("completes the run, keeps script out of every HTML body, and logs each failure with a reason", async () => {
    const summary = await runImport(await h.newRun(), { workerId: "hostile-test", environment: h.environment });
    expect(["SUCCEEDED", "PARTIAL"]).toContain(summary.status);
    expect(summary.counts.pending).toBe(0);

    // Every pair the run was given is accounted for: imported, or failed/skipped with a reason.
    const expected = await h.expected();
    for (const { name, message } of added) {
      const mailboxes = expected.find((e) => e.message.messageId === message.messageId)!.mailboxes;
      const rows = await db.importItem.findMany({
        where: { connectorId: h.connector.id, sourceMessage: { messageId: message.messageId } },
      });
      for (const mailbox of mailboxes) {
        const row = rows.find((r) => r.mailbox === mailbox);
        expect(row, `${name} -> ${mailbox} in the ledger`).toBeDefined();
        if (row!.status === "IMPORTED") {
          expect(
            h.m365.items(mailbox)!.filter((i) => i.internetMessageId === messageIdFor(message.messageId)),
            `${name} in ${mailbox}`,
          ).toHaveLength(1);
        } else {
          expect(row!.status, `${name} -> ${mailbox}`).toMatch(/^(FAILED|SKIPPED)$/);
          expect(row!.reason, `${name} -> ${mailbox}`).toMatch(/\w{4,}/);
        }
      }
    }

    // The unservable attachment fails its message with a reason naming the attachment; the rest import.
    const missing = added.find((a) => a.name === "missing attachment")!.message;
    const failed = await db.importItem.findMany({
      where: { connectorId: h.connector.id, status: "FAILED" },
      include: { sourceMessage: true },
    });
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((row) => row.sourceMessage.messageId === missing.messageId)).toBe(true);
    expect(failed[0].reason).toMatch(/gone\.pdf/);
    expect(failed[0].reason).toMatch(/not found|404/i);
    const huge = added.find((a) => a.name === "huge")!.message;
    expect(
      await db.importItem.count({
        where: { connectorId: h.connector.id, status: "IMPORTED", sourceMessage: { messageId: huge.messageId } },
      }),
    ).toBeGreaterThan(0);

    // No HTML body in any mailbox can run script (the check itself finds the hazards of the input).
    expect(scriptHazards(HOSTILE.handlers + HOSTILE.links + HOSTILE.embeds).length).toBeGreaterThan(10);
    const settings = parseM365Settings({ ...h.environment.m365, tenantId: h.m365.tenantId });
    const token = await createTokenProvider(settings).getAccessToken();
    let htmlBodies = 0;
    for (const user of h.m365.mailboxes()) {
      for (const item of h.m365.items(user.mail) ?? []) {
        const response = await fetch(
          `${h.m365.graphBaseUrl}/users/${encodeURIComponent(user.mail)}/messages/${encodeURIComponent(item.id)}?$select=body`,
          { headers: { Authorization: `Bearer ${token}` } },
        );
        expect(response.status).toBe(200);
        const { body } = (await response.json()) as { body: { contentType: string; content: string } };
        if (body.contentType !== "html") continue;
        htmlBodies++;
        expect(scriptHazards(body.content), `${user.mail}: ${item.subject}`).toEqual([]);
      }
    }
    expect(htmlBodies).toBeGreaterThan(added.length);
  });
});

/** What in an HTML document could run script: such elements, on* attributes, script URLs (entities decoded, as a browser reads them). */
function scriptHazards(html: string): string[] {
  const hazards: string[] = [];
  const parser = new Parser(
    {
      onopentag(name, attributes) {
        if (/^(script|iframe|frame|object|embed|applet|form|meta|style|link|base|svg|math)$/.test(name))
          hazards.push(`<${name}>`);
        for (const [attribute, value] of Object.entries(attributes)) {
          if (attribute.startsWith("on")) hazards.push(`${name} ${attribute}`);
          const url = value.replace(/[\u0000-\u0020]/g, "").toLowerCase();
          if (/^(javascript|vbscript|data):/.test(url)) hazards.push(`${name} ${attribute}=${value.slice(0, 40)}`);
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  return hazards;
}

/** A loopback HTTP proxy to `target` that replaces `from` by `to` in JSON answers (other answers pass as they are). */
async function startRewritingProxy(target: string, from: string, to: string) {
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      new URL(req.url!, target),
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (answer) => {
        if (!String(answer.headers["content-type"]).includes("json")) {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
          return;
        }
        const parts: Buffer[] = [];
        answer.on("data", (part: Buffer) => parts.push(part));
        answer.on("end", () => {
          const body = Buffer.concat(parts).toString("utf8").replaceAll(from, to);
          res.writeHead(answer.statusCode!, { ...answer.headers, "content-length": Buffer.byteLength(body) }).end(body);
        });
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
