import { parseDocument, DomUtils } from "htmlparser2";
import { describe, expect, it } from "vitest";
import { renderPresentationML } from "./presentation";

const SCRIPT_CAPABLE = new Set([
  "script",
  "style",
  "iframe",
  "frame",
  "object",
  "embed",
  "applet",
  "svg",
  "math",
  "form",
  "input",
  "button",
  "textarea",
  "select",
  "meta",
  "link",
  "base",
  "template",
  "noscript",
  "video",
  "audio",
]);

/** Parses our output the way a mail client would and lists everything that could run script. */
function dangersIn(html: string): string[] {
  const dangers: string[] = [];
  const elements = DomUtils.findAll(() => true, parseDocument(html).children);
  for (const element of elements) {
    if (SCRIPT_CAPABLE.has(element.name)) dangers.push(`<${element.name}>`);
    for (const [name, value] of Object.entries(element.attribs)) {
      if (name.startsWith("on")) dangers.push(`${name} on <${element.name}>`);
      if (name === "style" || name === "srcdoc" || name === "formaction" || name === "xlink:href") dangers.push(name);
      if ((name === "href" || name === "src" || name === "action") && !/^(https?:|mailto:)/i.test(value)) {
        dangers.push(`${name}=${value}`);
      }
    }
  }
  return dangers;
}

const HOSTILE: Record<string, string> = {
  "script tag": "<p>hi</p><script>alert(1)</script>",
  "upper-case script": "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
  "img onerror": '<img src=x onerror="alert(1)">',
  "img onerror with https src": '<img src="https://example.com/a.png" onerror="alert(1)" onload=alert(2)>',
  "javascript: link": '<a href="javascript:alert(1)">click</a>',
  "mixed-case javascript: link": '<a href="JaVaScRiPt:alert(1)">click</a>',
  "entity-encoded javascript: link": '<a href="jav&#x61;script&colon;alert(1)">click</a>',
  "decimal-encoded javascript: link":
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
  "tab and newline inside scheme": '<a href="java\tscr\nipt:alert(1)">x</a><a href=" &#14; javascript:alert(1)">y</a>',
  "vbscript: link": '<a href="vbscript:msgbox(1)">x</a>',
  "data: link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
  "data: image": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
  "relative link": '<a href="/admin?delete=1">x</a>',
  "unclosed tags": "<div><b>bold <i>italic <table><tr><td>cell",
  "svg onload": "<svg onload=alert(1)><circle r=10 /></svg><p>after</p>",
  "svg with script inside": '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">x</a></svg>',
  "math with javascript href": '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
  "css expression":
    '<div style="width: expression(alert(1))">x</div><p style="background:url(javascript:alert(1))">y</p>',
  "style element": "<style>*{background:url(javascript:alert(1))}</style><p>x</p>",
  "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
  "object and embed": '<object data="javascript:alert(1)"></object><embed src="https://evil.example/x.swf">',
  "form with formaction":
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(2)">go</button><input onfocus=alert(3) autofocus></form>',
  "elements form with handlers":
    '<form id="f" action="javascript:alert(1)" onsubmit="alert(2)"><text-field name="q" onfocus="alert(3)" autofocus placeholder="&quot;><script>alert(4)</script>">5M</text-field>' +
    '<button type="action" name="b" onclick="alert(5)" formaction="javascript:alert(6)"><img src=x onerror=alert(7)>Go</button>' +
    '<select name="s" onchange="alert(8)"><option value="x" onclick="alert(9)"><script>alert(10)</script>Buy</option></select>' +
    '<textarea name="t" onfocus="alert(11)"><script>alert(12)</script></textarea>' +
    '<input type="checkbox" onclick="alert(13)"><input type="image" src="javascript:alert(14)"></form>',
  "controls nested in controls":
    "<button><b><button onclick=alert(1)><select><option><svg onload=alert(2)>x</option></select></button></b></button>".repeat(
      50,
    ),
  "hostile chime":
    '<audio src="javascript:alert(1)" autoplay onplay="alert(2)"><source src="javascript:alert(3)">fallback<script>alert(4)</script></audio><chime onclick="alert(5)"/>',
  "meta refresh and base":
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)"><base href="javascript:alert(1)//">',
  "entity-encoded markup stays text": "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;",
  "comment hiding script": "<!-- <script>alert(1)</script> --><p>x</p>",
  "cdata hiding script": "<![CDATA[<script>alert(1)</script>]]><p>x</p>",
  "noscript mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
  "nested tag soup": "<<script>script>alert(1)<</script>/script>",
  "null byte in tag": "<scr\u0000ipt>alert(1)</scr\u0000ipt>",
  "attribute breakout": '<a href="https://example.com/" title=\'"><script>alert(1)</script>\'>x</a>',
  "hostile entity span":
    '<span class="entity" data-entity-id="0" onclick="alert(1)"><img src=x onerror=alert(1)>@x</span>',
  "hostile mention tag": '<mention uid="1" onmouseover="alert(1)"/><hash tag="\'><script>alert(1)</script>"/>',
  "template and slot": "<template><script>alert(1)</script></template><slot onclick=alert(1)>x</slot>",
  "deeply nested markup": "<div>".repeat(30_000) + "deep" + "</div>".repeat(30_000),
  "deeply nested unclosed markup": "<span><b>".repeat(15_000) + "<script>alert(1)</script>",
  "huge message": "<p>" + "lorem <b>ipsum</b> dolor <a href=javascript:alert(1)>sit</a> ".repeat(60_000) + "</p>",
  "empty message": "",
  "only whitespace": "   \n\t ",
  "not markup at all": "5 < 6 && 7 > 3 \"quoted\" 'single'",
};

const data = JSON.stringify({
  "0": { type: "com.symphony.user.mention", id: [{ type: "com.symphony.user.userId", value: "1" }] },
});
const people = [{ userId: "1", displayName: "Bob <script>alert(1)</script>" }];

describe("PresentationML sanitizer, hostile input", () => {
  for (const [name, markup] of Object.entries(HOSTILE)) {
    it(`leaves nothing that could run script: ${name}`, () => {
      const { html, text } = renderPresentationML(markup, data, people);
      expect(dangersIn(html)).toEqual([]);
      expect(html).not.toMatch(/<script/i);
      expect(typeof text).toBe("string");
    });
  }

  it("keeps entity-encoded markup as visible text", () => {
    const { html, text } = renderPresentationML(HOSTILE["entity-encoded markup stays text"]!, undefined, []);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(text).toBe("<script>alert(1)</script><img src=x onerror=alert(1)>");
  });

  it("keeps the readable text around removed markup", () => {
    const { text } = renderPresentationML(
      '<p>before</p><script>alert(1)</script><p onclick="x()">after <b>bold</b></p>',
      undefined,
      [],
    );
    expect(text).toBe("before\nafter bold");
  });

  it("keeps deeply nested text instead of dropping it", () => {
    const { text } = renderPresentationML(HOSTILE["deeply nested markup"]!, undefined, []);
    expect(text).toBe("deep");
  });

  it("keeps safe links, with rel=noopener noreferrer", () => {
    const { html } = renderPresentationML(
      '<a href="https://example.com/a?b=1&amp;c=2" onclick="x()">x</a> <a href="mailto:bob@example.com">Bob</a>',
      undefined,
      [],
    );
    const links = DomUtils.findAll((e) => e.name === "a", parseDocument(html).children);
    expect(links.map((a) => a.attribs.href)).toEqual(["https://example.com/a?b=1&c=2", "mailto:bob@example.com"]);
    expect(links.every((a) => a.attribs.rel === "noopener noreferrer")).toBe(true);
  });

  it("keeps the text of hostile Elements as text, and no control", () => {
    const { html, text } = renderPresentationML(HOSTILE["elements form with handlers"]!, undefined, []);
    expect(text).toBe(
      '[text field, placeholder ""><script>alert(4)</script>": 5M] [button: Go] [dropdown: Buy] ' +
        "[text area: <script>alert(12)</script>] [checkbox] [input field]",
    );
    expect(html).toContain("&lt;script&gt;alert(12)&lt;/script&gt;");
    expect(renderPresentationML(HOSTILE["hostile chime"]!, undefined, []).text).toBe("[audio] [chime]");
  });

  it("turns hostile display names into text", () => {
    const { html } = renderPresentationML('<mention uid="1"/>', undefined, people);
    expect(html).toContain("@Bob &lt;script&gt;alert(1)&lt;/script&gt;");
  });
});
