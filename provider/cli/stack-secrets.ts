/**
 * What the stack file shows about secrets, for `validate` and `plan`: this tool's own secrets and
 * every `{ config }` credential must be stack secrets (`secure:`), never plain values. Only with a
 * known stack (--stack or PULUMI_STACK): without one there is no stack file to read.
 */
import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import type { Workspace } from "../project/workspace";
import { configKind } from "../references/config";
import { atField } from "../references/resolve";
import { plainSettingProblems, stackConfigFromText } from "../references/stack-config";

/** `stackText`: the stack file's text (at a revision, for plan --head); undefined: none there. */
export function stackSecretProblems(ws: Workspace, accounts: readonly AccountFile[], stackText: string | undefined): AccountProblem[] {
  if (!ws.stack || stackText === undefined) return [];
  const config = stackConfigFromText(path.relative(ws.cwd, ws.stack.file), stackText);
  const problems = plainSettingProblems(config);
  for (const account of accounts) {
    if (account.manage === "observe") continue;
    for (const [key, spec] of Object.entries(account.credentials)) {
      if (spec.kind !== "ref" || !configKind.written(spec.ref)) continue;
      const check = configKind.check(spec.ref, { stage: "files", account, projectRoot: ws.projectRoot, repoRoot: ws.repoRoot, config });
      problems.push(...check.map((p) => atField(account, key, p)));
    }
  }
  return problems;
}
