/**
 * A `file:` reference to a file git tracks is a committed secret: anyone who can read the repository
 * (or its history) has it. `validate` refuses such references, whether the account file names the
 * tracked file or a link to it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import { isInside } from "../accounts/validate";
import { trackedPaths } from "../project/git";
import type { Workspace } from "../project/workspace";
import { trackedProblem } from "../references/file";
import { atField } from "../references/resolve";

export async function committedSecretProblems(ws: Workspace, accounts: readonly AccountFile[]): Promise<AccountProblem[]> {
  if (!ws.inGit) return [];
  const refs = accounts.flatMap((account) =>
    Object.entries(account.credentials).flatMap(([key, spec]) => {
      if (spec.kind !== "ref" || !("file" in spec.ref)) return [];
      const target = path.resolve(path.dirname(account.path), spec.ref.file);
      const candidates = [target, realOrUndefined(target)].filter((p): p is string => p !== undefined && isInside(ws.repoRoot, p));
      return [{ account, key, ref: spec.ref.file, paths: [...new Set(candidates.map((p) => toGitPath(ws.repoRoot, p)))] }];
    }),
  );
  const tracked = await trackedPaths(ws.repoRoot, [...new Set(refs.flatMap((r) => r.paths))]);
  return refs.flatMap(({ account, key, ref, paths }) => {
    const committed = paths.find((p) => tracked.has(p));
    if (committed === undefined) return [];
    return [atField(account, key, trackedProblem(ref, committed))];
  });
}

function toGitPath(repoRoot: string, p: string): string {
  return path.relative(repoRoot, p).split(path.sep).join("/");
}

function realOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
