/**
 * Where the commands work: the repository root (bounds `file:` references, anchors the default
 * accounts folder, so a command behaves the same from any folder inside the repository) and the
 * accounts folder.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULTS } from "../settings";
import { findRepoTopLevel } from "./git";

export interface Workspace {
  /** The working directory: shown paths are relative to it. */
  cwd: string;
  /** The git top-level of `cwd`, or `cwd` itself outside a repository. */
  repoRoot: string;
  inGit: boolean;
  /** Absolute, symbolic links resolved when it exists. */
  accountsDir: string;
}

/** `dirFlag`: `--dir` as given, relative to `cwd`; default: `accounts` at the repository root. */
export async function locateWorkspace(dirFlag: string | undefined, cwd = process.cwd()): Promise<Workspace> {
  const realCwd = realOrSelf(cwd);
  const topLevel = await findRepoTopLevel(realCwd);
  const repoRoot = topLevel ? realOrSelf(topLevel) : realCwd;
  const dir = dirFlag === undefined ? path.join(repoRoot, DEFAULTS.accountsDir) : path.resolve(realCwd, dirFlag);
  return { cwd: realCwd, repoRoot, inGit: topLevel !== undefined, accountsDir: realOrSelf(dir) };
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
