/**
 * Measurement 6: the fleet under the real Pulumi CLI (issue 13). N accounts against the sandbox on
 * loopback, each operation timed from the CLI's start to its exit (the program (run compiled from dist/),
 * engine, provider process, backend writes): the first `pulumi up` (adoption), a no-op
 * `pulumi preview`, a no-op `pulumi up`, and an `up` with 1% of the aliases renamed. Each beside the
 * same operation on a minimal program in the same run: a project of its own registering N
 * `pulumi.dynamic.Resource`s with a provider that does nothing, one small input each, 1% of them
 * changed. Both with the DIY (file://) backend's default checkpoints and with
 * `PULUMI_SKIP_CHECKPOINTS=true`; and the checkpoint file's bytes per resource.
 *
 * A first `up` on the DIY backend rewrites the whole checkpoint after every step (O(N²) bytes): at
 * 10,000 resources that can take hours, so above 1,000 only the skip-checkpoints mode runs, and every
 * command is capped (a capped command is reported as not finished, never as a time).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir, type Op } from "../test/support/pulumi-cli";
import { byRole, ProcessSampler, ROLES, type ProcessPeak, type Role } from "./process-peaks";
import { FINGERPRINT_KEY } from "./desired-fleet";
import { API_KEY } from "./provider-driver";
import type { Row } from "./report";
import type { Measured } from "./request-economy";
import { bytes, count, median, ms, ratio } from "./stats";

export type CheckpointMode = "default" | "skip";

const STACK = "bench";
const OURS_PROJECT = "connected-accounts";
const MINIMAL_PROJECT = "minimal-fleet";
const TARGET = 1.3;
/** Every 100th account (index ≡ 1 mod 100) is changed by the last step: 1%. */
const isChanged = (index: number) => index % 100 === 1;

type Step = "adopt" | "preview" | "noop" | "changed";
const STEPS: { step: Step; label: string }[] = [
  { step: "adopt", label: "first up (adoption)" },
  { step: "preview", label: "no-op preview" },
  { step: "noop", label: "no-op up" },
  { step: "changed", label: "up, 1% changed" },
];

/** One side's operation: its time, or why there is none. */
interface Timed {
  ms?: number;
  failure?: string;
}

export interface CliFleetOptions {
  /** Default: both at N ≤ 1,000, only `skip` above. */
  modes?: CheckpointMode[];
  /** Per command; default 20 min at N ≤ 1,000, 40 min above. */
  capMs?: number;
  /** Runs of each no-op step (the median is reported); default 3 at N ≤ 1,000, 1 above. */
  repeats?: number;
}

/** Each stack lives in a project copy of its own under test/.work/ (CliStack's), removed at the end. */
export async function measureCliFleet(n: number, opts: CliFleetOptions = {}): Promise<Measured> {
  const bin = await pulumiBinDir();
  const modes = opts.modes ?? (n <= 1_000 ? ["default", "skip"] : ["skip"]);
  const capMs = opts.capMs ?? (n <= 1_000 ? 20 * 60_000 : 40 * 60_000);
  const repeats = opts.repeats ?? (n <= 1_000 ? 3 : 1);
  const rows: Row[] = [];
  const notes: string[] = [
    `7. Real CLI: \`pulumi\` ${path.basename(path.dirname(bin))} from ${bin}, file:// backend, passphrase secrets, sandbox on loopback without a rate limit; ` +
      `each time is one command from start to exit; the minimal program registers N \`pulumi.dynamic.Resource\`s with a do-nothing provider and one input each. ` +
      `Each command is capped at ${ms(capMs)}.`,
  ];
  if (!modes.includes("default")) {
    const why = n > 1_000 ? ": with the DIY default the first up rewrites the whole checkpoint after every step (O(N²) bytes), hours at this scale" : "";
    notes.push(`7. Real CLI, N = ${count(n)}: only PULUMI_SKIP_CHECKPOINTS=true was measured${why}.`);
  }
  for (const mode of modes) {
    const m = await measureMode(bin, n, mode, capMs, repeats);
    rows.push(...m.rows);
    notes.push(...m.notes);
  }
  return { rows, notes };
}

async function measureMode(bin: string, n: number, mode: CheckpointMode, capMs: number, repeats: number): Promise<Measured> {
  const scale = `N = ${count(n)}, ${mode === "skip" ? "PULUMI_SKIP_CHECKPOINTS" : "DIY default checkpoints"}`;
  const extraEnv: Record<string, string> = mode === "skip" ? { PULUMI_SKIP_CHECKPOINTS: "true" } : {};
  const seeds = oursAccounts(n);
  const sandbox = await startSandbox({ apiKey: API_KEY, accounts: seeds });
  const ours = new CliStack("bench-cli-ours", bin, STACK);
  const minimal = new CliStack("bench-cli-minimal", bin, STACK, (dir) => writeMinimalProject(dir, n));
  const notes: string[] = [];
  try {
    writeOursAccounts(ours, n, "initial");
    Object.assign(ours.env, extraEnv);
    Object.assign(minimal.env, extraEnv);
    ours.timeoutMs = capMs;
    minimal.timeoutMs = capMs;
    // As a user runs them: the event log (the tests' record of each step) costs the engine and the program time.
    ours.eventLog = false;
    minimal.eventLog = false;
    await ours.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    await minimal.init({}, {});

    const sides = [
      { name: "ours", stack: ours, results: new Map<Step, Timed>(), times: new Map<Step, number[]>(), peaks: new Map<Step, RolePeaks>(), broken: false },
      { name: "minimal", stack: minimal, results: new Map<Step, Timed>(), times: new Map<Step, number[]>(), peaks: new Map<Step, RolePeaks>(), broken: false },
    ];
    const changedCount = Array.from({ length: n }, (_, i) => i).filter(isChanged).length;
    // The CLI's summary counts the stack itself too.
    const expected: Record<Step, Partial<Record<Op, number>>> = {
      adopt: { create: n + 1 },
      preview: { same: n + 1 },
      noop: { same: n + 1 },
      changed: { update: changedCount, same: n + 1 - changedCount },
    };
    const requests: string[] = [];
    for (const { step, label } of STEPS) {
      if (step === "changed") {
        writeOursAccounts(ours, n, "changed");
        writeMinimalValues(minimal.ws.dir, n, "changed");
      }
      sandbox.clearRequests();
      // The no-op steps change nothing, so they repeat (ours and minimal alternating); the others cannot.
      const rounds = step === "preview" || step === "noop" ? repeats : 1;
      for (let round = 0; round < rounds; round++) {
        for (const side of sides) {
          if (side.broken) {
            side.results.set(step, { failure: "not run (an earlier step failed)" });
            continue;
          }
          const sampler = new ProcessSampler().start();
          const started = performance.now();
          const run = step === "preview" ? await side.stack.preview() : await side.stack.up();
          const elapsed = performance.now() - started;
          keepPeaks(side.peaks, step, sampler.stop());
          side.stack.printed.splice(0);
          if (!run.ok) {
            side.broken = true;
            const why = run.code === -1 ? `not finished within ${ms(capMs)}` : `failed (exit ${run.code})`;
            side.results.set(step, { failure: why });
            notes.push(`7. Real CLI, ${scale}, ${side.name}, ${label}: ${why}: ${lastLines(run.text)}`);
            continue;
          }
          const times = [...(side.times.get(step) ?? []), elapsed];
          side.times.set(step, times);
          side.results.set(step, { ms: median(times) });
          if (side.stack === ours && round === 0) requests.push(`${label} ${count(sandbox.requests.length)}`);
          const got = summaryCounts(run.text);
          if (!sameCounts(got, expected[step])) {
            notes.push(`7. Real CLI, ${scale}, ${side.name}, ${label}: the CLI's summary counted ${describeCounts(got)}, expected ${describeCounts(expected[step])}.`);
          }
        }
      }
    }
    if (repeats > 1) {
      const each = (side: (typeof sides)[number], step: Step) => (side.times.get(step) ?? []).map(ms).join(" / ");
      notes.push(
        `7. Real CLI, ${scale}: no-op preview and no-op up are medians of ${repeats} runs each (ours: ${each(sides[0], "preview")}; ${each(sides[0], "noop")}; ` +
          `minimal: ${each(sides[1], "preview")}; ${each(sides[1], "noop")}); the first up and the changed up are one run each.`,
      );
    }
    notes.push(`7. Real CLI, ${scale}: requests the sandbox received, per step: ${requests.join(", ")} (${count(changedCount)} accounts renamed in the last).`);

    const rows: Row[] = STEPS.map(({ step, label }) => {
      const a = sides[0].results.get(step)!;
      const b = sides[1].results.get(step)!;
      const both = a.ms !== undefined && b.ms !== undefined;
      return {
        measurement: `7. Real CLI: ${label}`,
        scale,
        measured: a.ms !== undefined ? ms(a.ms) : a.failure!,
        baseline: `${b.ms !== undefined ? ms(b.ms) : b.failure!} (minimal program)`,
        ratio: both ? ratio(a.ms!, b.ms!) : "–",
        target: `≤ ${TARGET.toFixed(2)}`,
        met: both ? a.ms! / b.ms! <= TARGET : false,
      };
    });
    rows.push(...peakRows(scale, sides[0].peaks.get("preview"), sides[1].peaks.get("preview")));
    notes.push(`7. Real CLI, ${scale}: peak RSS and CPU time per process (largest of the runs; CPU summed over a role's processes), ours / minimal: ${STEPS.map(({ step, label }) => `${label}: ${describePeaks(sides[0].peaks.get(step), sides[1].peaks.get(step))}`).join("; ")}.`);
    const oursBytes = checkpointBytes(ours, OURS_PROJECT);
    const minimalBytes = checkpointBytes(minimal, MINIMAL_PROJECT);
    rows.push({
      measurement: "7. Real CLI: checkpoint bytes per account",
      scale,
      measured: oursBytes === undefined ? "no checkpoint" : `${bytes(Math.round(oursBytes / n))} (file ${bytes(oursBytes)})`,
      baseline: `${minimalBytes === undefined ? "no checkpoint" : `${bytes(Math.round(minimalBytes / n))} (file ${bytes(minimalBytes)})`} (minimal program)`,
      ratio: oursBytes !== undefined && minimalBytes !== undefined ? ratio(oursBytes, minimalBytes) : "–",
      target: "–",
    });
    return { rows, notes };
  } finally {
    await closeQuietly(sandbox);
    ours.cleanup();
    minimal.cleanup();
  }
}

/** Nine API-key accounts (an env-referenced key, a literal field, an alias) to one alias-only OAuth account. */
export function oursAccounts(n: number): SandboxAccountSeed[] {
  return Array.from({ length: n }, (_, i) => ({
    id: accountId(i),
    toolkit: i % 10 === 0 ? "slack" : "openai",
    userId: `team-${i % 50}`,
    authScheme: i % 10 === 0 ? ("OAUTH2" as const) : ("API_KEY" as const),
  }));
}

export function writeOursAccounts(stack: CliStack, n: number, deployment: "initial" | "changed"): void {
  for (const [i, a] of oursAccounts(n).entries()) {
    const changed = deployment === "changed" && isChanged(i);
    if (deployment === "changed" && !changed) continue;
    const lines = [`id: ${a.id}`, `toolkit: ${a.toolkit}`, `userId: ${a.userId}`, `alias: ${a.toolkit}-${i}${changed ? "-renamed" : ""}`, `authScheme: ${a.authScheme}`];
    if (a.authScheme === "API_KEY") {
      const env = `CLI_FLEET_KEY_${pad(i)}`;
      stack.env[env] = `sk_cli_fleet_${pad(i)}_${"x".repeat(24)}`;
      lines.push("credentials:", `  api_key: { env: ${env} }`, `  subdomain: tenant-${i}`);
    }
    stack.ws.write(`${a.toolkit}/${a.id}.yaml`, lines.join("\n") + "\n");
  }
}

/**
 * The minimal program: its own Pulumi project, N do-nothing dynamic resources. Plain JavaScript run
 * as it is (`typescript: false`), as the project's own program runs compiled: the floor is the least
 * a program can make the engine do, with nothing compiled at run time on either side.
 */
export function writeMinimalProject(dir: string, n: number): void {
  fs.writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    [`name: ${MINIMAL_PROJECT}`, "runtime:", "  name: nodejs", "  options:", "    typescript: false", "main: program.js", ""].join("\n"),
  );
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: MINIMAL_PROJECT, private: true, dependencies: { "@pulumi/pulumi": "*" } }, null, 2));
  fs.writeFileSync(path.join(dir, "program.js"), MINIMAL_PROGRAM);
  writeMinimalValues(dir, n, "initial");
}

export function writeMinimalValues(dir: string, n: number, deployment: "initial" | "changed"): void {
  const values = Array.from({ length: n }, (_, i) => `value-${i}${deployment === "changed" && isChanged(i) ? "-changed" : ""}`);
  fs.writeFileSync(path.join(dir, "values.json"), JSON.stringify(values));
}

const MINIMAL_PROGRAM = `const pulumi = require("@pulumi/pulumi");
const fs = require("node:fs");
const path = require("node:path");

const provider = {
  async create(inputs) {
    return { id: inputs.name, outs: inputs };
  },
  async diff(_id, olds, news) {
    return { changes: olds.value !== news.value };
  },
  async update(_id, _olds, news) {
    return { outs: news };
  },
};

class Minimal extends pulumi.dynamic.Resource {
  constructor(name, value) {
    super(provider, name, { name, value }, {});
  }
}

const values = JSON.parse(fs.readFileSync(path.join(__dirname, "values.json"), "utf8"));
values.forEach((value, i) => new Minimal("r" + String(i).padStart(5, "0"), value));
`;

type RolePeaks = Map<Role, { peakRss: number; cpuMs: number; processes: number }>;

/** The largest peak RSS and CPU time per role over a step's runs. */
function keepPeaks(into: Map<Step, RolePeaks>, step: Step, peaks: ProcessPeak[]): void {
  const merged: RolePeaks = into.get(step) ?? new Map();
  for (const [role, p] of byRole(peaks)) {
    const was = merged.get(role);
    merged.set(role, was ? { peakRss: Math.max(was.peakRss, p.peakRss), cpuMs: Math.max(was.cpuMs, p.cpuMs), processes: Math.max(was.processes, p.processes) } : p);
  }
  into.set(step, merged);
}

/** One row per process role of the no-op preview: its peak RSS beside the minimal program's. */
function peakRows(scale: string, ours: RolePeaks | undefined, minimal: RolePeaks | undefined): Row[] {
  return ROLES.map((role) => {
    const a = ours?.get(role);
    const b = minimal?.get(role);
    return {
      measurement: `7. Real CLI: no-op preview, peak RSS of the ${role}`,
      scale,
      measured: a ? bytes(a.peakRss) : "not seen",
      baseline: `${b ? bytes(b.peakRss) : "not seen"} (minimal program)`,
      ratio: a && b ? ratio(a.peakRss, b.peakRss) : "–",
      target: `≤ ${TARGET.toFixed(2)}`,
      met: a && b ? a.peakRss / b.peakRss <= TARGET : false,
    };
  });
}

function describePeaks(ours: RolePeaks | undefined, minimal: RolePeaks | undefined): string {
  const one = (p: RolePeaks | undefined, role: Role) => {
    const x = p?.get(role);
    return x ? `${bytes(x.peakRss)}, ${ms(x.cpuMs)}` : "–";
  };
  return ROLES.map((role) => `${role} ${one(ours, role)} / ${one(minimal, role)}`).join(", ");
}

function accountId(i: number): string {
  return `ca_cli${pad(i)}`;
}

function pad(i: number): string {
  return String(i).padStart(5, "0");
}

/** The backend's checkpoint of the stack; undefined when there is none. */
function checkpointBytes(stack: CliStack, project: string): number | undefined {
  const file = path.join(stack.stateDir, ".pulumi", "stacks", project, `${stack.stack}.json`);
  return fs.existsSync(file) ? fs.statSync(file).size : undefined;
}

/** The steps the CLI's closing summary counts ("Resources: + 1,001 created / 10 to update / 991 unchanged"). */
function summaryCounts(text: string): Partial<Record<Op, number>> {
  const counts: Partial<Record<Op, number>> = {};
  const summary = text.slice(text.lastIndexOf("Resources:"));
  const words: Record<string, Op> = { create: "create", created: "create", update: "update", updated: "update", unchanged: "same", delete: "delete", deleted: "delete", replace: "replace", replaced: "replace" };
  for (const m of summary.matchAll(/^\s*[-+~]*\s*([\d,]+) (?:to )?(\w+)/gm)) {
    const op = words[m[2]];
    if (op) counts[op] = (counts[op] ?? 0) + Number(m[1].replace(/,/g, ""));
  }
  return counts;
}

function sameCounts(a: Partial<Record<Op, number>>, b: Partial<Record<Op, number>>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)] as Op[]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

function describeCounts(c: Partial<Record<Op, number>>): string {
  const parts = Object.entries(c).map(([op, k]) => `${count(k)} ${op}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

/** The CLI's error lines (else its last lines), short enough for a note. */
function lastLines(text: string): string {
  const lines = text.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /error/i.test(l) && !/^\d+ errored$/.test(l));
  return (errors.length > 0 ? errors.slice(0, 3) : lines.slice(-3)).join(" / ").slice(0, 400);
}

async function closeQuietly(sandbox: Sandbox): Promise<void> {
  try {
    await sandbox.close();
  } catch {
    // Closing is best effort at the end of a measurement.
  }
}
