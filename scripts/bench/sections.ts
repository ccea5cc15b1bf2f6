// The four sections of `npm run bench`, each measured and printed as a table against the targets.
import { measureContentExport } from "./content-export";
import { measureConversion } from "./convert";
import { benchHotMailbox } from "./hot-mailbox";
import { benchPipeline, mb, type PipelineCase, type PipelineFigures } from "./pipeline";
import type { SandboxHost } from "./sandboxes";
import { fmt, printTable } from "./table";

type Common = Pick<PipelineCase, "caDir" | "storageConnectionString" | "runOptions" | "log"> & { host: SandboxHost };

const RSS_TARGET_MB = 400;

export type PipelinePaths = { rest: boolean; contentExport: boolean };

const PATH_NAMES = { rest: "REST (bot's conversations)", contentExport: "Content Export (Files API, PGP, Actiance)" };

/**
 * The whole pipeline through each source kind asked for, one run each over the same seeded org, side
 * by side. Content Export may run a smaller org (`exportMessages`) to keep the default bench short.
 */
export async function pipelineSection(
  { host, ...common }: Common,
  { messages, users, exportMessages }: { messages: number; users: number; exportMessages: number },
  paths: PipelinePaths,
) {
  const runs: Array<{ name: string; figures: PipelineFigures; messages: number }> = [];
  if (paths.rest) {
    common.log?.(`pipeline, REST path: ${messages} messages over ${users} users`);
    const figures = await benchPipeline(host, { ...common, sandbox: { seed: "bench", users, messages } });
    runs.push({ name: PATH_NAMES.rest, figures, messages });
  }
  if (paths.contentExport) {
    common.log?.(`pipeline, Content Export: ${exportMessages} messages over ${users} users`);
    const sandbox = { seed: "bench", users, messages: exportMessages, contentExport: { format: "ACTIANCE" as const } };
    const figures = await benchPipeline(host, { ...common, sandbox });
    runs.push({ name: PATH_NAMES.contentExport, figures, messages: exportMessages });
  }
  const each = (value: (f: PipelineFigures) => string) => runs.map(({ figures }) => value(figures));
  const itemsPerSecond = (f: PipelineFigures) => f.itemsImported / (f.totalMs / 1000);
  const exportRows = runs.some(({ figures }) => figures.exportFiles)
    ? [
        {
          figure: "export files done / failed of total (size)",
          value: each((f) =>
            f.exportFiles
              ? `${fmt(f.exportFiles.done)} / ${fmt(f.exportFiles.failed)} of ${fmt(f.exportFiles.files)} (${mb(f.exportFiles.bytes)})`
              : "",
          ),
        },
        {
          figure: "items the files must produce ((message, mailbox) pairs)",
          value: each((f) => (f.exportFiles ? fmt(f.exportFiles.expectedItems) : "")),
        },
      ]
    : [];
  const capped = runs.some((run) => run.messages !== messages);
  printTable(
    `1. Full pipeline, ${fmt(messages)} messages over ${fmt(users)} users (options ${JSON.stringify({ ...common.runOptions, signal: undefined })})` +
      (capped
        ? `\n   Content Export capped at ${fmt(exportMessages)} messages to keep the bench short (--export-messages N)`
        : ""),
    [
      { figure: "org: messages generated", value: runs.map((run) => fmt(run.messages)) },
      { figure: "messages/s end to end", value: each((f) => fmt(f.messages / (f.totalMs / 1000))) },
      {
        figure: "mailbox items/s end to end",
        value: each((f) => fmt(itemsPerSecond(f))),
        target: ">= 1,000",
        met: runs.map(({ figures }) => itemsPerSecond(figures) >= 1000),
      },
      {
        figure: "items imported / skipped / failed",
        value: each((f) => `${fmt(f.itemsImported)} / ${fmt(f.itemsSkipped)} / ${fmt(f.itemsFailed)}`),
      },
      ...exportRows,
      {
        figure: "collect phase (read source, convert, stage, ledger)",
        value: each((f) => `${fmt(f.collectMs / 1000, 1)} s (${fmt(f.messages / (f.collectMs / 1000))} msg/s)`),
      },
      {
        figure: "import phase (claim, parse, Graph)",
        value: each((f) => `${fmt(f.importMs / 1000, 1)} s (${fmt(f.itemsImported / (f.importMs / 1000))} items/s)`),
      },
      { figure: "total time", value: each((f) => `${fmt(f.totalMs / 1000, 1)} s`) },
      { figure: "Graph requests per item", value: each((f) => fmt(f.graphRequests / Math.max(1, f.itemsImported), 3)) },
      { figure: "429 answers", value: each((f) => fmt(f.throttled)) },
      {
        figure: "peak RSS, pipeline process",
        value: each((f) => mb(f.peakRss)),
        target: `<= ${RSS_TARGET_MB} MB, flat`,
        met: runs.map(({ figures }) => figures.peakRss <= RSS_TARGET_MB * 1024 * 1024),
      },
      { figure: "peak RSS, sandbox child (not ours)", value: each((f) => mb(f.peakSandboxRss)) },
      ...cpuRows(runs.map(({ figures }) => figures)),
    ],
    runs.map((run) => run.name),
  );
}

export async function contentExportSection(seconds = 3) {
  const messages = 20_000;
  const f = await measureContentExport(messages, seconds);
  // A file's cost per item on one core: its share of the decryption plus unzip and both parse passes.
  const megabytesPerItem = f.encryptedBytes / 1024 / 1024 / f.items;
  const fileToItems = 1 / (megabytesPerItem / f.decrypt.perCpuSecond + 1 / f.unzipParse.perCpuSecond);
  printTable(
    `4. Content Export, one core: a generated Actiance file of ${fmt(messages)} messages and ${fmt(f.items - messages)} file transfers (zip ${mb(f.zipBytes)}, PGP-encrypted), ${seconds} s per case`,
    [
      {
        figure: "Actiance parse, both passes, msg/s (best run; per CPU second)",
        value: `${fmt(f.parse.perSecond)} (${fmt(f.parse.perCpuSecond)}), ${fmt(f.parse.megabytesPerSecond, 1)} MB/s of XML`,
        target: ">= 50,000 per CPU s",
        met: f.parse.perCpuSecond >= 50_000,
      },
      {
        figure: "PGP decrypt to file, MB/s (best run; per CPU second)",
        value: `${fmt(f.decrypt.perSecond)} (${fmt(f.decrypt.perCpuSecond)})`,
      },
      {
        figure: "unzip + parse (openExportContent, items()), items/s (best run; per CPU s)",
        value: `${fmt(f.unzipParse.perSecond)} (${fmt(f.unzipParse.perCpuSecond)})`,
      },
      { figure: "decrypt + unzip + parse, items per CPU second", value: fmt(fileToItems) },
    ],
  );
}

export async function conversionSection() {
  const figures = await measureConversion(3);
  const perMessage = figures.find((f) => f.name.startsWith("buildEmail + MIME"))!;
  printTable("2. Conversion alone, one core (scripts/bench/convert.ts)", [
    ...figures.map((f) => ({ figure: `${f.name} msg/s`, value: fmt(f.messagesPerSecond) })),
    {
      figure: "conversion (email + MIME) msg/s per core",
      value: fmt(perMessage.messagesPerSecond),
      target: ">= 20,000",
      met: perMessage.messagesPerSecond >= 20_000,
    },
  ]);
}

export async function hotMailboxSection({ host, ...common }: Common, seconds: number) {
  // Outlook allows 10,000 requests per 10 minutes per app and mailbox; here 250 per 5 s (50/s) so it ends in ~30 s.
  const window = { requests: 250, windowMs: 5_000 };
  common.log?.(`hot mailbox: ${window.requests} requests per ${window.windowMs / 1000} s, ~${seconds} s`);
  const f = await benchHotMailbox(host, common, { ...window, seconds });
  const share = f.steadyPerSecond / f.budgetPerSecond;
  const throttledShare = f.throttled / Math.max(1, f.graphRequests);
  printTable(
    `3. One hot mailbox at the Graph ceiling (${window.requests} requests per ${window.windowMs / 1000} s, 4 in flight)`,
    [
      { figure: "items imported into the mailbox", value: fmt(f.itemsImported) },
      { figure: "import phase", value: `${fmt(f.importMs / 1000, 1)} s` },
      { figure: "budget (requests/s)", value: fmt(f.budgetPerSecond, 1) },
      { figure: "achieved after the first window (req/s)", value: fmt(f.steadyPerSecond, 1) },
      {
        figure: "share of the ceiling reached",
        value: `${fmt(share * 100, 1)} %`,
        target: ">= 90 %",
        met: share >= 0.9,
      },
      { figure: "achieved over the whole phase (req/s)", value: fmt(f.wholePhasePerSecond, 1) },
      {
        figure: "requests answered 429",
        value: `${fmt(f.throttled)} of ${fmt(f.graphRequests)} (${fmt(throttledShare * 100, 2)} %)`,
        target: "<= 1 %",
        met: throttledShare <= 0.01,
      },
    ],
  );
}

/** CPU time per process group: on a 2-core machine the sandboxes, Azurite and PostgreSQL share the cores with the pipeline. */
function cpuRows(runs: PipelineFigures[]) {
  const total = (cpu: Record<string, number>) => Object.values(cpu).reduce((sum, seconds) => sum + seconds, 0);
  const perItem = (seconds: number, f: PipelineFigures) =>
    `${fmt(seconds, 1)} s (${fmt((seconds * 1000) / Math.max(1, f.itemsImported), 2)} ms/item)`;
  const groups = [...new Set(runs.flatMap((f) => Object.keys(f.cpu)))].sort(
    (a, b) => (runs[0]?.cpu[b] ?? 0) - (runs[0]?.cpu[a] ?? 0),
  );
  return [
    ...groups.map((group) => ({
      figure: `CPU ${group}`,
      value: runs.map((f) => (f.cpu[group] === undefined ? "" : perItem(f.cpu[group], f))),
    })),
    { figure: "CPU all processes", value: runs.map((f) => perItem(total(f.cpu), f)) },
  ];
}
