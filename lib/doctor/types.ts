/** ok: works; warn: works now but something is off; fail: will not work; skipped: could not be checked (says why). */
export type CheckStatus = "ok" | "warn" | "fail" | "skipped";

/** One check's outcome, in words an administrator can act on; never a secret. */
export type CheckResult = {
  id: string;
  title: string;
  status: CheckStatus;
  detail: string;
  /** What to do about a warning or a failure. */
  fix?: string;
};

export type CheckGroup = { id: string; title: string; checks: CheckResult[] };

export type DoctorReport = {
  /** When the checks started (ISO 8601). */
  ranAt: string;
  durationMs: number;
  groups: CheckGroup[];
  counts: Record<CheckStatus, number>;
  /** No check failed. */
  ok: boolean;
};

/** A check's outcome before it is named. */
export type Outcome = Omit<CheckResult, "id" | "title">;
