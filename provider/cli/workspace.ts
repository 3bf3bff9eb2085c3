/**
 * Where the commands work: the project root (the folder of `Pulumi.yaml`, as for the Pulumi
 * program: it anchors the default accounts folder and bounds `file:` references, so a command
 * behaves the same from any folder of the project, also when the project is one folder of a larger
 * repository), the repository root (for git), and the accounts folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAccounts, type LoadedAccounts } from "../accounts/load";
import { DEFAULTS } from "../settings";
import { findRepoTopLevel } from "./git";
import { startProgress, type Progress } from "./progress";

export interface Workspace {
  /** The working directory: shown paths are relative to it. */
  cwd: string;
  /** The git top-level of `cwd`, or `cwd` itself outside a repository. */
  repoRoot: string;
  /** The nearest folder with a Pulumi.yaml from `cwd` up to `repoRoot`; else `repoRoot`. */
  projectRoot: string;
  inGit: boolean;
  /** Absolute, symbolic links resolved when it exists. */
  accountsDir: string;
}

/** `dirFlag`: `--dir` as given, relative to `cwd`; default: `accounts` at the project root. */
export async function locateWorkspace(dirFlag: string | undefined, cwd = process.cwd()): Promise<Workspace> {
  const realCwd = realOrSelf(cwd);
  const topLevel = await findRepoTopLevel(realCwd);
  const repoRoot = topLevel ? realOrSelf(topLevel) : realCwd;
  const projectRoot = findProjectRoot(realCwd, repoRoot) ?? repoRoot;
  const dir = dirFlag === undefined ? path.join(projectRoot, DEFAULTS.accountsDir) : path.resolve(realCwd, dirFlag);
  return { cwd: realCwd, repoRoot, projectRoot, inGit: topLevel !== undefined, accountsDir: realOrSelf(dir) };
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
