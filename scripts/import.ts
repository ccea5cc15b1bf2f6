// `npm run import -- --connector <name>`: one import run in this process, with a progress bar on
// stderr and a summary at the end. Resumes the connector's queued or running run if there is one.
import { parseArgs } from "node:util";
import { z } from "zod";
import { db } from "@/lib/db";
import { openRun, reofferRun, stopJobQueue } from "@/lib/jobs";
import { failRun, runImport, type RunProgress } from "@/lib/pipeline";
import { errorMessage } from "@/lib/errors";

const args = z
  .object({
    connector: z
      .string({ error: "Usage: npm run import -- --connector <name>" })
      .trim()
      .min(1, "--connector needs a name"),
  })
  .safeParse(parseArgs({ options: { connector: { type: "string" } } }).values);
if (!args.success) fail(args.error.issues[0]?.message ?? "Usage: npm run import -- --connector <name>");

const name = args.data.connector;
const connector = await db.connector.findUnique({ where: { name } });
if (!connector) {
  const known = await db.connector.findMany({ select: { name: true }, orderBy: { name: "asc" } });
  fail(
    `No connector named "${name}". ${known.length > 0 ? `Known connectors: ${known.map((c) => c.name).join(", ")}` : "There are no connectors yet."}`,
  );
}

const { run, created } = await openRun({ connectorId: connector.id, trigger: "MANUAL", requestedBy: "cli" });
const started = Date.now();
const interrupt = new AbortController();
process.once("SIGINT", () => interrupt.abort());

try {
  const summary = await runImport(run.id, {
    workerId: `cli-${process.pid}`,
    signal: interrupt.signal,
    onProgress: drawProgress,
  });
  process.stderr.write("\n");
  const { counts } = summary;
  console.log(
    [
      `Run ${summary.runId}: ${summary.status}`,
      `  messages collected: ${summary.messagesCollected}`,
      `  items imported:     ${counts.imported}`,
      `  items skipped:      ${counts.skipped}`,
      `  items failed:       ${counts.failed}`,
      `  bytes imported:     ${formatBytes(Number(counts.bytesImported))}`,
      `  time:               ${((Date.now() - started) / 1000).toFixed(1)} s`,
    ].join("\n"),
  );
  await db.$disconnect();
  process.exit(summary.status === "SUCCEEDED" ? 0 : 2);
} catch (error) {
  process.stderr.write("\n");
  if (interrupt.signal.aborted) {
    // Handed over to the workers, so that the connector's next runs are not blocked by it.
    const handedOver = (await reofferRun(run, { force: true }).catch(() => false)) === "offered";
    console.error(
      handedOver
        ? `Interrupted; run ${run.id} stays RUNNING and a worker resumes it where it stopped.`
        : `Interrupted; run ${run.id} stays RUNNING and resumes with the next import of "${name}".`,
    );
    await stopJobQueue();
  } else if (created) {
    await failRun(run.id, error).catch(() => {});
    console.error(`Import failed: ${errorMessage(error)}`);
  } else {
    // The run was queued or running before this command joined it: a worker may still finish it.
    console.error(`Import failed here: ${errorMessage(error)}`);
    console.error(`Run ${run.id} was already open and stays so; a worker or the next import resumes it.`);
  }
  await db.$disconnect();
  process.exit(1);
}

function drawProgress(p: RunProgress): void {
  const width = 30;
  const share = p.phase === "collect" ? 0 : p.itemsTotal === 0 ? 1 : p.itemsDone / p.itemsTotal;
  const bar = "#".repeat(Math.round(share * width)).padEnd(width, ".");
  const line =
    p.phase === "collect"
      ? `collecting: ${p.messagesCollected} messages, ${formatBytes(p.bytesStaged)} staged, ${p.itemsDone} items done`
      : `[${bar}] ${p.itemsDone}/${p.itemsTotal} items  (${p.messagesCollected} messages)`;
  process.stderr.write(`\r${line.padEnd(78)}`);
}

function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}
