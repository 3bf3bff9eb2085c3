/**
 * `npm run bench [-- --quick] [-- --only sops] [-- --write]`: every measurement in one run (or only the SOPS one), printed as one Markdown
 * table with the machine it ran on; `--write` also writes it to bench/RESULTS.md (a tracked file, so
 * never by default). Fixtures live in a scratch folder under the git-ignored test/.work/ (so `file:`
 * references resolve inside the repository) and are removed at the end.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { RateLimitHeader } from "../provider/sandbox/rate-limit";
import { measureAdoptionWays } from "./adoption-ways";
import { describeHeaders, measureApplyThroughput } from "./apply-throughput";
import { measureCliFleet } from "./cli-fleet";
import { PROJECT_ROOT } from "./desired-fleet";
import { measureEngineCost } from "./engine-cost";
import { measureLiveChecks } from "./live-check";
import { measureLoadCost } from "./load-cost";
import { measurePreviewOutput } from "./preview-output";
import { measureProgramCost } from "./program-cost";
import { measureRefreshEconomy } from "./refresh-economy";
import { machine, renderResults, renderTable, type Row } from "./report";
import { measureRequestEconomy } from "./request-economy";
import { measureSopsFleet } from "./sops-fleet";

/** The rate limit and the headers the API sends with it: all three, only Remaining, none. */
const THROUGHPUT_CASES: [number, readonly RateLimitHeader[]][] = [
  [50, ["X-RateLimit", "X-RateLimit-Remaining", "X-RateLimit-Window-Size"]],
  [50, ["X-RateLimit-Remaining"]],
  [50, []],
  [200, ["X-RateLimit", "X-RateLimit-Remaining", "X-RateLimit-Window-Size"]],
];

async function main(): Promise<number> {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { quick: { type: "boolean" }, write: { type: "boolean" }, "fleet-10k": { type: "boolean" }, only: { type: "string" } } });
  const quick = values.quick ?? false;
  // `--only sops`: measurement 8 alone (the others take tens of minutes).
  if (values.only !== undefined && values.only !== "sops") throw new Error(`--only takes sops, not ${values.only}`);
  const others = values.only === undefined;
  const base = path.join(PROJECT_ROOT, "test/.work");
  fs.mkdirSync(base, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(base, "bench-"));
  // Interrupted runs must not leave thousands of generated files behind either.
  process.once("SIGINT", () => {
    fs.rmSync(workDir, { recursive: true, force: true });
    process.exit(130);
  });
  const rows: Row[] = [];
  const notes: string[] = [];
  const take = (m: { rows: Row[]; notes: string[] }) => {
    rows.push(...m.rows);
    notes.push(...m.notes);
    for (const r of m.rows) console.error(`  ${r.measurement} (${r.scale}): ${r.measured} vs ${r.baseline}`);
  };
  try {
    for (const n of !others ? [] : quick ? [100, 1_000] : [100, 1_000, 10_000]) {
      console.error(`request economy, N = ${n}`);
      take(await measureRequestEconomy(workDir, n));
    }
    for (const n of !others ? [] : quick ? [1_000] : [1_000, 10_000]) {
      console.error(`load, validate and plan, N = ${n}`);
      take(await measureLoadCost(workDir, n));
    }
    if (others) {
      console.error("check + diff through the dynamic-provider server, N = 1000");
      take(await measureEngineCost(workDir, 1_000));
      console.error("the program under the SDK's mocks against a minimal program, N = 1000");
      take(await measureProgramCost(workDir, 1_000));
    }
    for (const [r, headers] of others ? THROUGHPUT_CASES : []) {
      console.error(`apply throughput, R = ${r}/s, ${describeHeaders(headers)}`);
      take(await measureApplyThroughput(workDir, r, headers));
    }
    if (others) {
      console.error("refresh economy, N = 1000");
      take(await measureRefreshEconomy(workDir, 1_000));
      console.error("live checks of a first preview, N = 1000");
      take(await measureLiveChecks(workDir, 1_000));
    }
    // The real CLI's fleet: minutes at 1,000; 10,000 (skip-checkpoints only) behind --fleet-10k.
    for (const n of quick || !others ? [] : values["fleet-10k"] ? [1_000, 10_000] : [1_000]) {
      console.error(`real CLI fleet, N = ${n}`);
      take(await measureCliFleet(n));
    }
    if (!quick) {
      console.error("SOPS references under the real CLI, N = 1000, 10 files");
      take(await measureSopsFleet(1_000, 10));
      console.error("real CLI preview output, N = 2000, 20 rotated");
      take(await measurePreviewOutput(2_000, 20));
      console.error("first adoption of a large fleet, four ways, N = 1000");
      take(await measureAdoptionWays(1_000));
    }
  } finally {
    fs.rmSync(workDir, { recursive: true, force: true });
  }
  const table = renderTable(rows);
  console.log(table);
  const flags = [quick ? "--quick" : "", values["fleet-10k"] ? "--fleet-10k" : "", values.only ? `--only ${values.only}` : ""].filter(Boolean);
  const command = `npm run bench${flags.length > 0 ? ` -- ${flags.join(" ")}` : ""}`;
  const missed = `${rows.filter((r) => r.met === false).length} target(s) missed`;
  if (values.write) {
    const results = path.join(PROJECT_ROOT, "bench/RESULTS.md");
    const appendix = path.join(PROJECT_ROOT, "bench/where-the-time-goes.md");
    fs.writeFileSync(results, renderResults(machine(), rows, notes, command, fs.existsSync(appendix) ? fs.readFileSync(appendix, "utf8") : ""));
    console.error(`written to ${path.relative(process.cwd(), results)}; ${missed}`);
  } else {
    console.log(`\n${notes.map((n) => `- ${n}`).join("\n")}`);
    console.error(`${missed}; not written (npm run bench -- --write updates bench/RESULTS.md)`);
  }
  // A missed target is a result, not a failure of the bench: the exit code says only whether it ran.
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
