/**
 * Measurement 9: what the live checks of adoptions add to a first preview. N accounts, none
 * recorded, each checked the way the engine checks them (one at a time, each Check waiting for the
 * one before, as a preview): the requests Composio receives and the time, beside the same Checks of
 * the same accounts once recorded (no live check), and beside one GET per account (batch size 1).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { DesiredAccount, RegisteredAccount } from "../provider/plan/account-state";
import { PREVIEW_INPUT } from "../provider/pulumi/preview-input";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { loadDesired, PROJECT_ROOT } from "./desired-fleet";
import { accountsDirOf, fleetSecrets, REALISTIC_MIX, writeFleet, type FleetSecrets, type FleetSpec } from "./fleet";
import { API_KEY, configuredProvider } from "./provider-driver";
import type { Measured } from "./request-economy";
import { count, median, ms, ratio } from "./stats";

const REPEATS = 3;

interface CheckRun {
  requests: number;
  elapsedMs: number;
  failures: number;
}

export async function measureLiveChecks(workDir: string, n: number): Promise<Measured> {
  const root = fs.mkdtempSync(path.join(workDir, `live-check-${n}-`));
  const spec: FleetSpec = { n, mix: REALISTIC_MIX };
  writeFleet(root, spec, "initial");
  const accountsDir = accountsDirOf(root);
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: seedFromAccountsDir(accountsDir, PROJECT_ROOT) });
  try {
    const secrets = fleetSecrets(spec, "initial");
    const desired = loadDesired(accountsDir, secrets);
    const settings = { accountsDir };
    const first: CheckRun[] = [];
    const recorded: CheckRun[] = [];
    const single: CheckRun[] = [];
    let olds: Map<string, DesiredAccount> | undefined;
    for (let i = 0; i < REPEATS; i++) {
      const adoption = await checkAll(sandbox, secrets, desired, settings, undefined);
      first.push(adoption.run);
      olds ??= adoption.checked;
      recorded.push((await checkAll(sandbox, secrets, desired, settings, olds)).run);
      single.push((await checkAll(sandbox, secrets, desired, { ...settings, refreshBatchSize: "1" }, undefined)).run);
    }
    const scale = `N = ${count(n)}, serial Checks (preview)`;
    const time = (runs: CheckRun[]) => median(runs.map((r) => r.elapsedMs));
    const failures = [...first, ...recorded, ...single].reduce((sum, r) => sum + r.failures, 0);
    return {
      notes: failures > 0 ? [`9. ${failures} Check(s) failed; every account of the fleet exists as its file says.`] : [],
      rows: [
        {
          measurement: "9. Live checks: requests of a first preview",
          scale,
          measured: `${count(first[0].requests)} req`,
          baseline: `${count(single[0].requests)} req (1 GET per account)`,
          ratio: ratio(first[0].requests, single[0].requests),
          target: "–",
        },
        {
          measurement: "9. Live checks: Check time of a first preview",
          scale,
          measured: `${ms(time(first))} (+${ms(time(first) - time(recorded))})`,
          baseline: `${ms(time(recorded))} (recorded, no live check); ${ms(time(single))} (1 GET per account)`,
          ratio: ratio(time(first), time(recorded)),
          target: "–",
        },
      ],
    };
  } finally {
    await sandbox.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** Every account's Check in a fresh provider (a preview's process), one after the other. */
async function checkAll(sandbox: Sandbox, secrets: FleetSecrets, desired: RegisteredAccount[], settings: Record<string, string>, olds: Map<string, DesiredAccount> | undefined) {
  const provider = await configuredProvider(sandbox.url, secrets, settings);
  sandbox.clearRequests();
  const checked = new Map<string, DesiredAccount>();
  let failures = 0;
  const started = performance.now();
  for (const d of desired) {
    const result = await provider.check(olds?.get(d.nanoid) ?? ({} as DesiredAccount), { ...d, [PREVIEW_INPUT]: true } as RegisteredAccount);
    if ((result.failures ?? []).length > 0) failures++;
    checked.set(d.nanoid, result.inputs!);
  }
  const elapsedMs = performance.now() - started;
  return { checked, run: { requests: sandbox.requests.length, elapsedMs, failures } };
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 1_000);
  const base = path.join(PROJECT_ROOT, "test/.work");
  fs.mkdirSync(base, { recursive: true });
  const workDir = fs.mkdtempSync(path.join(base, "bench-live-"));
  measureLiveChecks(workDir, n).then(
    (m) => {
      for (const r of m.rows) console.log(`${r.measurement} (${r.scale}): ${r.measured} vs ${r.baseline}, ratio ${r.ratio}`);
      for (const note of m.notes) console.log(note);
      fs.rmSync(workDir, { recursive: true, force: true });
    },
    (err: unknown) => {
      console.error(err);
      fs.rmSync(workDir, { recursive: true, force: true });
      process.exit(1);
    },
  );
}
