/**
 * The CI wiring file (`.github/connected-accounts-ci.yml`): which CI secret holds each `{ env: NAME }`
 * reference, and which one is written to each `{ file: path }` reference. Every workflow that runs
 * Pulumi reads it through `.github/actions/account-secrets`, so a new reference is one line here.
 * Pure: text in, entries and problems (with lines) out; `check-env` and the action's script share it.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Node } from "yaml";
import type { AccountProblem } from "../accounts/problem";
import { matchesNamePattern, REFUSED_REFERENCES } from "../settings";

export const CI_WIRING_FILE = ".github/connected-accounts-ci.yml";
/** The local action that reads the wiring file; a workflow's Pulumi step must come after it. */
export const ACCOUNT_SECRETS_ACTION = "./.github/actions/account-secrets";
/** Far more than any fleet's references; a larger file is not a wiring file. */
export const MAX_WIRING_BYTES = 256 * 1024;

/** A GitHub secret name (GitHub's own rule: letters, digits, underscores, not starting with a digit). */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * Names that would change how the runner's later steps behave (the loader, node, the shell, git),
 * on top of the references no account file may make: the action writes these to $GITHUB_ENV.
 */
const RUNNER_ENV = ["PATH", "HOME", "NODE_*", "NPM_CONFIG_*", "LD_*", "DYLD_*", "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "IFS", "GIT_*", "GITHUB_*", "CI", "TMPDIR"];

export interface WiringEntry {
  /** The CI secret (repository or environment secret) holding the value. */
  secret: string;
  line: number;
}

export interface CiWiring {
  /** The file as shown to users (relative to where the command runs). */
  file: string;
  /** `{ env: NAME }` reference → its secret. */
  env: Map<string, WiringEntry>;
  /** `{ file: path }` reference, relative to the repository root → its secret. */
  files: Map<string, WiringEntry>;
}

export function parseCiWiring(text: string, file: string): { wiring: CiWiring; problems: AccountProblem[] } {
  const wiring: CiWiring = { file, env: new Map(), files: new Map() };
  const problems: AccountProblem[] = [];
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (node: Node | null | undefined) => lines.linePos(node?.range?.[0] ?? 0);
  const problem = (node: Node | null | undefined, field: string, message: string, fix: string) => {
    const { line, col } = at(node);
    problems.push({ file, line, column: col, field, message, fix });
  };
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const [line, column] = e.linePos?.[0] ? [e.linePos[0].line, e.linePos[0].col] : [1, 1];
    problems.push({ file, line, column, field: "", message: `not valid YAML: ${e.message.split("\n")[0]}`, fix: "correct the YAML syntax" });
    return { wiring, problems };
  }
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { wiring, problems };
  if (!isMap(root)) {
    problem(root, "", "must be a mapping with env: and files:", "see the comments at the top of the file for its shape");
    return { wiring, problems };
  }
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (key !== "env" && key !== "files") {
      problem(pair.key as Node, key, `unknown key "${key}"`, "only env: and files: belong here");
      continue;
    }
    const section = pair.value as Node | null;
    if (section === null || (isScalar(section) && section.value === null)) continue;
    if (!isMap(section)) {
      problem(section, key, `${key} must be a mapping (one "name: SECRET" line per reference)`, `write one line per reference under ${key}:`);
      continue;
    }
    for (const item of section.items) {
      const name = isScalar(item.key) ? String(item.key.value) : "";
      const value = isScalar(item.value) && typeof item.value.value === "string" ? item.value.value : undefined;
      const field = `${key}.${name}`;
      const { line } = at(item.key as Node);
      if (value === undefined || !SECRET_NAME.test(value)) {
        problem((item.value ?? item.key) as Node, field, `must name a CI secret (letters, digits and underscores), not ${JSON.stringify(value ?? null)}`, `write ${name}: SECRET_NAME`);
        continue;
      }
      if (key === "env") {
        if (!ENV_NAME.test(name)) problem(item.key as Node, field, `${JSON.stringify(name)} is not an environment variable name`, "use letters, digits and underscores");
        else if (matchesNamePattern(name, [...REFUSED_REFERENCES.env, ...RUNNER_ENV])) problem(item.key as Node, field, `${name} is a variable CI or the runner relies on, so it is never set from a secret here`, "reference a variable of your own naming in the account file");
        else wiring.env.set(name, { secret: value, line });
      } else {
        const problemText = unsafeFilePath(name);
        if (problemText) problem(item.key as Node, field, `${JSON.stringify(name)} ${problemText}`, "give the file's path from the repository root, e.g. secrets/github-app.pem");
        else wiring.files.set(name, { secret: value, line });
      }
    }
  }
  return { wiring, problems };
}

/** Why a `files:` path cannot be written by the action, or undefined when it can. */
export function unsafeFilePath(p: string): string | undefined {
  if (p === "" || p.includes("\0")) return "is not a path";
  if (p.startsWith("/") || /^[A-Za-z]:/.test(p) || p.includes("\\")) return "must be relative to the repository root, with forward slashes";
  const parts = p.split("/");
  if (parts.some((s) => s === ".." || s === "." || s === "")) return "must stay inside the repository (no \"..\", \".\" or empty parts)";
  if (parts[0] === ".git" || parts[0] === ".github") return "must not point into .git or .github";
  return undefined;
}

/** The line to add for an `{ env }` reference the file does not map: the secret of the same name. */
export function envLineToAdd(name: string): string {
  return `  ${name}: ${name}`;
}

/** The line to add for a `{ file }` reference: a secret named after the file (secrets/github-app.pem → GITHUB_APP_PEM). */
export function fileLineToAdd(repoPath: string): string {
  const base = repoPath.split("/").at(-1)!.toUpperCase().replace(/[^A-Z0-9]+/g, "_").replace(/^_+|_+$/g, "");
  return `  ${repoPath}: ${/^[0-9]/.test(base) || base === "" ? `FILE_${base}` : base}`;
}
