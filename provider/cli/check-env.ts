/**
 * `connected-accounts check-env`: every `{ env: NAME }` and `{ file: path }` reference of the account
 * files must reach each workflow step that runs Pulumi, or `pulumi up` fails after the merge. The
 * references are wired in one file (.github/connected-accounts-ci.yml, ci-wiring.ts), read by the
 * account-secrets action before each Pulumi step; a variable mapped in a step's, job's or workflow's
 * `env:` counts too. Run in the pull-request workflow before any preview, needing no secret.
 * Exit 0 all wired, 1 some not (each listed with the line to add), 2 usage error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import { loadWorkspaceAccounts, locateWorkspace, requireAccountsDir } from "../project/workspace";
import { envKind } from "../references/env";
import { fileKind, fileTarget } from "../references/file";
import { ACCOUNT_SECRETS_ACTION, CI_WIRING_FILE, envLineToAdd, fileLineToAdd, MAX_WIRING_BYTES, parseCiWiring, type CiWiring } from "./ci-wiring";
import { parseFlags, parseFormat, printHelp, UsageError, withUsage } from "./flags";
import { formatProblemsText, problemsToJson } from "./format-problems";
import { stackSettingProblems } from "./stack-secrets";

const USAGE = `usage: connected-accounts check-env [--workflow <file>...] [--wiring <file>] [--stack <name>] [--dir <folder>] [--format text|json]

Checks that every { env: NAME } and { file: path } reference of the account files reaches each
workflow step that runs Pulumi (pulumi/actions, or a run of pulumi preview/up/refresh): listed in
the wiring file, which the ${ACCOUNT_SECRETS_ACTION} action reads before the step, or mapped
in the step's, its job's or the workflow's env. Each gap is listed with the line to add.
Paused and observed accounts are left out (their references are not read).

  --workflow  a GitHub Actions workflow file; repeat it for each (default: every workflow in
              .github/workflows that runs Pulumi)
  --wiring    the CI wiring file (default: ${CI_WIRING_FILE} at the repository root)
  --stack     read accountsDir from the stack's settings file (default: PULUMI_STACK, if set)
  --dir       accounts folder (default: the stack's accountsDir, else accounts/ at the project root)
  --format    text (default) or json

Exit code: 0 every reference wired, 1 some not, or invalid account files, 2 usage error.`;

const FORMATS = ["text", "json"] as const;
const MAX_WORKFLOW_BYTES = 1024 * 1024;
const WORKFLOWS_DIR = ".github/workflows";
/** Workflows use anchors a little (shared env blocks); far more expansions than this is an attack on memory. */
const MAX_WORKFLOW_ALIAS_COUNT = 1000;

/** A step that runs pulumi, and what reaches it. */
export interface PulumiStep {
  /** `job / step name` as the Actions UI shows it. */
  label: string;
  /** Variables mapped in its env, its job's or the workflow's. */
  env: Set<string>;
  /** Whether the account-secrets action runs before it in its job. */
  wired: boolean;
  line: number;
  column: number;
}

export function run(argv: string[]): Promise<number> {
  return withUsage("check-env", USAGE, async () => {
    const { values, lists, help } = parseFlags(argv, ["workflow", "wiring", "stack", "dir", "format"]);
    if (help) return printHelp(USAGE);
    const format = parseFormat(values.format, FORMATS, "text");
    const ws = await locateWorkspace({ dir: values.dir, stack: values.stack });
    requireAccountsDir(ws);
    const shown = (abs: string) => path.relative(ws.cwd, abs).split(path.sep).join("/") || abs;
    const workflows = lists.workflow?.map((f) => path.resolve(ws.cwd, f)) ?? discoverWorkflows(path.join(ws.repoRoot, WORKFLOWS_DIR));
    const wiringPath = values.wiring !== undefined ? path.resolve(ws.cwd, values.wiring) : path.join(ws.repoRoot, CI_WIRING_FILE);
    const loaded = loadWorkspaceAccounts(ws, "checking account files");
    const problems = [...loaded.problems, ...stackSettingProblems(ws)];
    if (problems.length === 0) {
      const wiringText = readBounded(wiringPath, shown(wiringPath), "wiring file", MAX_WIRING_BYTES, values.wiring === undefined);
      let wiring: CiWiring | undefined;
      if (wiringText !== undefined) {
        const parsed = parseCiWiring(wiringText, shown(wiringPath));
        problems.push(...parsed.problems);
        wiring = parsed.wiring;
      }
      const steps = workflows.map((file) => {
        const text = readBounded(file, shown(file), "workflow", MAX_WORKFLOW_BYTES, false)!;
        return { workflow: shown(file), steps: pulumiSteps(shown(file), text) };
      });
      if (lists.workflow === undefined && steps.every((w) => w.steps.length === 0)) {
        throw new UsageError(`no workflow in ${shown(path.join(ws.repoRoot, WORKFLOWS_DIR))} runs pulumi: name one with --workflow`, false);
      }
      for (const w of steps) {
        if (lists.workflow !== undefined && w.steps.length === 0) throw new UsageError(`workflow ${w.workflow} has no step that runs pulumi (pulumi/actions, or a run of pulumi preview, up or refresh)`, false);
      }
      const repoPath = (account: AccountFile, ref: string) => path.relative(ws.repoRoot, fileTarget(account, ref)).split(path.sep).join("/");
      problems.push(...unwiredReferences(loaded.accounts, steps, wiring, repoPath));
    }
    process.stdout.write(format === "json" ? `${JSON.stringify(problemsToJson(problems, loaded.files), null, 2)}\n` : formatProblemsText(problems, loaded.files));
    return problems.length === 0 ? 0 : 1;
  });
}

/** Every workflow file of the folder, sorted; those without a Pulumi step are skipped later. */
function discoverWorkflows(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    throw new UsageError(`there is no ${WORKFLOWS_DIR} folder at the repository root: name the workflows with --workflow`, false);
  }
  return names.filter((n) => /\.ya?ml$/.test(n)).sort().map((n) => path.join(dir, n));
}

/** The file's text; undefined when it is missing and `optional`. Anything but a small regular file is refused. */
function readBounded(file: string, shown: string, what: string, maxBytes: number, optional: boolean): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    if (optional) return undefined;
    throw new UsageError(`${what} ${shown} does not exist`, false);
  }
  if (!stat.isFile() || stat.size > maxBytes) throw new UsageError(`${what} ${shown} is not a ${what} (a regular file of at most ${maxBytes / 1024} KiB)`, false);
  return fs.readFileSync(file, "utf8");
}

type Env = Record<string, unknown> | undefined;

/** scripts/ci/update-plan.js runs `pulumi preview --save-plan` and `pulumi up --plan` itself. */
const RUNS_PULUMI_SCRIPT = /(^|[\s;&|(])node\s+(\.\/)?scripts\/ci\/update-plan\.js\s+(save|apply)\b/;

/** The steps of a workflow that run pulumi, each with what reaches it. */
export function pulumiSteps(shown: string, text: string): PulumiStep[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) throw new UsageError(`workflow ${shown} is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`, false);
  const wf = workflowData(doc, shown) as { env?: Env; jobs?: Record<string, { name?: unknown; env?: Env; if?: unknown; steps?: unknown[] }> } | null;
  const names = (env: Env) => (env && typeof env === "object" ? Object.keys(env) : []);
  const out: PulumiStep[] = [];
  for (const [jobId, job] of Object.entries(wf?.jobs ?? {})) {
    const stepNodes = doc.getIn(["jobs", jobId, "steps"], true) as Node | undefined;
    let wired = false;
    for (const [i, raw] of (Array.isArray(job?.steps) ? job.steps : []).entries()) {
      const step = (raw ?? {}) as { name?: unknown; uses?: unknown; run?: unknown; env?: Env; if?: unknown };
      const uses = typeof step.uses === "string" ? step.uses : "";
      const runs = typeof step.run === "string" ? step.run : "";
      const skipped = neverRuns(job?.if) || neverRuns(step.if);
      if (uses === ACCOUNT_SECRETS_ACTION && !skipped) wired = true;
      if (!runsPulumi(uses, runs) && !RUNS_PULUMI_SCRIPT.test(runs)) continue;
      const node = isSeq(stepNodes) ? (stepNodes.items[i] as Node | undefined) : undefined;
      const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
      const label = `${typeof job.name === "string" ? job.name : jobId} / ${typeof step.name === "string" ? step.name : `step ${i + 1}`}`;
      out.push({
        // A step that never runs passes nothing to pulumi: what its env maps does not count.
        label: skipped ? `${label} (if: false, it never runs)` : label,
        env: skipped ? new Set() : new Set([...names(wf?.env), ...names(job.env), ...names(step.env)]),
        wired,
        line,
        column: col,
      });
    }
  }
  return out;
}

/**
 * Whether a step runs Pulumi: the official action (GitHub reads `owner/repo` in any case, and a
 * sub-folder action of that repository is the same code), or a run of pulumi preview, up or refresh.
 */
export function runsPulumi(uses: string, runs: string): boolean {
  return /^pulumi\/actions(\/[^@]*)?@/i.test(uses.trim()) || /(^|[\s;&|(])pulumi\s+(preview|up|refresh)\b/.test(runs);
}

/** An `if:` that is false whatever happens (`false`, `${{ false }}`, `0`, `''`): the step or job never runs. */
export function neverRuns(condition: unknown): boolean {
  if (condition === false || condition === 0) return true;
  if (typeof condition !== "string") return false;
  const inner = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(condition)?.[1] ?? condition;
  return /^\s*(false|0|''|null)\s*$/i.test(inner);
}

/**
 * The workflow as data. Aliases are expanded a bounded number of times: a workflow that expands
 * them without end (a "billion laughs") is a usage error naming the file, not a crash.
 */
function workflowData(doc: ReturnType<typeof parseDocument>, shown: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_WORKFLOW_ALIAS_COUNT });
  } catch (err) {
    const why = /alias/i.test(String(err)) ? `its YAML aliases expand too often (more than ${MAX_WORKFLOW_ALIAS_COUNT} times) or lead nowhere` : "it cannot be read as data";
    throw new UsageError(`workflow ${shown} is not a workflow this command reads: ${why}; write the values out`, false);
  }
}

interface WorkflowSteps { workflow: string; steps: PulumiStep[] }

/**
 * What keeps a reference from reaching a Pulumi step: its line missing from the wiring file (at the
 * reference), or a step that runs Pulumi without the account-secrets action (at the step, once).
 * Without a wiring file, each variable must be mapped in the steps' env.
 */
export function unwiredReferences(accounts: readonly AccountFile[], workflows: readonly WorkflowSteps[], wiring: CiWiring | undefined, repoPath: (account: AccountFile, ref: string) => string): AccountProblem[] {
  const problems: AccountProblem[] = [];
  const wiringFile = wiring?.file ?? CI_WIRING_FILE;
  const unwiredSteps = new Map<PulumiStep, { workflow: string; needs: string[] }>();
  const stepsMissing = (covered: (s: PulumiStep) => boolean) =>
    workflows.flatMap((w) => w.steps.filter((s) => !covered(s)).map((s) => ({ workflow: w.workflow, step: s })));
  for (const account of accounts) {
    if (account.paused || account.manage === "observe") continue;
    for (const [field, spec] of Object.entries(account.credentials)) {
      if (spec.kind !== "ref") continue;
      if (envKind.written(spec.ref)) {
        const name = spec.ref.env;
        const inWiring = wiring?.env.has(name) ?? false;
        const missing = stepsMissing((s) => s.env.has(name) || (s.wired && inWiring));
        if (missing.length === 0) continue;
        const where = { file: account.file, ...account.locate(["credentials", field, "env"]), field: `credentials.${field}.env` };
        if (wiring === undefined) {
          for (const w of workflows) {
            const steps = w.steps.filter((s) => !s.env.has(name));
            if (steps.length === 0) continue;
            problems.push({
              ...where,
              message: `environment variable ${name} is not passed to ${steps.map((s) => `"${s.label}"`).join(", ")} in ${w.workflow}, so pulumi cannot read it there`,
              fix: `add ${name}: \${{ secrets.${name} }} to the env of ${steps.length === 1 ? "that step" : "those steps"}, or move the value into a SOPS file ({ sops: path, key: name }) that the one SOPS_AGE_KEY secret decrypts`,
            });
          }
        } else if (!inWiring) {
          problems.push({
            ...where,
            message: `environment variable ${name} has no CI secret in ${wiringFile}, so pulumi cannot read it in CI`,
            fix: `add the line "${envLineToAdd(name)}" under env: in ${wiringFile} and create the CI secret ${name} (Settings → Secrets and variables → Actions), or move the value into a SOPS file that the one SOPS_AGE_KEY secret decrypts`,
          });
        } else {
          for (const m of missing) note(unwiredSteps, m, `env ${name}`);
        }
      } else if (fileKind.written(spec.ref)) {
        const target = repoPath(account, spec.ref.file);
        const inWiring = wiring?.files.has(target) ?? false;
        const missing = stepsMissing((s) => s.wired && inWiring);
        if (missing.length === 0) continue;
        if (!inWiring) {
          const line = fileLineToAdd(target);
          problems.push({
            file: account.file,
            ...account.locate(["credentials", field, "file"]),
            field: `credentials.${field}.file`,
            message: `file ${target} is not written in CI: ${wiringFile} names no secret for it, so pulumi cannot read it there`,
            fix: `add the line "${line}" under files: in ${wiringFile}${wiring === undefined ? " (create the file)" : ""} and create the CI secret ${line.slice(line.lastIndexOf(":") + 2)} holding the file's content`,
          });
        } else {
          for (const m of missing) note(unwiredSteps, m, `file ${target}`);
        }
      }
    }
  }
  for (const [step, { workflow, needs }] of unwiredSteps) {
    problems.push({
      file: workflow,
      line: step.line,
      column: step.column,
      field: "",
      message: `step "${step.label}" runs pulumi without the references wired in ${wiringFile} (${needs.slice(0, 3).join(", ")}${needs.length > 3 ? `, and ${needs.length - 3} more` : ""})`,
      fix: `add a step before it in the same job: "- uses: ${ACCOUNT_SECRETS_ACTION}" with "secrets: \${{ toJSON(secrets) }}"`,
    });
  }
  return problems;
}

function note(steps: Map<PulumiStep, { workflow: string; needs: string[] }>, m: { workflow: string; step: PulumiStep }, what: string): void {
  const entry = steps.get(m.step) ?? { workflow: m.workflow, needs: [] };
  if (!entry.needs.includes(what)) entry.needs.push(what);
  steps.set(m.step, entry);
}
