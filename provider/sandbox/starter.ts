/**
 * Whether the processes that started the sandbox are still there. `npx connected-accounts sandbox &`
 * runs npm, then a shell, then this node process; `kill $!` ends npm only, and the shell and this
 * process would live on holding the port. So the sandbox watches every ancestor it had at start
 * (below pid 1) and stops when one of them exits. A sandbox meant to outlive its shell is started
 * detached (`setsid`, a service manager): its only ancestor is then pid 1.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";

/** Often enough that a port is free again a moment after the starter exits; cheap (a few small reads). */
const CHECK_EVERY_MS = 500;
/** Deeper chains than this are a shell inside a terminal inside a session: the nearest ones decide. */
const MAX_ANCESTORS = 8;

interface Ancestor {
  pid: number;
  /** Linux: the start time in /proc (so a reused pid reads as gone); undefined elsewhere. */
  started?: string;
}

/** Calls `onGone` once, with the pid, when an ancestor exits. Returns a function that stops watching. */
export function watchStarter(onGone: (pid: number) => void): () => void {
  const watched = ancestors(process.pid);
  const parentAtStart = process.ppid;
  const timer = setInterval(() => {
    const gone = process.ppid !== parentAtStart ? { pid: parentAtStart } : watched.find((a) => !stillThere(a));
    if (!gone) return;
    clearInterval(timer);
    onGone(gone.pid);
  }, CHECK_EVERY_MS);
  // Watching never keeps the process alive by itself.
  timer.unref();
  return () => clearInterval(timer);
}

/** This process's ancestors, nearest first, below pid 1. */
export function ancestors(pid: number): Ancestor[] {
  const out: Ancestor[] = [];
  let current = pid;
  while (out.length < MAX_ANCESTORS) {
    const parent = parentOf(current);
    if (parent === undefined || parent <= 1) break;
    out.push({ pid: parent, started: procStat(parent)?.started });
    current = parent;
  }
  return out;
}

function stillThere(a: Ancestor): boolean {
  if (a.started !== undefined) {
    const stat = procStat(a.pid);
    // A zombie has exited; only its parent has not collected it yet.
    return stat !== undefined && stat.started === a.started && stat.state !== "Z";
  }
  try {
    process.kill(a.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parentOf(pid: number): number | undefined {
  const stat = procStat(pid);
  if (stat) return stat.ppid;
  if (process.platform === "linux") return undefined;
  try {
    const out = execFileSync("ps", ["-o", "ppid=", "-p", String(pid)], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 2000 });
    const ppid = Number(out.trim());
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/** Fields of /proc/<pid>/stat (Linux): state, parent, start time. The command name may hold spaces and parentheses. */
function procStat(pid: number): { state: string; ppid: number; started: string } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state (3), ppid (4), …, starttime (22).
  return { state: fields[0], ppid: Number(fields[1]), started: fields[19] };
}
