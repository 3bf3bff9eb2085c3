/**
 * `file:` targets that are not on this machine. Secret files are git-ignored, so a fresh checkout
 * (a reviewer's, a CI runner's before its write step) has none: for `validate` that is a warning,
 * not an error. When a workflow writes the file before pulumi runs (`printf … > secrets/x.pem`, the
 * way the shipped workflows do), the warning says so; otherwise it says who must provide it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import { fileTarget } from "../references/file";

/** A workflow file larger than this is not read (a workflow is a few KiB). */
const MAX_WORKFLOW_BYTES = 1024 * 1024;

/** One warning per `file:` reference whose target does not exist, at the reference's line. */
export function missingSecretFiles(accounts: readonly AccountFile[], repoRoot: string): AccountProblem[] {
  const writers = workflowTexts(repoRoot);
  const warnings: AccountProblem[] = [];
  for (const account of accounts) {
    // Observed accounts never read their credentials.
    if (account.manage === "observe") continue;
    for (const [key, spec] of Object.entries(account.credentials)) {
      if (spec.kind !== "ref" || !("file" in spec.ref)) continue;
      const target = fileTarget(account, spec.ref.file);
      if (exists(target)) continue;
      const repoPath = path.relative(repoRoot, target).split(path.sep).join("/");
      const writer = writers.find((w) => writes(w.text, repoPath));
      const field = ["credentials", key, "file"];
      warnings.push({
        file: account.file,
        ...account.locate(field),
        field: field.join("."),
        message: `file ${spec.ref.file} does not exist here (${repoPath})${writer ? `; CI writes it before pulumi runs (${writer.file})` : ""}`,
        fix: writer
          ? `nothing to change for CI; to preview on this machine, write ${repoPath} here (it stays git-ignored)`
          : `provide ${repoPath} wherever pulumi runs (git-ignored), e.g. a workflow step that writes it from a repository secret before pulumi`,
      });
    }
  }
  return warnings;
}

function exists(target: string): boolean {
  try {
    fs.lstatSync(target);
    return true;
  } catch {
    return false;
  }
}

/** Whether a workflow redirects output into `repoPath` (`> secrets/x.pem`, quoted or `./`-prefixed). */
function writes(workflow: string, repoPath: string): boolean {
  const escaped = repoPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`>\\s*["']?(?:\\./)?${escaped}(?=["'\\s;|&)]|$)`, "m").test(workflow);
}

/** The repository's GitHub Actions workflows, as text (none when there are none). */
function workflowTexts(repoRoot: string): { file: string; text: string }[] {
  const dir = path.join(repoRoot, ".github", "workflows");
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch {
    return [];
  }
  const out: { file: string; text: string }[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    try {
      const stat = fs.lstatSync(full);
      if (!stat.isFile() || stat.size > MAX_WORKFLOW_BYTES) continue;
      out.push({ file: `.github/workflows/${name}`, text: fs.readFileSync(full, "utf8") });
    } catch {
      // An unreadable workflow writes nothing we can see.
    }
  }
  return out;
}
