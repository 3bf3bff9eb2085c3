/**
 * Where the commands work: the project root (the folder of `Pulumi.yaml`, as for the Pulumi
 * program: it anchors the default accounts folder and bounds `file:` references, so a command
 * behaves the same from any folder of the project, also when the project is one folder of a larger
 * repository), the repository root (for git), the stack, and the accounts folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAccounts, type LoadedAccounts } from "../accounts/load";
import { accountsDirPath } from "../settings";
import { startProgress, type Progress } from "../text/progress";
import { findRepoTopLevel } from "./git";
import { readStack, stacksSettingAccountsDir, type StackSettings } from "./stack";
import { UsageError } from "./usage-error";

export interface Workspace {
  /** The working directory: shown paths are relative to it. */
  cwd: string;
  /** The git top-level of `cwd`, or `cwd` itself outside a repository. */
  repoRoot: string;
  /** The nearest folder with a Pulumi.yaml from `cwd` up to `repoRoot`; else `repoRoot`. */
  projectRoot: string;
  inGit: boolean;
  /** The stack named by `--stack` or PULUMI_STACK, when one is. */
  stack?: StackSettings;
  /** Absolute, symbolic links resolved when it exists. */
  accountsDir: string;
  /** What chose the accounts folder, for messages when it is missing. */
  accountsDirFrom: "--dir" | "stack" | "default";
}

export interface WorkspaceOptions {
  /** `--dir` as given, relative to the working directory; it wins over the stack's setting. */
  dir?: string;
  /** `--stack` as given; else PULUMI_STACK from `env`. */
  stack?: string;
  cwd?: string;
  env?: Record<string, string | undefined>;
}

/** The accounts folder: `--dir`, else the stack's `accountsDir` (from the project root), else `accounts`. */
export async function locateWorkspace(opts: WorkspaceOptions = {}): Promise<Workspace> {
  const { dir, stack, cwd = process.cwd(), env = process.env } = opts;
  const realCwd = realOrSelf(cwd);
  const topLevel = await findRepoTopLevel(realCwd);
  const repoRoot = topLevel ? realOrSelf(topLevel) : realCwd;
  const projectRoot = findProjectRoot(realCwd, repoRoot) ?? repoRoot;
  const stackName = stack ?? (env.PULUMI_STACK || undefined);
  const settings = stackName === undefined ? undefined : readStack(projectRoot, stackName, stack !== undefined);
  const [accountsDir, accountsDirFrom]: [string, Workspace["accountsDirFrom"]] =
    dir !== undefined ? [path.resolve(realCwd, dir), "--dir"]
    : settings?.accountsDir !== undefined ? [accountsDirPath(projectRoot, settings.accountsDir), "stack"]
    : [accountsDirPath(projectRoot, undefined), "default"];
  return { cwd: realCwd, repoRoot, projectRoot, inGit: topLevel !== undefined, stack: settings, accountsDir: realOrSelf(accountsDir), accountsDirFrom };
}

/**
 * When no stack is named and the default folder is missing while a stack file moves the accounts
 * elsewhere, the user almost surely wants that stack: a usage error saying so, rather than an
 * empty or wholly released fleet.
 */
export function checkStackHint(ws: Workspace): void {
  if (ws.accountsDirFrom !== "default" || ws.stack !== undefined || fs.existsSync(ws.accountsDir)) return;
  const movers = stacksSettingAccountsDir(ws.projectRoot);
  if (movers.length === 0) return;
  const listed = movers.map((s) => `${shown(ws, s.file)} sets accountsDir: ${s.accountsDir}`).join("; ");
  throw new UsageError(
    `there is no ${shown(ws, ws.accountsDir)} folder, and ${listed}: name the stack with --stack ${movers[0].name} (or PULUMI_STACK=${movers[0].name}), or give the folder with --dir`,
    false,
  );
}

/** The accounts folder must exist (for commands that read it): a usage error naming where it was looked for. */
export function requireAccountsDir(ws: Workspace): void {
  checkStackHint(ws);
  if (fs.existsSync(ws.accountsDir)) return;
  const why = ws.accountsDirFrom === "--dir" ? "given with --dir"
    : ws.accountsDirFrom === "stack" ? `set by accountsDir in ${shown(ws, ws.stack!.file)}`
    : "the default, at the project root";
  throw new UsageError(`the accounts folder ${shown(ws, ws.accountsDir)} (${why}) does not exist: create it, or name the folder holding your account files with --dir or --stack`, false);
}

function shown(ws: Workspace, p: string): string {
  return path.relative(ws.cwd, p) || ".";
}

/** The workspace's account files as they are on disk, with progress under `label` for large folders. */
export function loadWorkspaceAccounts(ws: Workspace, label: string): LoadedAccounts {
  let progress: Progress | undefined;
  const loaded = loadAccounts({
    dir: ws.accountsDir,
    repoRoot: ws.projectRoot,
    displayBase: ws.cwd,
    onFile: (_done, total) => (progress ??= startProgress(label, total)).tick(),
  });
  progress?.done();
  return loaded;
}

/** The nearest folder holding a Pulumi.yaml, from `from` upwards, not above `stopAt` (when given). */
export function findProjectRoot(from: string, stopAt?: string): string | undefined {
  for (let dir = realOrSelf(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (dir === stopAt || path.dirname(dir) === dir) return undefined;
  }
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
