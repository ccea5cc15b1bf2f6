// CPU seconds spent by the benchmark's processes (this one, the sandbox child, Azurite, PostgreSQL),
// read from /proc: on a small machine they share the cores, so this shows where the time goes.
import { readdirSync, readFileSync } from "node:fs";

export type CpuGroups = Record<string, number>;

const TICKS_PER_SECOND = 100;

type Proc = { pid: number; ppid: number; comm: string; cpu: number };

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const comm = stat.slice(stat.indexOf("(") + 1, close);
    const fields = stat.slice(close + 2).split(" ");
    // Fields after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14). The children's
    // times keep the CPU of processes that ended (PostgreSQL's backends) with their group.
    const ticks = [11, 12, 13, 14].reduce((sum, field) => sum + Number(fields[field]), 0);
    return { pid, ppid: Number(fields[1]), comm, cpu: ticks / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/** CPU seconds so far of this process's descendants, grouped; `names` labels given pids and their descendants. */
export function cpuByGroup(names: Map<number, string>): CpuGroups {
  if (process.platform !== "linux") return {};
  const procs = new Map<number, Proc>();
  for (const entry of readdirSync("/proc")) {
    const proc = /^\d+$/.test(entry) ? readProc(Number(entry)) : undefined;
    if (proc) procs.set(proc.pid, proc);
  }
  const groups: CpuGroups = {};
  for (const proc of procs.values()) {
    let label: string | undefined;
    let ours = false;
    for (let at: Proc | undefined = proc; at; at = at.pid === at.ppid ? undefined : procs.get(at.ppid)) {
      label ??= labelOf(at, names);
      if (at.pid === process.pid) ours = true;
    }
    if (ours && label) groups[label] = (groups[label] ?? 0) + proc.cpu;
  }
  return groups;
}

function labelOf(proc: Proc, names: Map<number, string>): string | undefined {
  if (names.has(proc.pid)) return names.get(proc.pid);
  if (proc.pid === process.pid) return "pipeline";
  if (proc.comm === "postgres") return "postgres";
  try {
    if (readFileSync(`/proc/${proc.pid}/cmdline`, "utf8").includes("azurite")) return "azurite";
  } catch {}
  return undefined;
}

export function cpuDelta(before: CpuGroups, after: CpuGroups): CpuGroups {
  return Object.fromEntries(Object.entries(after).map(([group, cpu]) => [group, cpu - (before[group] ?? 0)]));
}
