/**
 * `connected-accounts validate`: every check that needs no network and no secret (schema, literal
 * secrets, duplicate ids, alias uniqueness, well-formed references, `file:` references inside the
 * repository). Exit 0 when valid, 1 on any problem, 2 on a usage error.
 */
import { sortProblems } from "../accounts/problem";
import { committedSecretProblems } from "./committed-secrets";
import { parseFlags, parseFormat, UsageError } from "./flags";
import { formatProblemsText, problemsToJson } from "./format-problems";
import { loadWorkspaceAccounts, locateWorkspace } from "./workspace";

const USAGE = `usage: connected-accounts validate [--dir <folder>] [--format text|json]

Checks every account file without network access or secrets.

  --dir     accounts folder (default: accounts/ at the repository root; relative to the working directory)
  --format  text (default) or json: {"ok", "files", "errors": [{"file", "line", "column", "field", "message", "fix"}]}

Exit code: 0 valid, 1 problems found, 2 usage error.`;

const FORMATS = ["text", "json"] as const;

interface ValidateOptions {
  dir?: string;
  format: (typeof FORMATS)[number];
}

function parseOptions(argv: string[]): ValidateOptions | "help" {
  const { values, help } = parseFlags(argv, ["dir", "format"]);
  if (help) return "help";
  return { dir: values.dir, format: parseFormat(values.format, FORMATS, "text") };
}

export async function run(argv: string[]): Promise<number> {
  let options: ValidateOptions | "help";
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const ws = await locateWorkspace(options.dir);
  const loaded = loadWorkspaceAccounts(ws, "checking account files");
  loaded.problems = sortProblems([...loaded.problems, ...(await committedSecretProblems(ws, loaded.accounts))]);
  process.stdout.write(
    options.format === "json"
      ? `${JSON.stringify(problemsToJson(loaded.problems, loaded.files), null, 2)}\n`
      : formatProblemsText(loaded.problems, loaded.files),
  );
  return loaded.problems.length === 0 ? 0 : 1;
}
