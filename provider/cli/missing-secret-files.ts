/**
 * `file:` targets that are not on this machine. Secret files are git-ignored, so a fresh checkout
 * (a reviewer's, a CI runner's before its write step) has none: for `validate` that is a warning,
 * not an error. When the CI wiring file (.github/connected-accounts-ci.yml) maps the path to a
 * secret, CI writes it before Pulumi runs and the warning says so; otherwise it says who must
 * provide it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import { kindOfWritten } from "../references/kinds";
import { CI_WIRING_FILE, fileLineToAdd, MAX_WIRING_BYTES, parseCiWiring, type CiWiring } from "./ci-wiring";

/** One warning per `file:` reference whose target does not exist, at the reference's line. */
export function missingSecretFiles(accounts: readonly AccountFile[], repoRoot: string): AccountProblem[] {
  const wiring = readWiring(repoRoot);
  const warnings: AccountProblem[] = [];
  for (const account of accounts) {
    // Observed accounts never read their credentials.
    if (account.manage === "observe") continue;
    for (const [key, spec] of Object.entries(account.credentials)) {
      if (spec.kind !== "ref") continue;
      const kind = kindOfWritten(spec.ref);
      // Only targets that stay off git are provided per machine; a committed one (SOPS) is in the checkout.
      const target = kind.commit === "refused" ? kind.target(spec.ref, account) : undefined;
      if (target === undefined || exists(target)) continue;
      const repoPath = path.relative(repoRoot, target).split(path.sep).join("/");
      const mapped = wiring?.files.get(repoPath);
      const field = ["credentials", key, ...Object.keys(spec.ref).slice(0, 1)];
      const written = kind.describe(spec.ref).replace(/^file /, "");
      warnings.push({
        file: account.file,
        ...account.locate(field),
        field: field.join("."),
        message: `file ${written} does not exist here (${repoPath})${mapped ? `; CI writes it before pulumi runs (${CI_WIRING_FILE}:${mapped.line}, secret ${mapped.secret})` : ""}`,
        fix: mapped
          ? `nothing to change for CI; to preview on this machine, write ${repoPath} here (it stays git-ignored)`
          : `provide ${repoPath} wherever pulumi runs (git-ignored); for CI add ${JSON.stringify(fileLineToAdd(repoPath).trim())} under files: in ${CI_WIRING_FILE}`,
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

/** The CI wiring file, when it is a regular file of sane size that parses; otherwise none (check-env reports its problems). */
function readWiring(repoRoot: string): CiWiring | undefined {
  const full = path.join(repoRoot, CI_WIRING_FILE);
  try {
    const stat = fs.lstatSync(full);
    if (!stat.isFile() || stat.size > MAX_WIRING_BYTES) return undefined;
    const parsed = parseCiWiring(fs.readFileSync(full, "utf8"), CI_WIRING_FILE);
    return parsed.problems.length === 0 ? parsed.wiring : undefined;
  } catch {
    return undefined;
  }
}
