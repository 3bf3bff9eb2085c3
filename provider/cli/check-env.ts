/**
 * `connected-accounts check-env --workflow <file>...`: every `{ env: NAME }` reference of the account
 * files must reach the Pulumi steps of each workflow (mapped in the step's, the job's or the
 * workflow's `env:`), or `pulumi up` fails after the merge. Run in the pull-request workflow before
 * any preview, needing no secret. Exit 0 all mapped, 1 some not (each listed), 2 usage error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import { loadWorkspaceAccounts, locateWorkspace, requireAccountsDir } from "../project/workspace";
import { stackSettingProblems } from "./stack-secrets";
import { parseFlags, parseFormat, printHelp, UsageError, withUsage } from "./flags";
import { formatProblemsText, problemsToJson } from "./format-problems";

const USAGE = `usage: connected-accounts check-env --workflow <file> [--workflow <file>...] [--stack <name>] [--dir <folder>] [--format text|json]

Lists each { env: NAME } reference of the account files that a workflow does not pass to its Pulumi
steps (pulumi/actions, or a run of pulumi preview/up/refresh): mapped in the step's env, its job's,
or the workflow's. Paused and observed accounts are left out (their references are not read).
Variables a step writes to $GITHUB_ENV cannot be seen here: map them in env instead.

  --workflow  a GitHub Actions workflow file; repeat it for each (e.g. pull-request.yml and apply.yml)
  --stack     read accountsDir from the stack's settings file (default: PULUMI_STACK, if set)
  --dir       accounts folder (default: the stack's accountsDir, else accounts/ at the project root)
  --format    text (default) or json

Exit code: 0 every reference mapped, 1 some not, or invalid account files, 2 usage error.`;

const FORMATS = ["text", "json"] as const;
const MAX_WORKFLOW_BYTES = 1024 * 1024;

/** A step that runs pulumi, and the variables it sees. */
export interface PulumiStep {
  /** `job / step name` as the Actions UI shows it. */
  label: string;
  env: Set<string>;
}

export function run(argv: string[]): Promise<number> {
  return withUsage("check-env", USAGE, async () => {
    const { values, lists, help } = parseFlags(argv, ["workflow", "stack", "dir", "format"]);
    if (help) return printHelp(USAGE);
    const format = parseFormat(values.format, FORMATS, "text");
    const workflows = lists.workflow ?? [];
    if (workflows.length === 0) throw new UsageError("missing --workflow <file> (e.g. --workflow .github/workflows/apply.yml)");
    const ws = await locateWorkspace({ dir: values.dir, stack: values.stack });
    requireAccountsDir(ws);
    const loaded = loadWorkspaceAccounts(ws, "checking account files");
    const problems = [...loaded.problems, ...stackSettingProblems(ws)];
    if (problems.length === 0) {
      for (const file of workflows) {
        const shown = path.relative(ws.cwd, path.resolve(ws.cwd, file)) || file;
        problems.push(...unmappedReferences(loaded.accounts, shown, pulumiSteps(shown, readWorkflow(path.resolve(ws.cwd, file), file))));
      }
    }
    process.stdout.write(format === "json" ? `${JSON.stringify(problemsToJson(problems, loaded.files), null, 2)}\n` : formatProblemsText(problems, loaded.files));
    return problems.length === 0 ? 0 : 1;
  });
}

function readWorkflow(file: string, shown: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UsageError(`workflow ${shown} does not exist`, false);
  }
  if (!stat.isFile() || stat.size > MAX_WORKFLOW_BYTES) throw new UsageError(`workflow ${shown} is not a workflow file`, false);
  return fs.readFileSync(file, "utf8");
}

type Env = Record<string, unknown> | undefined;
interface WorkflowStep { name?: unknown; uses?: unknown; run?: unknown; env?: Env }

/** The steps of a workflow that run pulumi, each with the names its environment maps. */
export function pulumiSteps(shown: string, text: string): PulumiStep[] {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new UsageError(`workflow ${shown} is not valid YAML: ${doc.errors[0].message.split("\n")[0]}`, false);
  const wf = doc.toJS() as { env?: Env; jobs?: Record<string, { name?: unknown; env?: Env; steps?: WorkflowStep[] }> } | null;
  const names = (env: Env) => (env && typeof env === "object" ? Object.keys(env) : []);
  const out: PulumiStep[] = [];
  for (const [jobId, job] of Object.entries(wf?.jobs ?? {})) {
    for (const [i, step] of (Array.isArray(job?.steps) ? job.steps : []).entries()) {
      const uses = typeof step?.uses === "string" ? step.uses : "";
      const runs = typeof step?.run === "string" ? step.run : "";
      if (!/^pulumi\/actions@/.test(uses) && !/(^|[\s;&|(])pulumi\s+(preview|up|refresh)\b/.test(runs)) continue;
      out.push({
        label: `${typeof job.name === "string" ? job.name : jobId} / ${typeof step.name === "string" ? step.name : `step ${i + 1}`}`,
        env: new Set([...names(wf?.env), ...names(job.env), ...names(step.env)]),
      });
    }
  }
  if (out.length === 0) throw new UsageError(`workflow ${shown} has no step that runs pulumi (pulumi/actions, or a run of pulumi preview, up or refresh)`, false);
  return out;
}

/** One problem per reference and workflow step that does not see the variable, at the reference's line. */
export function unmappedReferences(accounts: readonly AccountFile[], workflow: string, steps: readonly PulumiStep[]): AccountProblem[] {
  const problems: AccountProblem[] = [];
  for (const account of accounts) {
    if (account.paused || account.manage === "observe") continue;
    for (const [field, spec] of Object.entries(account.credentials)) {
      if (spec.kind !== "ref" || !("env" in spec.ref)) continue;
      const name = spec.ref.env;
      const missing = steps.filter((s) => !s.env.has(name));
      if (missing.length === 0) continue;
      problems.push({
        file: account.file,
        ...account.locate(["credentials", field, "env"]),
        field: `credentials.${field}.env`,
        message: `environment variable ${name} is not passed to ${missing.map((s) => `"${s.label}"`).join(", ")} in ${workflow}, so pulumi cannot read it there`,
        fix: `add ${name}: \${{ secrets.${name} }} to the env of ${missing.length === 1 ? "that step" : "those steps"}, or move the value into a SOPS file ({ sops: path, key: name }) that the one SOPS_AGE_KEY secret decrypts`,
      });
    }
  }
  return problems;
}
