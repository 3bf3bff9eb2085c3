/**
 * Measurement 8: ways to adopt a large fleet in its first `pulumi up` on the DIY (file://) backend,
 * the project's own program against the sandbox: one `up` with the backend's default checkpoints
 * (the baseline), with PULUMI_SKIP_CHECKPOINTS=true, the same with `--parallel 32`, and four waves
 * of `--target` URNs with default checkpoints. Each on a fresh stack; each time is whole commands.
 */
import { startSandbox } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir } from "../test/support/pulumi-cli";
import { oursAccounts, writeOursAccounts } from "./cli-fleet";
import { FINGERPRINT_KEY } from "./desired-fleet";
import { API_KEY } from "./provider-driver";
import type { Row } from "./report";
import type { Measured } from "./request-economy";
import { count, ms, ratio } from "./stats";

const STACK = "bench";
const WAVES = 4;
const PARALLEL = 32;
const ACCOUNT_URN = `urn:pulumi:${STACK}::connected-accounts::pulumi-nodejs:dynamic/composio:ConnectedAccount::`;

interface Way {
  label: string;
  env: Record<string, string>;
  /** The `up` commands' flags, one entry per command. */
  commands: (n: number) => string[][];
}

const WAYS: Way[] = [
  { label: "one up, default checkpoints", env: {}, commands: () => [[]] },
  { label: "one up, PULUMI_SKIP_CHECKPOINTS=true", env: { PULUMI_SKIP_CHECKPOINTS: "true" }, commands: () => [[]] },
  { label: `one up, PULUMI_SKIP_CHECKPOINTS=true --parallel ${PARALLEL}`, env: { PULUMI_SKIP_CHECKPOINTS: "true" }, commands: () => [["--parallel", String(PARALLEL)]] },
  { label: `${WAVES} waves of --target, default checkpoints`, env: {}, commands: waves },
];

/** `--target` flags for each wave: consecutive quarters of the fleet, by account id. */
function waves(n: number): string[][] {
  const ids = oursAccounts(n).map((a) => a.id);
  const size = Math.ceil(n / WAVES);
  return Array.from({ length: WAVES }, (_, w) => ids.slice(w * size, (w + 1) * size).flatMap((id) => ["--target", `${ACCOUNT_URN}${id}`]));
}

export async function measureAdoptionWays(n: number, capMs = 30 * 60_000): Promise<Measured> {
  const bin = await pulumiBinDir();
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: oursAccounts(n) });
  const results: { way: Way; ms?: number; failure?: string; requests: number }[] = [];
  try {
    for (const way of WAYS) {
      const stack = new CliStack("bench-adopt", bin, STACK);
      try {
        stack.eventLog = false;
        stack.timeoutMs = capMs;
        writeOursAccounts(stack, n, "initial");
        Object.assign(stack.env, way.env);
        await stack.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
        sandbox.clearRequests();
        const started = performance.now();
        let failure: string | undefined;
        for (const flags of way.commands(n)) {
          const run = await stack.up(...flags);
          stack.printed.splice(0);
          if (!run.ok) {
            failure = run.code === -1 ? `not finished within ${ms(capMs)}` : `failed (exit ${run.code})`;
            break;
          }
        }
        const elapsed = performance.now() - started;
        results.push({ way, ms: failure ? undefined : elapsed, failure, requests: sandbox.requests.length });
      } finally {
        stack.cleanup();
      }
    }
  } finally {
    await sandbox.close();
  }
  const baseline = results[0].ms;
  const scale = `N = ${count(n)}, file:// backend`;
  const rows: Row[] = results.map((r) => ({
    measurement: `8. First adoption: ${r.way.label}`,
    scale,
    measured: r.ms !== undefined ? ms(r.ms) : r.failure!,
    baseline: r === results[0] ? "–" : baseline !== undefined ? `${ms(baseline)} (one up, default checkpoints)` : "–",
    ratio: r === results[0] || r.ms === undefined || baseline === undefined ? "–" : ratio(r.ms, baseline),
    target: "–",
  }));
  return {
    rows,
    notes: [
      `8. N = ${count(n)}: requests the sandbox received per way: ${results.map((r) => `${r.way.label} ${count(r.requests)}`).join("; ")}. ` +
        `Each way on a fresh stack of the project's own program, times from the first command's start to the last one's exit.`,
    ],
  };
}
