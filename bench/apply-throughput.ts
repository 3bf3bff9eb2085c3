/**
 * Measurement 4: applying 5×R changed accounts against a sandbox that allows R requests per second
 * and answers 429 + Retry-After past that, with the provider's default settings (concurrency,
 * retries, pacing). Reports the rate achieved against R, the 429s provoked and the accounts that failed.
 * The sandbox sends a chosen subset of the rate-limit headers: the client must reach the limit
 * whichever the API sends.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { RATE_LIMIT_HEADERS, type RateLimitHeader } from "../provider/sandbox/rate-limit";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { startSandbox } from "../provider/sandbox/server";
import { loadDesired, PROJECT_ROOT } from "./desired-fleet";
import { accountsDirOf, fleetSecrets, writeFleet, type FleetSpec } from "./fleet";
import { adopt, API_KEY, applyDeployment, configuredProvider } from "./provider-driver";
import type { Measured } from "./request-economy";
import { count, ms } from "./stats";

/** Every account changes: half renamed, half rotated, so each needs exactly one PATCH. */
const ALL_CHANGED = { alias: 50, rotate: 50, remove: 0 };
/** Accounts applied per unit of R: several windows, so the steady state shows, not just the first burst. */
const WINDOWS = 5;
const WINDOW_MS = 1_000;
/** A guard, not a target: past this the run is reported as stuck. */
const TIME_LIMIT_MS = 120_000;
/** The share of the limit the client must reach, whichever rate-limit headers the API sends. */
const TARGET_RATIO = 0.9;

/** How a header subset reads in the table. */
export function describeHeaders(headers: readonly RateLimitHeader[]): string {
  if (headers.length === RATE_LIMIT_HEADERS.length) return "all rate-limit headers";
  if (headers.length === 0) return "no rate-limit headers";
  return `only ${headers.join(", ")}`;
}

export async function measureApplyThroughput(workDir: string, requestsPerSecond: number, headers: readonly RateLimitHeader[] = RATE_LIMIT_HEADERS): Promise<Measured> {
  const n = WINDOWS * requestsPerSecond;
  const root = fs.mkdtempSync(path.join(workDir, `throughput-${requestsPerSecond}-`));
  const spec: FleetSpec = { n, mix: ALL_CHANGED };
  writeFleet(root, spec, "initial");
  const accountsDir = accountsDirOf(root);
  const seeds = seedFromAccountsDir(accountsDir, PROJECT_ROOT);

  // Adopted against an unlimited sandbox first: only the changed deployment meets the limit.
  const open = await startSandbox({ apiKey: API_KEY, accounts: seeds });
  let recorded;
  try {
    const initialSecrets = fleetSecrets(spec, "initial");
    recorded = await adopt(await configuredProvider(open.url, initialSecrets), loadDesired(accountsDir, initialSecrets));
  } finally {
    await open.close();
  }
  writeFleet(root, spec, "changed", true);
  const changedSecrets = fleetSecrets(spec, "changed");
  const changed = loadDesired(accountsDir, changedSecrets);

  const limited = await startSandbox({ apiKey: API_KEY, accounts: seeds, rateLimit: { requests: requestsPerSecond, windowMs: WINDOW_MS, headers } });
  try {
    const provider = await configuredProvider(limited.url, changedSecrets);
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      applyDeployment(provider, recorded, changed),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`apply at R = ${requestsPerSecond} took over ${TIME_LIMIT_MS / 1000} s`)), TIME_LIMIT_MS))),
    ]).finally(() => clearTimeout(timer));
    const elapsedMs = performance.now() - started;
    const accepted = limited.requests.filter((r) => r.status !== undefined && r.status < 300).length;
    const refused = limited.requests.filter((r) => r.status === 429).length;
    const achieved = outcome.updated / (elapsedMs / 1000);
    // A fixed window admits R at once; n requests need ceil(n/R) windows, the last one opening (n/R - 1) windows in.
    const bestMs = (Math.ceil(n / requestsPerSecond) - 1) * WINDOW_MS;
    const scale = `R = ${requestsPerSecond}/s, ${count(n)} accounts, ${describeHeaders(headers)}`;
    const notes: string[] = [
      `4. R = ${requestsPerSecond}/s, ${describeHeaders(headers)}: ${count(outcome.updated)} accounts applied in ${ms(elapsedMs)} with ${count(limited.requests.length)} requests ` +
        `(${count(accepted)} accepted, ${count(refused)} answered 429); a perfect client needs ${ms(bestMs)} (fixed ${WINDOW_MS / 1000} s windows), i.e. up to ${(n / (bestMs / 1000) / requestsPerSecond).toFixed(2)}×R.`,
    ];
    if (outcome.failed.length > 0) notes.push(`4. R = ${requestsPerSecond}/s, ${describeHeaders(headers)}: first failure: ${outcome.failed[0].id}: ${outcome.failed[0].error.split("\n")[0]}`);
    return {
      notes,
      rows: [
        {
          measurement: "4. Apply throughput under a rate limit",
          scale,
          measured: `${achieved.toFixed(1)}/s (${ms(elapsedMs)})`,
          baseline: `${requestsPerSecond}/s (the limit)`,
          ratio: (achieved / requestsPerSecond).toFixed(2),
          target: `≥ ${TARGET_RATIO.toFixed(2)}`,
          met: achieved / requestsPerSecond >= TARGET_RATIO,
        },
        {
          measurement: "4. 429s received / failed accounts",
          scale,
          measured: `${count(refused)} × 429, ${count(outcome.failed.length)} failed`,
          baseline: `0 failed of ${count(n)}`,
          ratio: "–",
          target: "0 failed",
          met: outcome.failed.length === 0 && outcome.updated === n,
        },
      ],
    };
  } finally {
    await limited.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
