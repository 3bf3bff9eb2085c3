/**
 * A credential the provider could not read, told the way the program tells a reference problem:
 * file:line:col, field, what is wrong, the fix. The account file is parsed again for the position,
 * only when something failed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import { parseAccountText, type Position } from "../accounts/parse";
import { terminalSafe } from "../text/terminal-text";
import type { RegisteredAccount } from "../plan/account-state";
import type { ReadCredentials } from "../references/resolve";

type ReadProblems = ReadCredentials["problems"];

/** One CheckFailure per field: Pulumi prints each as a clean per-resource error, no stack trace. */
export function credentialFailures(account: RegisteredAccount, problems: ReadProblems, projectRoot: string): pulumi.dynamic.CheckFailure[] {
  // Every Check asks; parsing the file for nothing was most of a Check's own time.
  if (problems.length === 0) return [];
  const locate = locator(account, projectRoot);
  return problems.map(({ field, problem }) => {
    const at = ["credentials", field, ...(problem.at ?? [])];
    // Escaped: the file's name, its keys and what a SOPS file says (recipients) reach a terminal and a PR comment.
    return { property: `credentials.${field}`, reason: terminalSafe(`${where(account, locate(at))} ${at.join(".")}: ${problem.message}; nothing is sent for this account. fix: ${problem.fix}`) };
  });
}

/** The same, as the one message of an error thrown by Create or Update (nothing sent). */
export function readFailureMessage(account: RegisteredAccount, problems: ReadProblems, projectRoot: string): string {
  return `connected account ${account.nanoid}: nothing was sent, a credential could not be read:\n` +
    credentialFailures(account, problems, projectRoot).map((f) => `  ${f.reason}`).join("\n");
}

function where(account: RegisteredAccount, pos: Position | undefined): string {
  const file = account.accountFile ?? `connected account ${account.nanoid}`;
  return pos ? `${file}:${pos.line}:${pos.column}` : file;
}

function locator(account: RegisteredAccount, projectRoot: string): (field: string[]) => Position | undefined {
  if (!account.accountFile) return () => undefined;
  let parsed: ReturnType<typeof parseAccountText>["parsed"];
  try {
    const file = path.resolve(projectRoot, account.accountFile);
    parsed = parseAccountText(account.accountFile, file, fs.readFileSync(file, "utf8")).parsed;
  } catch {
    parsed = undefined;
  }
  return (field) => parsed?.locate(field);
}
