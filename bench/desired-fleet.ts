/**
 * Desired state from account files, the way the Pulumi program computes it (load → resolve → toDesired),
 * with the fleet's env and config values injected instead of read from the process.
 */
import * as path from "node:path";
import { loadAccounts } from "../provider/accounts/load";
import { formatProblem, type AccountProblem } from "../provider/accounts/problem";
import type { DesiredAccount } from "../provider/plan/account-state";
import { toDesired } from "../provider/plan/desired";
import { resolveCredentials, type ReferenceSources } from "../provider/references/resolve";
import type { FleetSecrets } from "./fleet";

/** The repository root: `file:` references must resolve inside it (dist/bench/ → ../..). */
export const PROJECT_ROOT = path.resolve(__dirname, "../..");
export const FINGERPRINT_KEY = "bench-fingerprint-key-3Rk8-51c0e9a24d7f86b3";

export function referenceSources(secrets: FleetSecrets): ReferenceSources {
  return {
    env: secrets.env,
    config: (key) => secrets.config[key],
    repoRoot: PROJECT_ROOT,
  };
}

/** Every account's desired state; a problem in the generated files is a bug in the generator, so it throws. */
export function loadDesired(accountsDir: string, secrets: FleetSecrets): DesiredAccount[] {
  const loaded = loadAccounts({ dir: accountsDir, repoRoot: PROJECT_ROOT, displayBase: accountsDir });
  const problems: AccountProblem[] = [...loaded.problems];
  const sources = referenceSources(secrets);
  const desired = loaded.accounts.map((account) => {
    const { resolved, problems: refProblems } = resolveCredentials(account, sources);
    problems.push(...refProblems);
    return toDesired(account, resolved, FINGERPRINT_KEY);
  });
  if (problems.length > 0) throw new Error(`generated fleet is invalid:\n${problems.slice(0, 5).map(formatProblem).join("\n")}`);
  return desired;
}
