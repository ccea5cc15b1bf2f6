// The Health page's report: the last run of this process, kept in memory; a run asked for while one
// is under way waits for that one instead of starting another.
import { runDoctor } from "./run";
import { doctorSettingsFromConfig } from "./settings";
import type { DoctorReport } from "./types";

let latest: DoctorReport | undefined;
let running: Promise<DoctorReport> | undefined;

export function latestDoctorReport(): DoctorReport | undefined {
  return latest;
}

export function runDoctorAndKeep(): Promise<DoctorReport> {
  running ??= runDoctor(doctorSettingsFromConfig())
    .then((report) => {
      latest = report;
      return report;
    })
    .finally(() => {
      running = undefined;
    });
  return running;
}
