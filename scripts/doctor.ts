// `npm run doctor`: checks the configuration against the real services (Microsoft 365, storage, the
// database, each connector's Symphony side) and says what is wrong in plain words. Exits 1 when any
// check fails. On embedded defaults it uses the settings of the running `npm start` (with-app-env.ts).
import { ConfigError } from "@/lib/config";
import { db } from "@/lib/db";
import { doctorSettingsFromConfig, runDoctor, type CheckStatus, type DoctorSettings } from "@/lib/doctor";

// The checks' own words are the output; what foreign servers answered goes to the log, shown with LOG_LEVEL=warn.
process.env.LOG_LEVEL ??= "error";

const MARK: Record<CheckStatus, string> = { ok: "✓", warn: "!", fail: "✗", skipped: "-" };
const colour = process.stdout.isTTY && !process.env.NO_COLOR;
const PAINT: Record<CheckStatus, string> = { ok: "32", warn: "33", fail: "31", skipped: "2" };
const paint = (status: CheckStatus, text: string) => (colour ? `\u001b[${PAINT[status]}m${text}\u001b[0m` : text);

let settings: DoctorSettings;
try {
  settings = doctorSettingsFromConfig();
} catch (error) {
  // lib/config.ts names each bad variable and why.
  console.error(`✗ ${error instanceof ConfigError ? error.message : String(error)}`);
  process.exit(1);
}
const report = await runDoctor(settings);
for (const group of report.groups) {
  console.log(`\n${group.title}`);
  for (const check of group.checks) {
    console.log(`  ${paint(check.status, MARK[check.status])} ${check.title}: ${check.detail}`);
    if (check.fix && check.status !== "ok") console.log(`      Fix: ${check.fix}`);
  }
}
const { ok, warn, fail, skipped } = report.counts;
console.log(
  `\n${ok} ok, ${warn} warning${warn === 1 ? "" : "s"}, ${fail} failed, ${skipped} skipped (${(report.durationMs / 1000).toFixed(1)} s).`,
);
try {
  await db.$disconnect();
} catch {
  // No database configured: nothing to close.
}
process.exit(report.ok ? 0 : 1);
