/**
 * The fleet's accounts as the Pulumi program registers them (load → check references → register):
 * references only. The values are the fleet's env and config secrets, which a provider under test
 * is given as its environment and stack config (see provider-driver.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { loadAccounts } from "../provider/accounts/load";
import { formatProblem, type AccountProblem } from "../provider/accounts/problem";
import type { RegisteredAccount } from "../provider/plan/account-state";
import { toRegistered } from "../provider/plan/desired";
import { checkReferences } from "../provider/references/resolve";
import type { FleetSecrets } from "./fleet";

/** The repository root: `file:` references must resolve inside it (dist/bench/ → ../..; bench/, as the tests import it → ..). */
const ABOVE = path.resolve(__dirname, "..");
export const PROJECT_ROOT = fs.existsSync(path.join(ABOVE, "Pulumi.yaml")) ? ABOVE : path.dirname(ABOVE);
export const FINGERPRINT_KEY = "bench-fingerprint-key-3Rk8-51c0e9a24d7f86b3";

/** Every account as registered; a problem in the generated files is a bug in the generator, so it throws. */
export function loadDesired(accountsDir: string, secrets: FleetSecrets): RegisteredAccount[] {
  const loaded = loadAccounts({ dir: accountsDir, repoRoot: PROJECT_ROOT, displayBase: accountsDir });
  const problems: AccountProblem[] = [...loaded.problems];
  const registered = loaded.accounts.map((account) => {
    problems.push(...checkReferences(account, { stage: "deploy", projectRoot: PROJECT_ROOT, repoRoot: PROJECT_ROOT, env: secrets.env }));
    return toRegistered(account, PROJECT_ROOT);
  });
  if (problems.length > 0) throw new Error(`generated fleet is invalid:\n${problems.slice(0, 5).map(formatProblem).join("\n")}`);
  return registered;
}
