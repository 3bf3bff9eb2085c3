import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { ProgramResult, Registration } from "./program-runner";
import { ProviderCallError, ProviderServer } from "./provider-server";
import { annotateSecrets, isSecret, secret, unmarked } from "./secrets";
import { StateFile, type ResourceState, type StackState } from "./state-file";

const run = promisify(execFile);
const PROJECT = "connected-accounts";

export type StepOp = "create" | "update" | "same" | "delete" | "replace" | "refresh";

/** One property difference as `pulumi preview --diff` renders it: secrets as [secret]. */
export interface PropertyDiff {
  path: string;
  kind: "add" | "update" | "delete";
  from?: string;
  to?: string;
}

export interface Step {
  urn: string;
  name: string;
  op: StepOp;
  diff: PropertyDiff[];
  error?: string;
  /** Refresh only: the provider reported the resource no longer exists. */
  gone?: boolean;
}

export interface Deployment {
  /** The program ran and every step succeeded. */
  ok: boolean;
  programError?: string;
  steps: Step[];
  summary: Record<StepOp, number>;
  /** Stack outputs of the program, with secrets still marked. */
  outputs?: Record<string, unknown>;
  /** Everything the program and the provider process printed. */
  log: string;
}

export interface DeployOptions {
  /** Stack config, full keys (`connected-accounts:apiKey`). */
  config?: Record<string, string>;
  /** Which config keys are secret (set with --secret). */
  secretKeys?: string[];
  /** Environment of the program and the provider process. */
  env?: Record<string, string | undefined>;
  preview?: boolean;
  /** Refresh (Read) every recorded resource before the update, like `pulumi up --refresh`. */
  refresh?: boolean;
}

/**
 * A small stand-in for the Pulumi engine: runs the real program (serialized `__provider`
 * included), launches the real dynamic-provider server, and drives it in the engine's order and
 * shapes (Configure, Check, Diff, Create / Update / Delete, Read), keeping recorded state between
 * deployments in a file. Every decision comes from what the provider answered.
 */
export class Engine {
  readonly state: StateFile;

  constructor(readonly projectRoot: string, statePath: string, readonly stack = "test") {
    this.state = new StateFile(statePath);
  }

  async up(opts: DeployOptions = {}): Promise<Deployment> {
    return this.deploy({ ...opts, preview: false });
  }

  async preview(opts: DeployOptions = {}): Promise<Deployment> {
    return this.deploy({ ...opts, preview: true });
  }

  /** `pulumi refresh`: Read every recorded resource and record what the provider answered. */
  async refresh(opts: DeployOptions = {}): Promise<Deployment> {
    const state = this.state.read();
    // Refresh runs no program: the provider is configured as it was recorded at the last update.
    const recordedConfig = state.providerConfig && { config: unmarked(state.providerConfig.config) as Record<string, string>, secretKeys: state.providerConfig.secretKeys };
    const server = await this.startServer({ ...opts, ...recordedConfig });
    const steps: Step[] = [];
    const gone = new Set<string>();
    try {
      await Promise.all(
        state.resources.map(async (r, i) => {
          try {
            const read = await server.read(r.id, r.urn, unmarked(r.outputs) as Record<string, unknown>, unmarked(r.inputs) as Record<string, unknown>);
            if (!read.id) {
              // No id back means the resource no longer exists: the engine drops it from the state.
              steps.push({ urn: r.urn, name: r.name, op: "refresh", diff: [], gone: true });
              gone.add(r.urn);
              return;
            }
            const outputs = annotateSecrets(read.outputs, r.inputs) as Record<string, unknown>;
            const inputs = read.inputs ? (annotateSecrets(read.inputs, r.inputs) as Record<string, unknown>) : r.inputs;
            steps.push({ urn: r.urn, name: r.name, op: "refresh", diff: propertyDiff(r.outputs, outputs) });
            const { initErrors: _cleared, ...kept } = r;
            // A successful read clears a partial failure's reasons, as the engine's refresh does.
            state.resources[i] = { ...kept, id: read.id || r.id, outputs, inputs };
          } catch (err) {
            steps.push({ urn: r.urn, name: r.name, op: "refresh", diff: [], error: errorText(err) });
          }
        }),
      );
      if (!opts.preview) this.state.write({ ...state, resources: state.resources.filter((r) => !gone.has(r.urn)) });
    } finally {
      await server.stop();
    }
    return finish(steps, server.log, undefined, undefined);
  }

  private async deploy(opts: DeployOptions): Promise<Deployment> {
    if (opts.refresh) {
      const refreshed = await this.refresh({ ...opts, preview: opts.preview });
      if (!refreshed.ok) return refreshed;
    }
    const program = await this.runProgram(opts, this.state.read());
    if (!program.result.ok) {
      return { ok: false, programError: program.result.error, steps: [], summary: countSteps([]), log: program.log };
    }
    const registrations = program.result.registrations.filter((r) => r.custom && r.type.startsWith("pulumi-nodejs:dynamic"));
    const state = this.state.read();
    const recorded = new Map(state.resources.map((r) => [r.urn, r]));
    const next: ResourceState[] = [];
    const steps: Step[] = [];
    const server = await this.startServer(opts);
    try {
      // The engine checks one resource at a time, in the order the program registered them, and a
      // failed Check stops the deployment: no resource after it is checked, nothing is deleted.
      // Steps of resources checked before it still run (the engine had started them).
      const checked: { reg: Registration; urn: string; old?: ResourceState; inputs: Record<string, unknown> }[] = [];
      let stopped = false;
      for (const reg of registrations) {
        const urn = urnOf(this.stack, reg);
        const old = recorded.get(urn);
        recorded.delete(urn);
        if (stopped) {
          if (old) next.push(old);
          continue;
        }
        const failure = await this.check(server, urn, reg, old);
        if (typeof failure === "string") {
          steps.push({ urn, name: reg.name, op: old ? "update" : "create", diff: propertyDiff(old?.inputs ?? {}, reg.inputs), error: failure });
          if (old) next.push(old);
          stopped = true;
        } else checked.push({ reg, urn, old, inputs: failure });
      }
      await Promise.all(
        checked.map(async ({ reg, urn, old, inputs }) => {
          const { step, state: after } = await this.stepFor(server, urn, reg, old, inputs, !!opts.preview);
          steps.push(step);
          if (after) next.push(after);
        }),
      );
      // Recorded resources the program no longer declares are deleted, with their *old* provider.
      await Promise.all(
        [...recorded.values()].map(async (old) => {
          const step: Step = { urn: old.urn, name: old.name, op: "delete", diff: propertyDiff(old.inputs, {}) };
          if (stopped) {
            next.push(old);
            return;
          }
          try {
            if (!opts.preview) await server.delete(old.id, old.urn, unmarked(old.outputs) as Record<string, unknown>);
          } catch (err) {
            step.error = errorText(err);
            next.push(old);
          }
          steps.push(step);
        }),
      );
      if (!opts.preview) this.state.write({ resources: sortByUrn(next), providerConfig: { config: this.markedConfig(opts), secretKeys: opts.secretKeys ?? [] } });
    } finally {
      await server.stop();
    }
    return finish(steps, program.log + server.log, program.result.outputs, undefined);
  }

  /** Check(old inputs, registered inputs): the checked inputs (secrets re-marked), or why the provider refused them. */
  private async check(server: ProviderServer, urn: string, reg: Registration, old: ResourceState | undefined): Promise<Record<string, unknown> | string> {
    try {
      const checked = await server.check(urn, unmarked(old?.inputs ?? {}) as Record<string, unknown>, unmarked(reg.inputs) as Record<string, unknown>);
      if (checked.failures.length > 0) return checked.failures.map((f) => `${f.property}: ${f.reason}`).join("\n");
      return annotateSecrets(checked.inputs, reg.inputs) as Record<string, unknown>;
    } catch (err) {
      return errorText(err);
    }
  }

  private async stepFor(server: ProviderServer, urn: string, reg: Registration, old: ResourceState | undefined, inputs: Record<string, unknown>, preview: boolean): Promise<{ step: Step; state?: ResourceState }> {
    // The engine shows the recorded inputs against the checked ones (Check adds the fingerprints).
    const step: Step = { urn, name: reg.name, op: "same", diff: propertyDiff(old?.inputs ?? {}, inputs) };
    const checkedInputs = unmarked(inputs) as Record<string, unknown>;
    try {
      if (!old) {
        step.op = "create";
        if (preview) return { step };
        const created = await server.create(urn, checkedInputs);
        return { step, state: { urn, type: reg.type, name: reg.name, id: created.id, inputs, outputs: this.secretOutputs(created.outputs, inputs, reg) } };
      }
      const diff = await server.diff(old.id, urn, unmarked(old.outputs) as Record<string, unknown>, checkedInputs, unmarked(old.inputs) as Record<string, unknown>);
      // A resource left partially failed is updated again even when the provider sees no change.
      if (diff.changes === "none" && !old.initErrors?.length) {
        step.op = "same";
        step.diff = [];
        // The engine records the new inputs beside the old outputs on a same step.
        return { step, state: { ...old, inputs } };
      }
      if (diff.replaces.length > 0) {
        step.op = "replace";
        if (preview) return { step, state: old };
        const created = await server.create(urn, checkedInputs);
        await server.delete(old.id, urn, unmarked(old.outputs) as Record<string, unknown>);
        return { step, state: { urn, type: reg.type, name: reg.name, id: created.id, inputs, outputs: this.secretOutputs(created.outputs, inputs, reg) } };
      }
      step.op = "update";
      if (preview) return { step, state: old };
      const outputs = await server.update(old.id, urn, unmarked(old.outputs) as Record<string, unknown>, checkedInputs, unmarked(old.inputs) as Record<string, unknown>);
      const { initErrors: _cleared, ...updated } = old;
      return { step, state: { ...updated, inputs, outputs: this.secretOutputs(outputs, inputs, reg) } };
    } catch (err) {
      step.error = errorText(err);
      const partial = err instanceof ProviderCallError ? err.initFailure : undefined;
      if (partial && (step.op === "create" || step.op === "update")) {
        // A partial failure records what the provider says was applied: a create with the new
        // inputs, an update with the old ones (the engine does not claim the new inputs were applied).
        const outputs = this.secretOutputs(partial.properties, inputs, reg);
        if (step.op === "create") return { step, state: { urn, type: reg.type, name: reg.name, id: partial.id, inputs, outputs, initErrors: partial.reasons } };
        return { step, state: { ...old!, outputs, initErrors: partial.reasons } };
      }
      // A failed step keeps what was recorded before, so the next deployment retries exactly it.
      return { step, state: old };
    }
  }

  private secretOutputs(outputs: Record<string, unknown>, inputs: Record<string, unknown>, reg: Registration): Record<string, unknown> {
    const marked = annotateSecrets(outputs, inputs) as Record<string, unknown>;
    for (const key of reg.additionalSecretOutputs) if (key in marked && !isSecret(marked[key])) marked[key] = secret(marked[key]);
    return marked;
  }

  private async startServer(opts: DeployOptions): Promise<ProviderServer> {
    const server = await ProviderServer.start(this.programDir(), this.processEnv(opts));
    // The engine hands the dynamic provider the whole stack config; secret values arrive marked.
    await server.configure(this.markedConfig(opts));
    return server;
  }

  private markedConfig(opts: DeployOptions): Record<string, unknown> {
    return Object.fromEntries(Object.entries(opts.config ?? {}).map(([k, v]) => [k, (opts.secretKeys ?? []).includes(k) ? secret(v) : v]));
  }

  /** Where the engine runs the program and the provider: the folder of Pulumi.yaml's `main`. */
  private programDir(): string {
    const main = /^main:\s*(\S+)\s*$/m.exec(fs.readFileSync(path.join(this.projectRoot, "Pulumi.yaml"), "utf8"))?.[1];
    return main ? path.dirname(path.resolve(this.projectRoot, main)) : this.projectRoot;
  }

  private processEnv(opts: DeployOptions): Record<string, string | undefined> {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...opts.env,
      PULUMI_PROJECT: PROJECT,
      PULUMI_NODEJS_PROJECT: PROJECT,
      PULUMI_STACK: this.stack,
      PULUMI_NODEJS_STACK: this.stack,
      PULUMI_CONFIG: JSON.stringify(opts.config ?? {}),
      PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(opts.secretKeys ?? []),
    };
  }

  private async runProgram(opts: DeployOptions, state: StackState): Promise<{ result: ProgramResult; log: string }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-program-"));
    const jobPath = path.join(dir, "job.json");
    const resultPath = path.join(dir, "result.json");
    fs.writeFileSync(jobPath, JSON.stringify({
      projectRoot: this.projectRoot,
      program: path.join(this.projectRoot, "dist/provider/program.js"),
      project: PROJECT,
      stack: this.stack,
      preview: !!opts.preview,
      recorded: Object.fromEntries(state.resources.map((r) => [r.urn, unmarked(r.outputs)])),
    }));
    const runner = path.join(this.projectRoot, "dist/test/harness/program-runner.js");
    let log = "";
    try {
      const out = await run(process.execPath, [runner, jobPath, resultPath], {
        cwd: this.programDir(),
        // The language host passes the project root (the folder of Pulumi.yaml) to the program.
        env: { ...this.processEnv(opts), PULUMI_NODEJS_ROOT_DIRECTORY: this.projectRoot } as NodeJS.ProcessEnv,
        maxBuffer: 64 * 1024 * 1024,
      });
      log = out.stdout + out.stderr;
    } catch (err) {
      // A failed program still writes its result; the runtime's exit hook then reports leaked
      // promises with a non-zero code, as it does under the real language host.
      const e = err as { stdout?: string; stderr?: string; message: string };
      log = (e.stdout ?? "") + (e.stderr ?? "");
      if (!fs.existsSync(resultPath)) throw new Error(`program runner failed: ${e.message}\n${log}`);
    }
    const result = JSON.parse(fs.readFileSync(resultPath, "utf8")) as ProgramResult;
    fs.rmSync(dir, { recursive: true, force: true });
    return { result, log };
  }
}

function urnOf(stack: string, reg: Registration): string {
  return `urn:pulumi:${stack}::${PROJECT}::${reg.type}::${reg.name}`;
}

function errorText(err: unknown): string {
  return err instanceof ProviderCallError ? err.details : err instanceof Error ? err.message : String(err);
}

function sortByUrn(resources: ResourceState[]): ResourceState[] {
  return [...resources].sort((a, b) => a.urn.localeCompare(b.urn));
}

function finish(steps: Step[], log: string, outputs: Record<string, unknown> | undefined, programError: string | undefined): Deployment {
  const sorted = [...steps].sort((a, b) => a.urn.localeCompare(b.urn));
  return { ok: !programError && sorted.every((s) => !s.error), programError, steps: sorted, summary: countSteps(sorted), outputs, log };
}

function countSteps(steps: Step[]): Record<StepOp, number> {
  const summary: Record<StepOp, number> = { create: 0, update: 0, same: 0, delete: 0, replace: 0, refresh: 0 };
  for (const s of steps) summary[s.op]++;
  return summary;
}

/**
 * Property-level differences between two input bags, the way the CLI renders `preview --diff`:
 * `__`-prefixed keys hidden, a secret shown as [secret] (changed or not is still reported).
 */
export function propertyDiff(olds: unknown, news: unknown): PropertyDiff[] {
  const before = flatten(olds);
  const after = flatten(news);
  const out: PropertyDiff[] = [];
  for (const [p, b] of before) {
    const a = after.get(p);
    if (!a) out.push({ path: p, kind: "delete", from: b.shown });
    else if (a.raw !== b.raw) out.push({ path: p, kind: "update", from: b.shown, to: a.shown });
  }
  for (const [p, a] of after) if (!before.has(p)) out.push({ path: p, kind: "add", to: a.shown });
  return out.sort((x, y) => x.path.localeCompare(y.path));
}

function flatten(v: unknown, prefix = "", out = new Map<string, { raw: string; shown: string }>()): Map<string, { raw: string; shown: string }> {
  if (isSecret(v)) {
    out.set(prefix, { raw: JSON.stringify(unmarked(v)), shown: "[secret]" });
  } else if (v && typeof v === "object") {
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    if (entries.length === 0 && prefix) out.set(prefix, { raw: JSON.stringify(v), shown: JSON.stringify(v) });
    for (const [k, x] of entries) {
      if (!prefix && k.startsWith("__")) continue;
      flatten(x, prefix ? `${prefix}.${k}` : k, out);
    }
  } else if (prefix) {
    out.set(prefix, { raw: JSON.stringify(v), shown: JSON.stringify(v) });
  }
  return out;
}
