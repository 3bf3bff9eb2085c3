/**
 * Peak memory and CPU of each process a command starts, by role: the CLI/engine, the language host,
 * the program, the provider. Read from /proc while the command runs (Linux): every process below
 * this one, its high-water RSS (VmHWM) and CPU time as last seen before it exited. Nothing is
 * injected into the processes, so it measures Pulumi's own language host as well as any other.
 */
import * as fs from "node:fs";

export type Role = "engine" | "language host" | "program" | "provider" | "other";
export const ROLES: readonly Role[] = ["engine", "language host", "program", "provider"];

export interface ProcessPeak {
  pid: number;
  role: Role;
  command: string;
  /** Peak resident set size, bytes. */
  peakRss: number;
  /** user + system CPU time, ms. */
  cpuMs: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** Which part of a Pulumi run a command line is. */
export function roleOf(argv: string[]): Role {
  const line = argv.join(" ");
  if (/pulumi-language-nodejs/.test(line)) return "language host";
  if (/@pulumi\/pulumi\/cmd\/dynamic-provider|pulumi-resource-pulumi-nodejs/.test(line)) return "provider";
  if (/@pulumi\/pulumi\/cmd\/run|run-plugin/.test(line)) return "program";
  if (/(^|\/)pulumi$/.test(argv[0] ?? "")) return "engine";
  return "other";
}

export class ProcessSampler {
  private readonly seen = new Map<number, ProcessPeak>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly root = process.pid, private readonly intervalMs = 50) {}

  start(): this {
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  /** Stops sampling; the peaks of every process seen, by pid. */
  stop(): ProcessPeak[] {
    if (this.timer) clearInterval(this.timer);
    this.sample();
    return [...this.seen.values()];
  }

  private sample(): void {
    for (const pid of descendants(this.root)) {
      const status = readProc(pid, "status");
      const stat = readProc(pid, "stat");
      const argv = (readProc(pid, "cmdline") ?? "").split("\0").filter(Boolean);
      if (!status || !stat || argv.length === 0) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cpuMs = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
      const previous = this.seen.get(pid);
      // A shell launcher execs node under the same pid: the latest command line names the role.
      this.seen.set(pid, {
        pid,
        role: roleOf(argv),
        command: argv.join(" ").slice(0, 200),
        peakRss: Math.max(previous?.peakRss ?? 0, hwm ? Number(hwm[1]) * 1024 : 0),
        cpuMs: Math.max(previous?.cpuMs ?? 0, cpuMs),
      });
    }
  }
}

/** Every process below `root`, through /proc/PID/task/TID/children (no scan of all of /proc). */
function descendants(root: number): number[] {
  const out: number[] = [];
  const visit = (pid: number, depth: number) => {
    if (depth > 64) return;
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      for (const child of (readProc(pid, `task/${tid}/children`) ?? "").split(" ").filter(Boolean).map(Number)) {
        out.push(child);
        visit(child, depth + 1);
      }
    }
  };
  visit(root, 0);
  return out;
}

/** The largest peak RSS and the summed CPU time per role. */
export function byRole(peaks: readonly ProcessPeak[]): Map<Role, { peakRss: number; cpuMs: number; processes: number }> {
  const out = new Map<Role, { peakRss: number; cpuMs: number; processes: number }>();
  for (const p of peaks) {
    const r = out.get(p.role) ?? { peakRss: 0, cpuMs: 0, processes: 0 };
    out.set(p.role, { peakRss: Math.max(r.peakRss, p.peakRss), cpuMs: r.cpuMs + p.cpuMs, processes: r.processes + 1 });
  }
  return out;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return undefined;
  }
}
