/**
 * Child process of measurement 2, the real thing: load and validate every account file
 * (loadAccounts), resolve its references, compute its desired state and plan its PATCH (adoption:
 * nothing recorded yet, so every declared field is planned). argv: <accounts dir> <fleet spec JSON>.
 * Prints one JSON line.
 */
import { loadAccounts } from "../provider/accounts/load";
import { toDesired } from "../provider/plan/desired";
import { planPatch } from "../provider/plan/patch-plan";
import { resolveCredentials } from "../provider/references/resolve";
import { FINGERPRINT_KEY, PROJECT_ROOT, referenceSources } from "./desired-fleet";
import { fleetSecrets, type FleetSpec } from "./fleet";

const [dir, specJson] = process.argv.slice(2);
// The env and config values stand in for the process environment and stack config: not part of the cost.
const sources = referenceSources(fleetSecrets(JSON.parse(specJson) as FleetSpec, "initial"));
const started = performance.now();
const loaded = loadAccounts({ dir, repoRoot: PROJECT_ROOT, displayBase: dir });
let problems = loaded.problems.length;
const plans = loaded.accounts.map((account) => {
  const { resolved, problems: refProblems } = resolveCredentials(account, sources);
  problems += refProblems.length;
  return planPatch(undefined, toDesired(account, resolved, FINGERPRINT_KEY));
});
const elapsedMs = performance.now() - started;
process.stdout.write(JSON.stringify({ elapsedMs, maxRssKb: process.resourceUsage().maxRSS, files: loaded.files, plans: plans.length, problems }) + "\n");
