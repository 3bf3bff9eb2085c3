/**
 * Measurement 8: credentials from SOPS files under the real Pulumi CLI. N accounts whose API keys
 * come from F SOPS files (real sops, a real age key), against the same accounts with `{ env }`
 * references, in the same run: the no-op `pulumi preview` of each (median of 3, alternating), and
 * the number of `sops` processes the preview starts, counted by a `sops` on PATH that logs each run
 * (with its parent's pid: the provider process) before running the real one. Both stacks are
 * adopted with PULUMI_SKIP_CHECKPOINTS=true first, which a preview does not depend on.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startSandbox, type SandboxAccountSeed } from "../provider/sandbox/server";
import { SOPS } from "../provider/pulumi-cli/secret-tools";
import { CliStack, pulumiBinDir } from "../test/support/pulumi-cli";
import { newAgeKey, sopsBinDir, writeSopsFile } from "../test/support/sops";
import { FINGERPRINT_KEY } from "./desired-fleet";
import { API_KEY } from "./provider-driver";
import type { Row } from "./report";
import type { Measured } from "./request-economy";
import { count, median, ms, ratio } from "./stats";

const STACK = "bench";
const TARGET = 1.1;
const REPEATS = 3;
/** Per command: adoption of 1,000 accounts takes a few minutes on 2 cores. */
const CAP_MS = 20 * 60_000;

export async function measureSopsFleet(n: number, files: number): Promise<Measured> {
  const bin = await pulumiBinDir();
  const key = newAgeKey();
  const seeds: SandboxAccountSeed[] = Array.from({ length: n }, (_, i) => ({ id: accountId(i), toolkit: "openai", userId: `team-${i % 50}`, authScheme: "API_KEY" as const }));
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: seeds });
  const envStack = new CliStack("bench-sops-env", bin, STACK);
  const sopsStack = new CliStack("bench-sops-files", bin, STACK);
  const notes: string[] = [];
  try {
    const values = seeds.map((_, i) => `sk_sops_fleet_${pad(i)}_${"x".repeat(24)}`);
    // The same accounts twice: API keys from env variables, or from F SOPS files of n/F keys each.
    const documents: Record<string, string>[] = Array.from({ length: files }, () => ({}));
    for (const [i, seed] of seeds.entries()) {
      const head = [`id: ${seed.id}`, `toolkit: ${seed.toolkit}`, `userId: ${seed.userId}`, `alias: openai-${i}`, `authScheme: ${seed.authScheme}`, "credentials:", `  subdomain: tenant-${i}`];
      const env = `FLEET_KEY_${pad(i)}`;
      envStack.env[env] = values[i];
      envStack.ws.write(`openai/${seed.id}.yaml`, [...head, `  api_key: { env: ${env} }`, ""].join("\n"));
      const file = i % files;
      documents[file][`key_${pad(i)}`] = values[i];
      sopsStack.ws.write(`openai/${seed.id}.yaml`, [...head, `  api_key: { sops: ../../secrets/fleet-${file}.sops.yaml, key: key_${pad(i)} }`, ""].join("\n"));
    }
    for (const [file, doc] of documents.entries()) writeSopsFile(sopsStack.ws.path(`secrets/fleet-${file}.sops.yaml`), doc, [key]);

    const calls = sopsStack.ws.path("sops-calls.log");
    const wrapper = sopsStack.ws.path("sops-counter");
    fs.mkdirSync(wrapper);
    fs.writeFileSync(path.join(wrapper, "sops"), `#!/bin/sh\necho "$PPID $*" >> "${calls}"\nexec "${path.join(sopsBinDir(), "sops")}" "$@"\n`, { mode: 0o755 });
    Object.assign(sopsStack.env, { SOPS_AGE_KEY: key.identity, PATH: [wrapper, bin, process.env.PATH].join(path.delimiter) });

    for (const stack of [envStack, sopsStack]) {
      stack.timeoutMs = CAP_MS;
      stack.eventLog = false;
      // The first up only sets the stage (the DIY backend would rewrite its checkpoint after every step); previews write none.
      stack.env.PULUMI_SKIP_CHECKPOINTS = "true";
      await stack.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
      const adopted = await stack.up();
      if (!adopted.ok) throw new Error(`first up of the ${stack === envStack ? "env" : "SOPS"} fleet failed (exit ${adopted.code}):\n${adopted.text.slice(-2000)}`);
      stack.printed.splice(0);
    }
    const times = { env: [] as number[], sops: [] as number[] };
    let sopsRuns: { processes: number; providers: number; perFile: number } | undefined;
    for (let round = 0; round < REPEATS; round++) {
      for (const [side, stack] of [["env", envStack], ["sops", sopsStack]] as const) {
        fs.rmSync(calls, { force: true });
        const started = performance.now();
        const run = await stack.preview();
        const elapsed = performance.now() - started;
        stack.printed.splice(0);
        if (!run.ok) throw new Error(`no-op preview of the ${side} fleet failed (exit ${run.code}):\n${run.text.slice(-2000)}`);
        if (!/\b\d[\d,]* unchanged/.test(run.text) || /to (update|create)/.test(run.text)) notes.push(`8. SOPS, ${side}: the no-op preview did not read as no-op: ${run.text.slice(-300)}`);
        times[side].push(elapsed);
        if (side === "sops") sopsRuns = countRuns(calls);
      }
    }
    const scale = `N = ${count(n)} accounts, ${files} SOPS files`;
    notes.push(
      `8. SOPS: no-op \`pulumi preview\` medians of ${REPEATS} (SOPS files: ${times.sops.map(ms).join(" / ")}; env: ${times.env.map(ms).join(" / ")}); ` +
        `real sops v${SOPS.version} (${sopsBinDir()}), one age key, ${n / files} keys per file; the counting sops is a shell script in front of the real one.`,
    );
    const rows: Row[] = [
      {
        measurement: "8. SOPS references: no-op preview",
        scale,
        measured: ms(median(times.sops)),
        baseline: `${ms(median(times.env))} (the same accounts from env references)`,
        ratio: ratio(median(times.sops), median(times.env)),
        target: `≤ ${TARGET.toFixed(2)}`,
        met: median(times.sops) / median(times.env) <= TARGET,
      },
      {
        measurement: "8. SOPS references: sops processes per preview",
        scale,
        measured: sopsRuns ? `${sopsRuns.processes} (${sopsRuns.providers} provider process${sopsRuns.providers === 1 ? "" : "es"}, at most ${sopsRuns.perFile} per file in each)` : "not counted",
        baseline: `${files} per provider process (one per file)`,
        ratio: sopsRuns && sopsRuns.providers > 0 ? ratio(sopsRuns.processes, files * sopsRuns.providers) : "–",
        target: "1 per file per provider process",
        met: sopsRuns !== undefined && sopsRuns.perFile === 1 && sopsRuns.processes === files * sopsRuns.providers,
      },
    ];
    return { rows, notes };
  } finally {
    await sandbox.close().catch(() => undefined);
    envStack.cleanup();
    sopsStack.cleanup();
  }
}

/** From the counting sops's log: runs, distinct parent processes, and the most runs of one file by one parent. */
function countRuns(calls: string): { processes: number; providers: number; perFile: number } {
  const lines = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n").filter(Boolean) : [];
  const perParentFile = new Map<string, number>();
  const parents = new Set<string>();
  for (const line of lines) {
    const [parent, ...args] = line.split(" ");
    parents.add(parent);
    const k = `${parent} ${args.at(-1)}`;
    perParentFile.set(k, (perParentFile.get(k) ?? 0) + 1);
  }
  return { processes: lines.length, providers: parents.size, perFile: Math.max(0, ...perParentFile.values()) };
}

function accountId(i: number): string {
  return `ca_sops${pad(i)}`;
}

function pad(i: number): string {
  return String(i).padStart(5, "0");
}
