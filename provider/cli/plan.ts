/**
 * `connected-accounts plan --base <rev>`: what a change to the account files intends, per account,
 * from the files alone (base revision × head revision or working tree). No reference is resolved and
 * no network is used, so it runs on any pull request, forks included. Exit 0 (changes or not), 1 when
 * an account file is invalid on either side, 2 on a usage error; with --detailed-exitcode, as
 * `terraform plan -detailed-exitcode`: 0 nothing changes, 2 something changes, 1 any error.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LoadedAccounts } from "../project/account-files";
import { sortProblems, type AccountProblem } from "../accounts/problem";
import { readFileAtTree, resolveTree } from "../project/git";
import { loadAccountsAtRev } from "../project/rev-accounts";
import { accountsDirIn } from "../project/stack";
import { checkStackHint, loadWorkspaceAccounts, locateWorkspace, type Workspace } from "../project/workspace";
import { accountsDirPath } from "../settings";
import { startProgress, type Progress } from "../text/progress";
import { compareAccounts } from "./account-changes";
import { parseFlags, parseFormat, printHelp, UsageError, withUsage } from "./flags";
import { baseProblemsToJson, formatPlanMarkdown, formatPlanText, planToJson, type BaseProblem, type PlanSides } from "./format-plan";
import { formatProblemText, problemsToJson } from "./format-problems";
import { stackSecretProblems } from "./stack-secrets";

const USAGE = `usage: connected-accounts plan --base <rev> [--head <rev>] [--stack <name>] [--dir <folder>] [--format text|markdown|json] [--detailed-exitcode]

Shows what a change to the account files intends for each account (adopt, update, release,
unchanged), comparing the files at --base with --head (default: the working tree). References are
compared as written and never resolved: no secret and no network is needed.

  --base    git revision to compare from, e.g. origin/main
  --head    git revision to compare to (default: the working tree)
  --stack   read accountsDir from the stack's settings file (default: PULUMI_STACK, if set)
  --dir     accounts folder, relative to the working directory (default: the stack's accountsDir,
            else accounts/ at the project root)
  --format  text (default), markdown (a pull-request comment) or json
  --detailed-exitcode
            exit 0 when no account changes, 2 when one does, 1 on any error (usage errors too),
            as terraform plan -detailed-exitcode

Exit code: 0 (with or without changes), 1 invalid account files, 2 usage error.`;

const FORMATS = ["text", "markdown", "json"] as const;

interface PlanOptions {
  base: string;
  head?: string;
  stack?: string;
  dir?: string;
  format: (typeof FORMATS)[number];
}

/** A switch: read by run(), which maps the exit code. */
const DETAILED = "detailed-exitcode";

function parseOptions(argv: string[]): PlanOptions | "help" {
  const { values, help } = parseFlags(argv, ["base", "head", "stack", "dir", "format"], [DETAILED]);
  if (help) return "help";
  if (values.base === undefined) throw new UsageError("missing --base <rev> (the revision to compare with, e.g. origin/main)");
  return { base: values.base, head: values.head, stack: values.stack, dir: values.dir, format: parseFormat(values.format, FORMATS, "text") };
}

export async function run(argv: string[]): Promise<number> {
  let changes = false;
  const code = await withUsage("plan", USAGE, async () => {
    const options = parseOptions(argv);
    if (options === "help") return printHelp(USAGE);
    const outcome = await plan(options);
    changes = outcome.changes;
    return outcome.code;
  });
  if (!argv.some((arg) => arg === `--${DETAILED}` || arg.startsWith(`--${DETAILED}=`))) return code;
  // There 2 means "something changes": a usage error is an error like any other (terraform's 1).
  if (code === 2) return 1;
  return code === 0 && changes ? 2 : code;
}

/** The exit code, and whether any account changes (for --detailed-exitcode). */
async function plan(options: PlanOptions): Promise<{ code: number; changes: boolean }> {
  const ws = await locateWorkspace({ dir: options.dir, stack: options.stack });
  checkStackHint(ws);
  if (!ws.inGit) throw new UsageError(`plan compares git revisions, but ${ws.cwd} is not inside a git repository`, false);
  repoRelative(ws, ws.accountsDir);

  // Both revisions are checked before reading either, so a typo in --head is reported at once.
  const baseRev = { rev: options.base, tree: await treeOf(ws, options.base, "--base") };
  const headRev = options.head === undefined ? undefined : { rev: options.head, tree: await treeOf(ws, options.head, "--head") };
  const base = await readRev(ws, baseRev);
  const head = headRev ? await readRev(ws, headRev) : readWorkingTree(ws);
  head.problems = sortProblems([...head.problems, ...stackSecretProblems(ws, head.accounts, await stackTextAt(ws, headRev?.tree))]);
  const baseProblems = compareProblems(ws, base.problems, head.problems);
  // Only the head decides: a change that fixes a broken base must be able to pass.
  if (head.problems.length > 0) {
    if (options.format === "json") {
      process.stdout.write(`${JSON.stringify({ ...problemsToJson(head.problems, head.files), ...(baseProblems.length > 0 && { baseProblems: baseProblemsToJson(baseProblems) }) }, null, 2)}\n`);
    } else {
      const n = head.problems.length;
      const already = baseProblems.filter((p) => p.status === "still present").length;
      const base = already === 0 ? "" : ` (${already} already at the base)`;
      process.stderr.write(`${head.problems.map(formatProblemText).join("\n")}\n${n} error${n === 1 ? "" : "s"} at ${options.head ?? "the working tree"}${base}: the plan needs valid account files at the head\n`);
    }
    return { code: 1, changes: false };
  }

  const sops = base.sopsFiles && head.sopsFiles ? { base: base.sopsFiles, head: head.sopsFiles } : undefined;
  const result = compareAccounts(base.accounts, head.accounts, (a) => path.relative(ws.cwd, a.path), sops);
  const sides: PlanSides = { base: options.base, head: options.head, command: fullPlanCommand(options), baseProblems };
  if (options.format === "json") process.stdout.write(`${JSON.stringify(planToJson(result, baseProblems), null, 2)}\n`);
  else if (options.format === "markdown") process.stdout.write(formatPlanMarkdown(result, sides));
  else process.stdout.write(formatPlanText(result, sides));
  // A re-encrypted SOPS file may hide a real change: only the preview can tell.
  const changes = result.accounts.some((a) => a.action !== "unchanged") || (result.reencrypted?.length ?? 0) > 0;
  return { code: result.refused.length > 0 ? 1 : 0, changes };
}

/**
 * Each problem of the base, and whether the head still has it: the same file (by its path in the
 * repository), field and message.
 */
function compareProblems(ws: Workspace, base: readonly AccountProblem[], head: readonly AccountProblem[]): BaseProblem[] {
  const key = (p: AccountProblem) => JSON.stringify([repoPathOf(ws, p.file), p.field, p.message]);
  const still = new Set(head.map(key));
  return base.map((p) => ({ ...p, status: still.has(key(p)) ? "still present" : "fixed" }));
}

/** A shown path (`rev:path` for a revision, else relative to the working directory) → repository-relative. */
function repoPathOf(ws: Workspace, shown: string): string {
  const revPath = /^[^:]+:(.+)$/.exec(shown);
  if (revPath && !fs.existsSync(path.resolve(ws.cwd, shown))) return revPath[1];
  return path.relative(ws.repoRoot, path.resolve(ws.cwd, shown)).split(path.sep).join("/");
}

/** The command for the full plan, with the options the user gave (not --format), for the cut note. */
function fullPlanCommand(options: PlanOptions): string {
  const args = ["--base", options.base];
  if (options.head !== undefined) args.push("--head", options.head);
  if (options.stack !== undefined) args.push("--stack", options.stack);
  if (options.dir !== undefined) args.push("--dir", options.dir);
  return ["npx", "connected-accounts", "plan", ...args.map(shellWord)].join(" ");
}

/** A word as a POSIX shell reads it back unchanged. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./~^-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Repository-relative with `/`; a folder outside the repository cannot be read from git. */
function repoRelative(ws: Workspace, dir: string): string {
  const rel = path.relative(ws.repoRoot, dir);
  if (rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) throw new UsageError(`the accounts folder ${dir} is outside the repository ${ws.repoRoot}`, false);
  return rel.split(path.sep).join("/");
}

/**
 * The accounts folder at a revision: --dir as given; with a stack, what that revision's stack file
 * said, so moving the folder and its setting in one change reads as a move, not as releases.
 */
async function accountsDirAt(ws: Workspace, tree: string): Promise<string> {
  if (ws.accountsDirFrom === "--dir" || ws.stack === undefined) return repoRelative(ws, ws.accountsDir);
  const stackFile = path.relative(ws.repoRoot, ws.stack.file).split(path.sep).join("/");
  const setting = accountsDirIn(await readFileAtTree(ws.repoRoot, tree, stackFile));
  return repoRelative(ws, accountsDirPath(ws.projectRoot, setting));
}

/** The stack file at a revision (undefined tree: the working tree), when a stack is named. */
async function stackTextAt(ws: Workspace, tree: string | undefined): Promise<string | undefined> {
  if (!ws.stack) return undefined;
  if (tree === undefined) return ws.stack.text;
  return readFileAtTree(ws.repoRoot, tree, path.relative(ws.repoRoot, ws.stack.file).split(path.sep).join("/"));
}

async function treeOf(ws: Workspace, rev: string, flag: string): Promise<string> {
  const tree = await resolveTree(ws.repoRoot, rev);
  if (!tree) {
    throw new UsageError(`cannot read ${flag} ${rev}: no such revision in this repository (fetch it first; in GitHub Actions check out with fetch-depth: 0)`, false);
  }
  return tree;
}

async function readRev(ws: Workspace, { rev, tree }: { rev: string; tree: string }): Promise<LoadedAccounts> {
  let progress: Progress | undefined;
  const loaded = await loadAccountsAtRev(
    { repoRoot: ws.repoRoot, projectRoot: ws.projectRoot, rev, tree, dir: await accountsDirAt(ws, tree) },
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
