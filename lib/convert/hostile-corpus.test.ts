// Hostile corpus (issue 12): more than a thousand XSS and mXSS payloads from public collections
// (lib/convert/fixtures/README.md names them) go through the real converter, and no output may
// contain a dangerous construct (htmlparser2) nor run anything when Chromium renders it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChromiumProbe, type ProbeFinding } from "./fixtures/chromium-probe";
import { dangersIn } from "./fixtures/dangers";
import { SOURCES, corpusSummary, hostileCorpus, type HostileCase } from "./fixtures/hostile-corpus";
import { buildEmail, type Person } from "./index";

const cases = hostileCorpus();

/** People whose names are payloads too: they show up in mentions and in the subject. */
const SENDER: Person = { userId: "7", displayName: '<img src=x onerror=alert("sender")>', email: "s@example.com" };
const PARTICIPANTS: Person[] = [
  { userId: "8", displayName: "<script>alert('participant')</script>", email: '"><svg onload=alert(1)>@example.com' },
  { userId: "<svg onload=alert(1)>", displayName: "javascript:alert(1)" },
];

/** Probe findings that show markup survived, not that it ran. */
const EVIDENCE_ONLY = new Set(["dangerous DOM", "broken page structure"]);

interface Output {
  html: string;
  text: string;
}

function convert(c: HostileCase, index: number): Output {
  const email = buildEmail({
    messageId: `hostile-${index}`,
    streamId: "hostile-stream",
    streamType: "ROOM",
    conversationName: "<script>alert('room')</script>",
    timestamp: new Date(Date.UTC(2024, 0, 1)),
    sender: SENDER,
    participants: PARTICIPANTS,
    presentationML: c.presentationML,
    data: c.data,
    attachments: [],
  });
  return { html: email.html, text: email.text };
}

/** Converted once, shared by the static and the Chromium checks. */
const outputs: Output[] = [];
const conversionErrors: string[] = [];

function describeCase(c: HostileCase, output: Output | undefined): string {
  return [
    `  case   ${c.id}${c.detail ? ` (${c.detail})` : ""}`,
    `  input  ${JSON.stringify(c.presentationML).slice(0, 600)}${c.data ? `\n  data   ${c.data.slice(0, 300)}` : ""}`,
    `  output ${JSON.stringify(output?.html ?? "").slice(0, 600)}`,
  ].join("\n");
}

describe("hostile corpus through the converter", () => {
  beforeAll(() => {
    cases.forEach((c, i) => {
      try {
        outputs.push(convert(c, i));
      } catch (error) {
        outputs.push({ html: "", text: "" });
        conversionErrors.push(`${c.id}: ${String(error)}`);
      }
    });
  });

  it("has at least 1,000 XSS and mXSS cases, every one from a named source", () => {
    const summary = corpusSummary(cases);
    const xss = cases.filter((c) => c.source !== "blns-other").length;
    expect(xss).toBeGreaterThanOrEqual(1000);
    for (const c of cases) expect(SOURCES[c.source].reference).not.toBe("");
    expect(new Set(cases.map((c) => c.id)).size).toBe(cases.length);
    const lines = [...summary].map(([source, families]) => {
      const total = [...families.values()].reduce((a, b) => a + b, 0);
      return `  ${source.padEnd(16)} ${String(total).padStart(5)} cases, ${families.size} families`;
    });
    // The corpus stays hostile: unsanitized, most inputs already fail the static check.
    const hostile = cases.filter((c) => c.source !== "blns-other" && dangersIn(c.presentationML).length > 0).length;
    expect(hostile / xss).toBeGreaterThan(0.6);
    console.info(
      `hostile corpus: ${cases.length} cases (${xss} XSS/mXSS, ${hostile} dangerous as input)\n${lines.join("\n")}`,
    );
  });

  it("converts every case without throwing", () => {
    expect(conversionErrors).toEqual([]);
    for (const output of outputs) expect(typeof output.text).toBe("string");
  });

  for (const source of Object.keys(SOURCES) as (keyof typeof SOURCES)[]) {
    it(`leaves no dangerous construct in the HTML (htmlparser2): ${source}`, () => {
      const failures: string[] = [];
      cases.forEach((c, i) => {
        if (c.source !== source) return;
        const dangers = dangersIn(outputs[i]?.html ?? "");
        if (dangers.length > 0) failures.push(`${describeCase(c, outputs[i])}\n  found  ${dangers.join("; ")}`);
      });
      expect(failures, failures.join("\n\n")).toEqual([]);
    });
  }

  describe("rendered in Chromium", () => {
    let probe: ChromiumProbe;

    beforeAll(async () => {
      probe = await ChromiumProbe.launch();
    });

    afterAll(async () => {
      await probe?.close();
    });

    it("sees a payload run: the probe's own check on unsanitized markup", async () => {
      const controls: [string, string][] = [
        ["script", "<script>alert(1)</script>"],
        ["onerror", "<img src=x onerror=confirm(2)>"],
        ["javascript link", '<a href="java&#x09;script:prompt(3)">x</a>'],
        ["mouseover", "<div onmouseover=print()>x</div>"],
        ["autofocus", "<input autofocus onfocus=__xssMarker=5>"],
        ["console", "<script>console.log(6)</script>"],
        ["uncaught error", "<script>notDefined()</script>"],
        ["toggle", "<details open ontoggle=alert(8)>"],
        ["animation", '<style>@keyframes k{}</style><b style="animation-name:k" onanimationstart=alert(9)>x</b>'],
        ["svg", "<svg onload=alert(10)>"],
        ["srcdoc frame", '<iframe srcdoc="<script>top.alert(11)</script>"></iframe>'],
        ["timer", "<script>setTimeout(()=>alert(12),5)</script>"],
        ["form action", '<form action="javascript:alert(13)"><button>go</button></form>'],
        ["data frame", '<iframe src="data:text/html,<script>alert(14)</script>"></iframe>'],
        ["window event", "<body onpageshow=alert(15)>"],
        ["safe", '<div dir="auto"><p>nothing <b>here</b> <a href="https://example.com/">x</a></p></div>'],
      ];
      const findings = await probe.run(controls, controls.length);
      expect(findings.filter((f) => f.key.split(",").includes("safe"))).toEqual([]);
      // Seen running, not only found in the DOM: every control is attributed an execution finding.
      const ran = new Set(findings.filter((f) => !EVIDENCE_ONLY.has(f.kind)).flatMap((f) => f.key.split(",")));
      for (const [key] of controls) if (key !== "safe") expect(ran, `control "${key}" not seen running`).toContain(key);
      // Each control also fails the static check.
      for (const [key, html] of controls) if (key !== "safe") expect(dangersIn(html), key).not.toEqual([]);
    });

    it("runs nothing from any output", { timeout: 120_000 }, async () => {
      // Identical HTML behaves identically: render each distinct output once.
      const byHtml = new Map<string, number[]>();
      outputs.forEach((output, i) => byHtml.set(output.html, [...(byHtml.get(output.html) ?? []), i]));
      const distinct = [...byHtml.keys()].map((html, k): [string, string] => [String(k), html]);
      const started = Date.now();
      const findings: ProbeFinding[] = await probe.run(distinct);
      console.info(
        `Chromium: ${distinct.length} distinct outputs of ${outputs.length} cases in ${Date.now() - started} ms`,
      );
      const report = findings.map((f) => {
        const indexes = f.key.split(",").flatMap((k) => byHtml.get(distinct[Number(k)]?.[1] ?? "") ?? []);
        const shown = indexes.slice(0, 3).map((i) => describeCase(cases[i] as HostileCase, outputs[i]));
        return `${f.kind}: ${f.detail} (${indexes.length} cases)\n${shown.join("\n")}`;
      });
      expect(findings, report.join("\n\n")).toEqual([]);
    });
  });
});
