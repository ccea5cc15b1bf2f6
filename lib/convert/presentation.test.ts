import { parseDocument, DomUtils } from "htmlparser2";
import { describe, expect, it } from "vitest";
import { renderPresentationML } from "./presentation";
import type { Person } from "./types";

const bob: Person = { userId: "71811853189121", email: "bob@example.com", displayName: "Bob Jones" };
const wrap = (body: string) => `<div data-format="PresentationML" data-version="2.0" class="wysiwyg">${body}</div>`;
const entity = (key: string, text: string) => `<span class="entity" data-entity-id="${key}">${text}</span>`;

const data = JSON.stringify({
  m: {
    type: "com.symphony.user.mention",
    version: "1.0",
    id: [{ type: "com.symphony.user.userId", value: 71811853189121 }],
  },
  h: {
    type: "org.symphonyoss.taxonomy",
    version: "1.0",
    id: [{ type: "org.symphonyoss.taxonomy.hashtag", value: "rates" }],
  },
  c: {
    type: "org.symphonyoss.fin.security",
    version: "1.0",
    id: [{ type: "org.symphonyoss.fin.security.id.ticker", value: "AAPL" }],
  },
  e: { type: "com.symphony.emoji", version: "1.0", data: { shortcode: "smile", unicode: "😄" } },
});

function classed(html: string, className: string): string[] {
  return DomUtils.findAll((e) => e.attribs.class === className, parseDocument(html).children).map((e) =>
    DomUtils.textContent(e),
  );
}

describe("renderPresentationML", () => {
  it("resolves mentions, hashtags, cashtags and emoji through the data entities", () => {
    const { html, text } = renderPresentationML(
      wrap(
        `<p>Hi ${entity("m", "@Bob Jones")}, ${entity("h", "#rates")} ${entity("c", "$AAPL")} ${entity("e", ":smile:")}</p>`,
      ),
      data,
      [bob],
    );
    expect(classed(html, "mention")).toEqual(["@Bob Jones"]);
    expect(classed(html, "hashtag")).toEqual(["#rates"]);
    expect(classed(html, "cashtag")).toEqual(["$AAPL"]);
    expect(text).toBe("Hi @Bob Jones, #rates $AAPL 😄");
  });

  it("names a mention with no text from the conversation's people", () => {
    const { text } = renderPresentationML(wrap(`<p>${entity("m", "")} ok</p>`), data, [bob]);
    expect(text).toBe("@Bob Jones ok");
  });

  it("renders MessageML shorthand mention, hash and cash tags", () => {
    const { html, text } = renderPresentationML(
      '<mention uid="71811853189121"/> <mention email="BOB@example.com"/> <hash tag="fx"/> <cash tag="EURUSD"/>',
      undefined,
      [bob],
    );
    expect(text).toBe("@Bob Jones @Bob Jones #fx $EURUSD");
    expect(classed(html, "cashtag")).toEqual(["$EURUSD"]);
  });

  it("keeps entity text when data is missing or not JSON", () => {
    for (const bad of [undefined, "{not json", "[]", '{"m": {"type": 3}}']) {
      expect(renderPresentationML(wrap(`<p>${entity("m", "@Someone")}</p>`), bad, []).text).toBe("@Someone");
    }
  });

  it("renders tables as HTML tables and aligned text columns", () => {
    const { html, text } = renderPresentationML(
      wrap(
        "<table><thead><tr><th>Tenor</th><th>Bid</th></tr></thead><tbody><tr><td>2y</td><td>4.10</td></tr><tr><td>10y</td><td>4.02</td></tr></tbody></table>",
      ),
      undefined,
      [],
    );
    const cells = DomUtils.findAll((e) => e.name === "td" || e.name === "th", parseDocument(html).children);
    expect(cells.map((c) => DomUtils.textContent(c))).toEqual(["Tenor", "Bid", "2y", "4.10", "10y", "4.02"]);
    expect(text).toBe(["Tenor | Bid", "------|-----", "2y    | 4.10", "10y   | 4.02"].join("\n"));
  });

  it("renders nested lists with markers and indentation", () => {
    const { html, text } = renderPresentationML(
      wrap("<ul><li>one</li><li>two<ol><li>a</li><li>b</li></ol></li></ul>"),
      undefined,
      [],
    );
    expect(DomUtils.findAll((e) => e.name === "li", parseDocument(html).children)).toHaveLength(4);
    expect(text).toBe(["- one", "- two", "  1. a", "  2. b"].join("\n"));
  });

  it("keeps bold, italic and code blocks with their whitespace", () => {
    const { html, text } = renderPresentationML(
      wrap("<p><b>bold</b> and <i>italic</i></p><pre><code>if (a &lt; b) {\n  run();\n}</code></pre>"),
      undefined,
      [],
    );
    expect(html).toContain("<b>bold</b> and <i>italic</i>");
    expect(html).toContain("<pre><code>if (a &lt; b) {\n  run();\n}</code></pre>");
    expect(text).toBe("bold and italic\nif (a < b) {\n  run();\n}");
  });

  it("keeps right-to-left and CJK text readable", () => {
    const { html, text } = renderPresentationML(
      wrap('<p dir="rtl">שלום עולם</p><p>日本語のテキスト、中文</p>'),
      undefined,
      [],
    );
    expect(html).toContain('<p dir="rtl">שלום עולם</p>');
    expect(html.startsWith('<div dir="auto">')).toBe(true);
    expect(text).toBe("שלום עולם\n日本語のテキスト、中文");
  });

  it("shows link targets in the text rendering", () => {
    const { text } = renderPresentationML(
      wrap(
        '<p>See <a href="https://example.com/x">the note</a> or <a href="mailto:bob@example.com">bob@example.com</a></p>',
      ),
      undefined,
      [],
    );
    expect(text).toBe("See the note <https://example.com/x> or bob@example.com");
  });

  it("renders an empty message as empty text", () => {
    expect(renderPresentationML(wrap(""), undefined, []).text).toBe("");
    expect(renderPresentationML("", undefined, []).text).toBe("");
  });
});
