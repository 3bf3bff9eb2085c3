/**
 * What the stack file shows, for `validate` and `plan`: every setting the program refuses
 * (readSettings: ranges, and this tool's own secrets as stack secrets), and every `{ config }`
 * credential as a stack secret (`secure:`), never a plain value. Only with a known stack
 * (--stack or PULUMI_STACK): without one there is no stack file to read.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import type { Workspace } from "../project/workspace";
import { configKind } from "../references/config";
import { atField } from "../references/resolve";
import { stackConfigFromText } from "../references/stack-config";
import { readSettings } from "../settings";
import { UsageError } from "./flags";
import { formatProblemText } from "./format-problems";

/** Problems of the named stack's settings (none without a stack file): what `pulumi preview` on it refuses. */
export function stackSettingProblems(ws: Workspace): AccountProblem[] {
  if (!ws.stack || !fs.existsSync(ws.stack.file)) return [];
  return readSettings(stackConfigFromText(path.relative(ws.cwd, ws.stack.file), fs.readFileSync(ws.stack.file, "utf8")), {}).problems;
}

/** For commands without a list of problems (import, sandbox): the named stack's bad settings as a usage error. */
export function refuseBadStackSettings(ws: Workspace): void {
  const problems = stackSettingProblems(ws);
  if (problems.length > 0) throw new UsageError(`the stack's settings cannot be used:\n${problems.map(formatProblemText).join("\n")}`, false);
}

/** `stackText`: the stack file's text (at a revision, for plan --head); undefined: none there. */
export function stackSecretProblems(ws: Workspace, accounts: readonly AccountFile[], stackText: string | undefined): AccountProblem[] {
  if (!ws.stack || stackText === undefined) return [];
  const config = stackConfigFromText(path.relative(ws.cwd, ws.stack.file), stackText);
  // The environment is not the program's here: only the stack file's own settings are judged.
  const problems: AccountProblem[] = readSettings(config, {}).problems;
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
