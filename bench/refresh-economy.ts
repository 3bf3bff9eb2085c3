/**
 * Measurement 5: a refresh of N recorded accounts through ConnectedAccountProvider.read, which
 * coalesces concurrent reads into list calls (BatchedReader), against one GET per account (the same
 * provider with connected-accounts:refreshBatchSize = 1). Runs alternate, the median wall time is kept.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { RecordedAccount } from "../provider/plan/account-state";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { loadDesired, PROJECT_ROOT } from "./desired-fleet";
import { accountsDirOf, fleetSecrets, REALISTIC_MIX, writeFleet, type FleetSpec } from "./fleet";
import { adopt, API_KEY, configuredProvider } from "./provider-driver";
import type { Measured } from "./request-economy";
import { count, median, ms, ratio } from "./stats";

const REPEATS = 3;

interface RefreshRun {
  requests: number;
  elapsedMs: number;
  /** Reads that did not come back with the account's status. */
  wrong: number;
}

export async function measureRefreshEconomy(workDir: string, n: number): Promise<Measured> {
  const root = fs.mkdtempSync(path.join(workDir, `refresh-${n}-`));
  const spec: FleetSpec = { n, mix: REALISTIC_MIX };
  writeFleet(root, spec, "initial");
  const accountsDir = accountsDirOf(root);
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: seedFromAccountsDir(accountsDir, PROJECT_ROOT) });
  try {
    const secrets = fleetSecrets(spec, "initial");
    const recorded = await adopt(await configuredProvider(sandbox.url, secrets), loadDesired(accountsDir, secrets));
    const batched: RefreshRun[] = [];
    const single: RefreshRun[] = [];
    for (let i = 0; i < REPEATS; i++) {
      batched.push(await refresh(sandbox, recorded, {}));
      single.push(await refresh(sandbox, recorded, { refreshBatchSize: "1" }));
    }
    const scale = `N = ${count(n)}`;
    const wrong = [...batched, ...single].reduce((sum, r) => sum + r.wrong, 0);
    const time = { batched: median(batched.map((r) => r.elapsedMs)), single: median(single.map((r) => r.elapsedMs)) };
    return {
      notes: wrong > 0 ? [`5. ${wrong} read(s) did not return the account's status.`] : [],
      rows: [
        {
          measurement: "5. Refresh requests (batched reads)",
          scale,
          measured: `${count(batched[0].requests)} req`,
          baseline: `${count(single[0].requests)} req (1 GET per account)`,
          ratio: ratio(batched[0].requests, single[0].requests),
          target: "–",
        },
        {
          measurement: "5. Refresh wall time (batched reads)",
          scale,
          measured: ms(time.batched),
          baseline: `${ms(time.single)} (1 GET per account)`,
          ratio: ratio(time.batched, time.single),
          target: "–",
        },
      ],
    };
  } finally {
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Every read at once, as a refresh issues them, through a fresh provider process's worth of state. */
async function refresh(sandbox: Sandbox, recorded: Map<string, RecordedAccount>, settings: Record<string, string>): Promise<RefreshRun> {
  // A refresh reads no credential: the provider gets no secrets.
  const provider = await configuredProvider(sandbox.url, { env: {}, config: {} }, settings);
  sandbox.clearRequests();
  const started = performance.now();
  const reads = await Promise.all([...recorded].map(([id, props]) => provider.read(id, props)));
  const elapsedMs = performance.now() - started;
  const wrong = reads.filter((r) => r.props?.status !== "ACTIVE").length;
  return { requests: sandbox.requests.length, elapsedMs, wrong };
}
