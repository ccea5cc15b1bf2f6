// What an export file's name says when no metadata says it (SFTP). Names are parsed defensively:
// `<prefix><company>_SD-<yyyy-mm-dd-hh>_ED-<yyyy-mm-dd-hh>_GD-<yyyy-mm-dd>_<genMillis>.zip` (recurring)
// and `<prefix><company>_CD-<yyyy-mm-dd>_GD-<yyyy-mm-dd>_<genMillis>.zip` (ad hoc); anything else
// yields nulls.
import { utcDate } from "./lenient-time";

export type NameHints = {
  jobType: "SCHEDULED" | "ADHOC" | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  generatedAt: Date | null;
};

const DAY_MS = 86_400_000;
const DATE_HOUR = String.raw`(\d{4})-(\d{2})-(\d{2})(?:-(\d{2}))?`;
const RECURRING = new RegExp(String.raw`_SD-${DATE_HOUR}_ED-${DATE_HOUR}_`);
const AD_HOC = new RegExp(String.raw`_CD-${DATE_HOUR}_`);
const GENERATED = new RegExp(String.raw`_GD-${DATE_HOUR}(?:_(\d{10,16}))?(?=[._])`);

export function hintsFromName(name: string): NameHints {
  const recurring = RECURRING.exec(name);
  const adHoc = recurring ? null : AD_HOC.exec(name);
  const generated = GENERATED.exec(name);
  let periodStart: Date | null = null;
  let periodEnd: Date | null = null;
  if (recurring) {
    periodStart = dateOf(recurring.slice(1, 5));
    periodEnd = dateOf(recurring.slice(5, 9));
  } else if (adHoc) {
    periodStart = dateOf(adHoc.slice(1, 5));
    periodEnd = periodStart && new Date(periodStart.getTime() + DAY_MS);
  }
  const genMillis = generated?.[5] ? validDate(new Date(Number(generated[5]))) : null;
  return {
    jobType: recurring ? "SCHEDULED" : adHoc ? "ADHOC" : null,
    periodStart,
    periodEnd,
    generatedAt: genMillis ?? (generated ? dateOf(generated.slice(1, 5)) : null),
  };
}

function validDate(date: Date): Date | null {
  return Number.isNaN(date.getTime()) ? null : date;
}

function dateOf([year, month, day, hour]: (string | undefined)[]): Date | null {
  return utcDate({ year: Number(year), month: Number(month), day: Number(day), hour: Number(hour ?? 0) });
}
