/**
 * A problem with the desired state, found before anything is sent: always names the file, the line,
 * the field, what is wrong and how to fix it. One place renders it for people and machines.
 */
import { terminalSafe } from "../text/terminal-text";

export interface AccountProblem {
  /** Path of the account file, relative to the working directory. */
  file: string;
  line: number;
  column: number;
  /** Dotted path of the field in the file, e.g. `credentials.api_key`; "" for the whole file. */
  field: string;
  message: string;
  fix: string;
  /** The line of the file the problem is at, and a caret under its column (YAML syntax errors). */
  excerpt?: string[];
}

export function formatProblem(p: AccountProblem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  const field = p.field ? ` ${p.field}:` : "";
  const excerpt = (p.excerpt ?? []).map((line) => `\n    ${line}`).join("");
  return `${where}${field} ${p.message}${excerpt}\n    fix: ${p.fix}`;
}

/** Thrown by the Pulumi program when the accounts cannot be registered; nothing remote has been touched. */
export class AccountProblemsError extends Error {
  /** `render`: how each problem is told (a terminal's renderer escapes what the files control). */
  constructor(readonly problems: AccountProblem[], render: (p: AccountProblem) => string = formatProblem) {
    super(
      `${problems.length} problem${problems.length === 1 ? "" : "s"} in the account files; nothing was sent to Composio.\n` +
        problems.map(render).join("\n"),
    );
    this.name = "AccountProblemsError";
  }
}

/** Problems in file order, each once (the loader and reference resolution may find the same one). */
export function sortProblems(problems: AccountProblem[]): AccountProblem[] {
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const key = JSON.stringify([p.file, p.line, p.column, p.field, p.message]);
    return !seen.has(key) && seen.add(key) !== undefined;
  });
  return unique.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/** One problem for a terminal: what the files control is escaped, so it cannot forge other lines. */
export function formatProblemText(p: AccountProblem): string {
  return formatProblem({ ...p, file: terminalSafe(p.file), field: terminalSafe(p.field), message: terminalSafe(p.message), fix: terminalSafe(p.fix) });
}
