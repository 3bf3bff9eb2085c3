/**
 * `node dist/bench/profile-cli.js [--n 1000] [--out DIR] [--cpu] [--heap] [--engine] [--otel]`:
 * where a first `pulumi up` and a no-op `pulumi preview` spend their time and memory, per process,
 * for the project and for the bench's minimal program at the same N (PULUMI_SKIP_CHECKPOINTS=true,
 * file:// backend, sandbox on loopback). Always: wall time, and each process's CPU time and peak RSS
 * read from /proc. `--cpu`/`--heap`: Node.js profiles of the program and the provider (through
 * NODE_OPTIONS, see cpu-profile-preload.ts); `--engine`: the CLI's Go profiles (`--profiling`);
 * `--otel`: the engine's OpenTelemetry spans as JSON (`--otel-traces file://`). Profilers slow the
 * processes down: compare their shares, not their times, with the bench's.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startSandbox } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir } from "../test/support/pulumi-cli";
import { oursAccounts, writeMinimalProject, writeOursAccounts } from "./cli-fleet";
import { FINGERPRINT_KEY } from "./desired-fleet";
import { byRole, ProcessSampler, ROLES } from "./process-peaks";
import { API_KEY } from "./provider-driver";
import { bytes, count, ms } from "./stats";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      n: { type: "string", default: "1000" },
      out: { type: "string", default: "/tmp/connected-accounts-profile" },
      cpu: { type: "boolean" },
      heap: { type: "boolean" },
      engine: { type: "boolean" },
      otel: { type: "boolean" },
      steps: { type: "string", default: "adopt,preview" },
    },
  });
  const n = Number(values.n);
  const out = path.resolve(values.out!);
  fs.mkdirSync(out, { recursive: true });
  const bin = await pulumiBinDir();
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: oursAccounts(n) });
  const ours = new CliStack("profile-ours", bin, "bench");
  const minimal = new CliStack("profile-minimal", bin, "bench", (dir) => writeMinimalProject(dir, n));
  try {
    writeOursAccounts(ours, n, "initial");
    for (const s of [ours, minimal]) {
      s.eventLog = false;
      s.timeoutMs = 60 * 60_000;
      s.env.PULUMI_SKIP_CHECKPOINTS = "true";
    }
    await ours.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    await minimal.init({}, {});
    const preload = path.join(__dirname, "cpu-profile-preload.js");
    for (const step of values.steps!.split(",")) {
      for (const [name, stack] of [["ours", ours], ["minimal", minimal]] as const) {
        const dir = path.join(out, `${name}-${step}`);
        fs.mkdirSync(dir, { recursive: true });
        const flags: string[] = [];
        const env: Record<string, string> = {};
        if (values.cpu || values.heap) Object.assign(env, { NODE_OPTIONS: `--require ${preload}`, BENCH_PROFILE_DIR: dir, BENCH_PROFILE_HEAP: values.heap ? "1" : "0" });
        if (values.engine) flags.push("--profiling", path.join(dir, "engine"));
        if (values.otel) flags.push("--otel-traces", `file://${path.join(dir, "otel.json")}`);
        Object.assign(stack.env, env);
        const sampler = new ProcessSampler().start();
        const started = performance.now();
        const run = step === "preview" ? await stack.preview(...flags) : await stack.up(...flags);
        const wall = performance.now() - started;
        const peaks = sampler.stop();
        for (const key of Object.keys(env)) delete stack.env[key];
        fs.writeFileSync(path.join(dir, "output.txt"), run.text);
        fs.writeFileSync(path.join(dir, "processes.json"), JSON.stringify(peaks, null, 2));
        const roles = byRole(peaks);
        const parts = ROLES.map((r) => {
          const x = roles.get(r);
          return x ? `${r} ${bytes(x.peakRss)} / cpu ${ms(x.cpuMs)}${x.processes > 1 ? ` (${x.processes} processes)` : ""}` : `${r} –`;
        });
        console.log(`${name} ${step} N=${count(n)}: ${run.ok ? "ok" : `FAILED ${run.code}`} wall ${ms(wall)}; ${parts.join("; ")}`);
        if (!run.ok) console.log(run.text.slice(-2000));
        stack.printed.splice(0);
      }
    }
  } finally {
    await sandbox.close();
    ours.cleanup();
    minimal.cleanup();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(2);
});
