// PresentationML bodies as Symphony's agent returns them, with the structured-object JSON ("data")
// that mentions, hashtags and cashtags refer to. The hostile kind is deliberately unsafe markup:
// it is what a converter has to neutralise.
import { itemAt, type Person } from "../org";

export const CONTENT_KINDS = [
  "text",
  "mention",
  "cashtag",
  "table",
  "list",
  "formatting",
  "code",
  "emoji",
  "rtl",
  "cjk",
  "hostile",
  "link",
] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

export type Body = { message: string; data: Record<string, unknown> };

const SENTENCES = [
  "Can you send me the latest numbers before the call?",
  "Agreed, let's keep the spread at 3bp for now.",
  "Client wants to roll the position into December.",
  "Ops confirmed the settlement went through this morning.",
  "I'll be out this afternoon, ping me on mobile if urgent.",
  "The draft term sheet is attached for review.",
  "Risk flagged the exposure on the Atlas deal again.",
  'Thanks & noted <- will follow up "tomorrow".',
];
const TAGS = ["deal", "rates", "fx", "compliance", "q4"];
const TICKERS = ["AAPL", "MSFT", "VOD.L", "7203.T", "SAP"];

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export function presentationMl(inner: string): string {
  return `<div data-format="PresentationML" data-version="2.0" class="wysiwyg">${inner}</div>`;
}

const mention = (person: Person) => ({
  id: [{ type: "com.symphony.user.userId", value: String(person.id) }],
  type: "com.symphony.user.mention",
  version: "1.0",
});
const hashtag = (tag: string) => ({
  id: [{ type: "org.symphonyoss.taxonomy.hashtag", value: tag }],
  type: "org.symphonyoss.taxonomy",
  version: "1.0",
});
const cashtag = (ticker: string) => ({
  id: [{ type: "org.symphonyoss.fin.security.id.ticker", value: ticker }],
  type: "org.symphonyoss.fin.security",
  version: "1.0",
});
const entity = (key: string, text: string) => `<span class="entity" data-entity-id="${key}">${escapeHtml(text)}</span>`;

/** The body of one message; `pick(n)` is the message's seeded choice in [0, n). */
export function messageBody(kind: ContentKind, pick: (n: number) => number, others: Person[]): Body {
  const choose = <T>(items: readonly T[]): T => itemAt(items, pick(items.length));
  const sentence = escapeHtml(choose(SENTENCES));
  switch (kind) {
    case "text":
      return { message: presentationMl(sentence), data: {} };
    case "mention": {
      const person = choose(others);
      const tag = choose(TAGS);
      return {
        message: presentationMl(`${entity("0", `@${person.displayName}`)} ${sentence} ${entity("1", `#${tag}`)}`),
        data: { "0": mention(person), "1": hashtag(tag) },
      };
    }
    case "cashtag": {
      const ticker = choose(TICKERS);
      return {
        message: presentationMl(`Watching ${entity("0", `$${ticker}`)} into the close. ${sentence}`),
        data: { "0": cashtag(ticker) },
      };
    }
    case "table":
      return {
        message: presentationMl(
          "<p>Today's fills:</p><table><thead><tr><th>Ticker</th><th>Side</th><th>Qty</th><th>Px</th></tr></thead>" +
            "<tbody><tr><td>AAPL</td><td>Buy</td><td>1,200</td><td>189.32</td></tr>" +
            "<tr><td>VOD.L</td><td>Sell</td><td>50,000</td><td>71.04</td></tr></tbody></table>",
        ),
        data: {},
      };
    case "list":
      return {
        message: presentationMl(
          `<p>${sentence}</p><ul><li>Confirm allocation</li><li>Book the hedge</li></ul><ol><li>First call</li><li>Then email</li></ol>`,
        ),
        data: {},
      };
    case "formatting":
      return {
        message: presentationMl(`<b>Important:</b> <i>${sentence}</i> <b><i>Deadline Friday</i></b>`),
        data: {},
      };
    case "code":
      return {
        message: presentationMl(
          `<p>Query used:</p><pre><code>SELECT trade_id, notional\nFROM trades\nWHERE book = 'EMEA' &amp;&amp; status &lt;&gt; 'X';</code></pre><code>inline_code()</code>`,
        ),
        data: {},
      };
    case "emoji":
      return { message: presentationMl(`Great trade team 🎉👏 ${sentence} 🚀 ❤️ 👍🏽`), data: {} };
    case "rtl":
      return {
        message: presentationMl(
          `<p dir="rtl">مرحبا، هل يمكنك تأكيد الصفقة؟</p><p dir="rtl">שלום, האם העסקה אושרה?</p>`,
        ),
        data: {},
      };
    case "cjk":
      return {
        message: presentationMl(
          `<p>明日の会議は午後3時からです。</p><p>请确认交易细节。</p><p>거래를 확인해 주세요.</p>`,
        ),
        data: {},
      };
    case "hostile":
      return {
        message: presentationMl(
          `<p onclick="alert('click')">${sentence}</p><script>alert("xss")</script>` +
            `<img src="x" onerror="alert('img')"><a href="javascript:alert('link')">click me</a>` +
            `<iframe src="https://evil.example/frame"></iframe><style>body{display:none}</style>` +
            `<div style="position:fixed;top:0" onmouseover="steal()">hover</div>`,
        ),
        data: {},
      };
    case "link":
      return {
        message: presentationMl(
          `${sentence} See <a href="https://research.bank.example/notes?id=42&amp;lang=en">the note</a>.`,
        ),
        data: {},
      };
  }
}
