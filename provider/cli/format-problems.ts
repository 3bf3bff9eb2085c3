/**
 * Renders the result of checking account files: each problem through `formatProblem` plus a summary
 * line for people, or one JSON document for machines.
 */
import { formatProblemText, type AccountProblem } from "../accounts/problem";

export { formatProblemText };

export interface ProblemsJson {
  ok: boolean;
  files: number;
  errors: { file: string; line: number; column: number; field: string; message: string; fix: string }[];
}

export function problemsToJson(problems: readonly AccountProblem[], files: number): ProblemsJson {
  return {
    ok: problems.length === 0,
    files,
    errors: problems.map(({ file, line, column, field, message, fix }) => ({ file, line, column, field, message, fix })),
  };
}

/** `3 account files valid` or `2 errors in 7 files`. */
export function problemsSummary(problems: readonly AccountProblem[], files: number): string {
  if (problems.length === 0) return `${files} account ${plural(files, "file")} valid`;
  return `${problems.length} ${plural(problems.length, "error")} in ${files} ${plural(files, "file")}`;
}

export function formatProblemsText(problems: readonly AccountProblem[], files: number): string {
  return [...problems.map(formatProblemText), problemsSummary(problems, files)].join("\n") + "\n";
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
