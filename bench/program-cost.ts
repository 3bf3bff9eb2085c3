/**
 * Measurement 6: the Pulumi program itself (load, validate, resolve, register N accounts) under the
 * SDK's mocks, as test/harness runs it, against a minimal program registering N trivial dynamic
 * resources the same way. Whole child processes, interleaved, median of 3: what a deployment pays
 * before the engine does anything.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { CONFIG_NAMESPACE } from "../provider/settings";
import { FINGERPRINT_KEY, PROJECT_ROOT } from "./desired-fleet";
import { accountsDirOf, fleetSecrets, REALISTIC_MIX, writeFleet, type FleetSpec } from "./fleet";
import { API_KEY } from "./provider-driver";
import type { Measured } from "./request-economy";
import { count, median, ms, ratio } from "./stats";

const run = promisify(execFile);
const RUNS = 3;
const TARGET = 1.15;

export async function measureProgramCost(workDir: string, n: number): Promise<Measured> {
  const root = fs.mkdtempSync(path.join(workDir, `program-${n}-`));
  const spec: FleetSpec = { n, mix: REALISTIC_MIX };
  writeFleet(root, spec, "initial");
  const secrets = fleetSecrets(spec, "initial");
  const config: Record<string, string> = {
    [`${CONFIG_NAMESPACE}:baseUrl`]: "http://127.0.0.1:9",
    [`${CONFIG_NAMESPACE}:apiKey`]: API_KEY,
    [`${CONFIG_NAMESPACE}:fingerprintKey`]: FINGERPRINT_KEY,
    [`${CONFIG_NAMESPACE}:accountsDir`]: accountsDirOf(root),
  };
  for (const [key, value] of Object.entries(secrets.config)) config[`${CONFIG_NAMESPACE}:${key}`] = value;
  const secretKeys = Object.keys(config).filter((k) => !k.endsWith(":baseUrl") && !k.endsWith(":accountsDir"));
  const env = {
    ...process.env,
    ...secrets.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secretKeys),
    PULUMI_NODEJS_ROOT_DIRECTORY: PROJECT_ROOT,
    BENCH_MINIMAL_ACCOUNTS: String(n),
  };
  const once = async (program: string): Promise<{ ms: number; registered: number }> => {
    const job = path.join(root, "job.json");
    const result = path.join(root, "result.json");
    fs.writeFileSync(job, JSON.stringify({ projectRoot: PROJECT_ROOT, program, project: "connected-accounts", stack: "bench", preview: false, recorded: {} }));
    const t = performance.now();
    await run(process.execPath, [path.join(PROJECT_ROOT, "dist/test/harness/program-runner.js"), job, result], {
      cwd: path.join(PROJECT_ROOT, "provider"),
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const elapsed = performance.now() - t;
    const out = JSON.parse(fs.readFileSync(result, "utf8")) as { ok: boolean; error?: string; registrations: { custom: boolean }[] };
    if (!out.ok) throw new Error(`bench: ${path.basename(program)} failed: ${out.error}`);
    return { ms: elapsed, registered: out.registrations.filter((r) => r.custom).length };
  };
  try {
    const ours: number[] = [];
    const minimal: number[] = [];
    let registered = { ours: 0, minimal: 0 };
    for (let i = 0; i < RUNS; i++) {
      const a = await once(path.join(PROJECT_ROOT, "dist/provider/program.js"));
      const b = await once(path.join(PROJECT_ROOT, "dist/bench/minimal-program.js"));
      ours.push(a.ms);
      minimal.push(b.ms);
      registered = { ours: a.registered, minimal: b.registered };
    }
    const r = median(ours) / median(minimal);
    return {
      rows: [{
        measurement: "6. The program under the SDK's mocks",
        scale: `N = ${count(n)} accounts`,
        measured: ms(median(ours)),
        baseline: `${ms(median(minimal))} (one trivial dynamic resource per account)`,
        ratio: ratio(median(ours), median(minimal)),
        target: `≤ ${TARGET.toFixed(2)}`,
        met: r <= TARGET,
      }],
      notes: [
        `6. N = ${count(n)}: the program registered ${count(registered.ours)} accounts in ${ours.map((x) => ms(x)).join(" / ")}; the minimal program ${count(registered.minimal)} resources in ${minimal.map((x) => ms(x)).join(" / ")} (whole processes, interleaved; medians compared).`,
      ],
    };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
