import { parseDocument, DomUtils } from "htmlparser2";
import { describe, expect, it } from "vitest";
import { isMarkup, renderPresentationML, textAsPresentationML } from "./presentation";
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

  it("writes a Symphony Elements form as inert text: labels, placeholders, values and options", () => {
    const { html, text } = renderPresentationML(
      '<form id="f"><text-field name="q" placeholder="Quantity">5M</text-field>' +
        '<button name="b" type="action">Accept 5M EURUSD @1.0832</button>' +
        '<select name="s"><option value="buy">Buy</option><option value="sell" selected="true">Sell</option></select>' +
        '<textarea name="t">terms…</textarea><checkbox name="c" value="v">I agree</checkbox>' +
        '<radio name="r" value="x">Option X</radio></form>',
      undefined,
      [],
    );
    expect(text).toBe(
      '[text field, placeholder "Quantity": 5M] [button: Accept 5M EURUSD @1.0832] [dropdown: Buy | Sell (selected)] ' +
        "[text area: terms…] [checkbox] I agree [radio button] Option X",
    );
    expect(classed(html, "symphony-element")).toEqual([
      '[text field, placeholder "Quantity": 5M]',
      "[button: Accept 5M EURUSD @1.0832]",
      "[dropdown: Buy | Sell (selected)]",
      "[text area: terms…]",
      "[checkbox]",
      "[radio button]",
    ]);
    const names = DomUtils.findAll(() => true, parseDocument(html).children).map((e) => e.name);
    expect(new Set(names)).toEqual(new Set(["div", "span"]));
    expect(html).not.toMatch(/name=|value=|action|type=/);
  });

  it("writes the PresentationML the agent delivers for Elements, chime included", () => {
    // As finos/messageml-utils renders MessageML Elements into PresentationML.
    const { html, text } = renderPresentationML(
      wrap(
        '<form id="deal"><div class="textfield-group" data-generated="true"><label for="textfield-1">Amount</label>' +
          '<span class="info-hint" data-target-id="textfield-1" data-title="In EUR"></span>' +
          '<input type="text" name="q" placeholder="Quantity" value="5M" id="textfield-1"/></div>' +
          '<div class="dropdown-group" data-generated="true"><label for="dropdown-2">Side</label>' +
          '<select data-placeholder="Pick one" name="s" id="dropdown-2"><option value="b">Buy</option>' +
          '<option selected="true" value="s">Sell</option></select></div>' +
          '<div class="checkbox-group"><input type="checkbox" name="c" checked="true" value="v" id="c1"/>' +
          '<label for="c1">I agree</label></div>' +
          '<div class="radio-group"><input type="radio" name="r" value="x" id="r1"/><label for="r1">Option X</label></div>' +
          '<textarea name="t" placeholder="Terms" required="true">line 1\nline 2</textarea>' +
          '<div class="person-selector" data-name="p" data-placeholder="Who"></div>' +
          '<input type="date" name="d" value="2020-09-15" placeholder="When"></input>' +
          '<button type="reset" name="r">Clear</button><button type="action" class="primary" name="go">Send</button>' +
          "</form>",
      ),
      undefined,
      [],
    );
    expect(text).toBe(
      [
        'Amount [hint: In EUR] [text field, placeholder "Quantity": 5M]',
        'Side [dropdown, placeholder "Pick one": Buy | Sell (selected)]',
        "[checkbox, checked] I agree",
        "[radio button] Option X",
        '[text area, placeholder "Terms": line 1',
        'line 2] [person selector, placeholder "Who"] [date picker, placeholder "When": 2020-09-15] [reset button: Clear] [button: Send]',
      ].join("\n"),
    );
    expect(html).toContain(
      '<span class="symphony-element">[text area, placeholder &quot;Terms&quot;: line 1<br>line 2]</span>',
    );
    expect(html).not.toMatch(/<(form|input|select|option|textarea|button|label)\b|name=|value=|data-/);

    for (const chime of [
      wrap('<audio src="https://asset.symphony.com/symphony/audio/chime.mp3" autoplay="true"/>'),
      "<messageML><chime/></messageML>",
    ]) {
      const rendered = renderPresentationML(chime, undefined, []);
      expect(rendered.text).toBe("[chime]");
      expect(rendered.html).not.toMatch(/<audio|autoplay|src=/);
    }
  });

  it("renders an empty message as empty text", () => {
    expect(renderPresentationML(wrap(""), undefined, []).text).toBe("");
    expect(renderPresentationML("", undefined, []).text).toBe("");
  });
});

describe("a Content Export record's Content", () => {
  it("is markup only when it opens with a tag", () => {
    expect(isMarkup(wrap("<p>Hi</p>"))).toBe(true);
    expect(isMarkup("<b>Hi</b> there")).toBe(true);
    for (const text of ["if px<bid then sell", "<bid then sell", "<3 thanks", "&lt;b&gt; is bold", ""])
      expect(isMarkup(text), text).toBe(false);
  });

  it("as plain text says what was sent: a '<' that is no tag, a literal entity and line breaks", () => {
    const body = renderPresentationML(textAsPresentationML("<bid then sell\n&lt;b&gt; is 'bold'"), undefined, []);
    expect(body.text).toContain("<bid then sell\n&lt;b&gt; is 'bold'");
    expect(body.html).toContain("&lt;bid then sell<br");
    expect(body.html).toContain("&amp;lt;b&amp;gt; is");
  });
});
