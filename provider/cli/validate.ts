/**
 * `connected-accounts validate`: every check that needs no network and no secret (schema, literal
 * secrets, duplicate ids, alias uniqueness, well-formed references, `file:` references inside the
 * repository, `sops:` references to a key that is in the SOPS file, read without decrypting it);
 * a `file:` target missing here is a warning.
 * Exit 0 when valid, 1 on any problem, 2 on a usage error or a missing accounts folder.
 */
import * as path from "node:path";
import { sortProblems } from "../accounts/problem";
import { configSizeWarning } from "../project/stack";
import { loadWorkspaceAccounts, locateWorkspace, requireAccountsDir } from "../project/workspace";
import { committedSecretProblems } from "./committed-secrets";
import { parseFlags, parseFormat, printHelp, withUsage } from "./flags";
import { formatProblemsText, formatProblemText, problemsToJson } from "./format-problems";
import { missingSecretFiles } from "./missing-secret-files";
import { stackSecretProblems } from "./stack-secrets";

const USAGE = `usage: connected-accounts validate [--stack <name>] [--dir <folder>] [--format text|json]

Checks every account file without network access or secrets (SOPS files are read as stored: their
keys are in clear, nothing is decrypted).

  --stack   read accountsDir from the stack's settings file (default: PULUMI_STACK, if set), and
            warn when its config nears the 128 KiB Pulumi can pass to the program
  --dir     accounts folder, relative to the working directory (default: the stack's accountsDir,
            else accounts/ at the project root)
  --format  text (default) or json: {"ok", "files", "errors": [{"file", "line", "column", "field", "message", "fix"}]},
            and "warnings" in the same shape when there are any

A { file: path } whose file is not here is a warning, not an error (secret files are git-ignored);
it says so when a workflow under .github/workflows writes the file before pulumi runs.

Exit code: 0 valid, 1 problems found, 2 usage error or no accounts folder.`;

const FORMATS = ["text", "json"] as const;

export function run(argv: string[]): Promise<number> {
  return withUsage("validate", USAGE, async () => {
    const { values, help } = parseFlags(argv, ["stack", "dir", "format"]);
    if (help) return printHelp(USAGE);
    const format = parseFormat(values.format, FORMATS, "text");
    const ws = await locateWorkspace({ dir: values.dir, stack: values.stack });
    requireAccountsDir(ws);
    const sizeWarning = ws.stack && configSizeWarning(ws.stack.text, path.relative(ws.cwd, ws.stack.file) || ws.stack.file);
    if (sizeWarning) process.stderr.write(`warning: ${sizeWarning}\n`);
    const loaded = loadWorkspaceAccounts(ws, "checking account files");
    const stackText = ws.stack?.text;
    loaded.problems = sortProblems([...loaded.problems, ...(await committedSecretProblems(ws, loaded.accounts)), ...stackSecretProblems(ws, loaded.accounts, stackText)]);
    // Warnings do not fail the run: a secret file is git-ignored, so a fresh checkout has none.
    const warnings = missingSecretFiles(loaded.accounts, ws.repoRoot);
    if (format === "json") {
      const json = problemsToJson(loaded.problems, loaded.files);
      process.stdout.write(`${JSON.stringify(warnings.length > 0 ? { ...json, warnings: problemsToJson(warnings, loaded.files).errors } : json, null, 2)}\n`);
    } else {
      for (const w of warnings) process.stderr.write(`warning: ${formatProblemText(w)}\n`);
      process.stdout.write(formatProblemsText(loaded.problems, loaded.files));
    }
    return loaded.problems.length === 0 ? 0 : 1;
  });
}
