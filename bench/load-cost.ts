/**
 * Measurement 2: time and peak memory to load, validate and plan N account files, against the
 * physical floor of reading and YAML-parsing the same files. Each run is a fresh child process (peak
 * RSS is per process), floor and real runs interleaved, the median of each kept.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { accountsDirOf, REALISTIC_MIX, writeFleet, type FleetSpec } from "./fleet";
import type { Row } from "./report";
import type { Measured } from "./request-economy";
import { count, median, ms, ratio } from "./stats";

const run = promisify(execFile);
/** Enough to see through one noisy run on a shared machine, few enough to keep the bench short. */
const REPEATS = 3;
/** Issue 9's bar for a fleet of 10,000 files. */
const WALL_TARGET_MS = 2_000;
const RATIO_TARGET = 2;

interface ChildResult {
  elapsedMs: number;
  maxRssKb: number;
  files: number;
  problems?: number;
}

export async function measureLoadCost(workDir: string, n: number): Promise<Measured> {
  const root = fs.mkdtempSync(path.join(workDir, `load-${n}-`));
  const spec: FleetSpec = { n, mix: REALISTIC_MIX };
  writeFleet(root, spec, "initial");
  const dir = accountsDirOf(root);
  try {
    const floor: ChildResult[] = [];
    const real: ChildResult[] = [];
    for (let i = 0; i < REPEATS; i++) {
      floor.push(await child("load-floor-child.js", [dir]));
      real.push(await child("load-plan-child.js", [dir, JSON.stringify(spec)]));
    }
    const notes: string[] = [];
    const broken = real.find((r) => r.files !== n || r.problems !== 0) ?? floor.find((r) => r.files !== n);
    if (broken) notes.push(`N = ${count(n)}: a load run saw ${broken.files} files and ${broken.problems ?? 0} problems (expected ${n} and 0).`);
    const time = { real: median(real.map((r) => r.elapsedMs)), floor: median(floor.map((r) => r.elapsedMs)) };
    const rss = { real: median(real.map((r) => r.maxRssKb)), floor: median(floor.map((r) => r.maxRssKb)) };
    const timeTarget = n >= 10_000 ? `≤ ${RATIO_TARGET.toFixed(2)}, < ${WALL_TARGET_MS / 1000} s` : `≤ ${RATIO_TARGET.toFixed(2)}`;
    const timeMet = time.real / time.floor <= RATIO_TARGET && (n < 10_000 || time.real < WALL_TARGET_MS) && !broken;
    const spread = (rs: ChildResult[]) => `${rs.map((r) => Math.round(r.elapsedMs)).join(" / ")} ms`;
    notes.push(`2. N = ${count(n)}: load+validate+plan runs ${spread(real)}; floor runs ${spread(floor)} (median of ${REPEATS} each, interleaved).`);
    return {
      notes,
      rows: [
        {
          measurement: "2. Load + validate + plan, time",
          scale: `N = ${count(n)} files`,
          measured: ms(time.real),
          baseline: `${ms(time.floor)} (read + yaml.parse)`,
          ratio: ratio(time.real, time.floor),
          target: timeTarget,
          met: timeMet,
        },
        {
          measurement: "2. Load + validate + plan, peak RSS",
          scale: `N = ${count(n)} files`,
          measured: mib(rss.real),
          baseline: `${mib(rss.floor)} (read + yaml.parse)`,
          ratio: ratio(rss.real, rss.floor),
          target: `≤ ${RATIO_TARGET.toFixed(2)}`,
          met: rss.real / rss.floor <= RATIO_TARGET,
        },
      ],
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function child(script: string, args: string[]): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [path.join(__dirname, script), ...args], { maxBuffer: 1024 * 1024, timeout: 120_000 });
  return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as ChildResult;
}

function mib(kb: number): string {
  return `${(kb / 1024).toFixed(0)} MiB`;
}
