/**
 * `connected-accounts plan --base <rev>`: what a change to the account files intends, per account,
 * from the files alone (base revision × head revision or working tree). No reference is resolved and
 * no network is used, so it runs on any pull request, forks included. Exit 0 (changes or not), 1 when
 * an account file is invalid on either side, 2 on a usage error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LoadedAccounts } from "../accounts/load";
import { formatProblem } from "../accounts/problem";
import { compareAccounts } from "./account-changes";
import { parseFlags, parseFormat, printHelp, UsageError, withUsage } from "./flags";
import { formatPlanMarkdown, formatPlanText, planToJson, type PlanSides } from "./format-plan";
import { problemsToJson } from "./format-problems";
import { resolveTree } from "./git";
import { startProgress, type Progress } from "./progress";
import { loadAccountsAtRev } from "./rev-accounts";
import { checkStackHint, loadWorkspaceAccounts, locateWorkspace, type Workspace } from "./workspace";

const USAGE = `usage: connected-accounts plan --base <rev> [--head <rev>] [--stack <name>] [--dir <folder>] [--format text|markdown|json]

Shows what a change to the account files intends for each account (adopt, update, release,
unchanged), comparing the files at --base with --head (default: the working tree). References are
compared as written and never resolved: no secret and no network is needed.

  --base    git revision to compare from, e.g. origin/main
  --head    git revision to compare to (default: the working tree)
  --stack   read accountsDir from the stack's settings file (default: PULUMI_STACK, if set)
  --dir     accounts folder, relative to the working directory (default: the stack's accountsDir,
            else accounts/ at the project root)
  --format  text (default), markdown (a pull-request comment) or json

Exit code: 0 (with or without changes), 1 invalid account files, 2 usage error.`;

const FORMATS = ["text", "markdown", "json"] as const;

interface PlanOptions {
  base: string;
  head?: string;
  stack?: string;
  dir?: string;
  format: (typeof FORMATS)[number];
}

function parseOptions(argv: string[]): PlanOptions | "help" {
  const { values, help } = parseFlags(argv, ["base", "head", "stack", "dir", "format"]);
  if (help) return "help";
  if (values.base === undefined) throw new UsageError("missing --base <rev> (the revision to compare with, e.g. origin/main)");
  return { base: values.base, head: values.head, stack: values.stack, dir: values.dir, format: parseFormat(values.format, FORMATS, "text") };
}

export function run(argv: string[]): Promise<number> {
  return withUsage("plan", USAGE, async () => {
    const options = parseOptions(argv);
    return options === "help" ? printHelp(USAGE) : plan(options);
  });
}

async function plan(options: PlanOptions): Promise<number> {
  const ws = await locateWorkspace({ dir: options.dir, stack: options.stack });
  checkStackHint(ws);
  if (!ws.inGit) throw new UsageError(`plan compares git revisions, but ${ws.cwd} is not inside a git repository`, false);
  const dir = path.relative(ws.repoRoot, ws.accountsDir);
  if (dir === ".." || dir.startsWith(`..${path.sep}`) || path.isAbsolute(dir)) throw new UsageError(`the accounts folder ${ws.accountsDir} is outside the repository ${ws.repoRoot}`, false);

  // Both revisions are checked before reading either, so a typo in --head is reported at once.
  const baseRev = { rev: options.base, tree: await treeOf(ws, options.base, "--base") };
  const headRev = options.head === undefined ? undefined : { rev: options.head, tree: await treeOf(ws, options.head, "--head") };
  const base = await readRev(ws, dir, baseRev);
  const head = headRev ? await readRev(ws, dir, headRev) : readWorkingTree(ws);
  const problems = [...base.problems, ...head.problems];
  if (problems.length > 0) {
    const files = base.files + head.files;
    if (options.format === "json") {
      process.stdout.write(`${JSON.stringify(problemsToJson(problems, files), null, 2)}\n`);
    } else {
      process.stderr.write(`${problems.map(formatProblem).join("\n")}\n` +
        `${problems.length} error${problems.length === 1 ? "" : "s"}: the plan needs valid account files on both sides\n`);
    }
    return 1;
  }

  const result = compareAccounts(base.accounts, head.accounts, (a) => path.relative(ws.cwd, a.path));
  const sides: PlanSides = { base: options.base, head: options.head };
  if (options.format === "json") process.stdout.write(`${JSON.stringify(planToJson(result), null, 2)}\n`);
  else if (options.format === "markdown") process.stdout.write(formatPlanMarkdown(result, sides));
  else process.stdout.write(formatPlanText(result, sides));
  return 0;
}

async function treeOf(ws: Workspace, rev: string, flag: string): Promise<string> {
  const tree = await resolveTree(ws.repoRoot, rev);
  if (!tree) {
    throw new UsageError(`cannot read ${flag} ${rev}: no such revision in this repository (fetch it first; in GitHub Actions check out with fetch-depth: 0)`, false);
  }
  return tree;
}

async function readRev(ws: Workspace, dir: string, { rev, tree }: { rev: string; tree: string }): Promise<LoadedAccounts> {
  let progress: Progress | undefined;
  const loaded = await loadAccountsAtRev(
    { repoRoot: ws.repoRoot, projectRoot: ws.projectRoot, rev, tree, dir: dir.split(path.sep).join("/") },
    (_done, total) => (progress ??= startProgress(`reading ${rev}`, total)).tick(),
  );
  progress?.done();
  return loaded;
}

function readWorkingTree(ws: Workspace): LoadedAccounts {
  // A change that deletes the whole folder releases every account, as it would at a revision.
  if (!fs.existsSync(ws.accountsDir)) return { accounts: [], problems: [], files: 0 };
  return loadWorkspaceAccounts(ws, "reading the working tree");
}
