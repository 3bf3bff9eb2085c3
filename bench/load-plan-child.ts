/**
 * Child process of measurement 2, the real thing: load and validate every account file
 * (loadAccounts), check its references, register it, read its values as the provider does, and plan
 * its PATCH (adoption: nothing recorded yet, so every declared field is planned).
 * argv: <accounts dir> <fleet spec JSON>. Prints one JSON line.
 */
import { loadAccounts } from "../provider/accounts/load";
import { toRegistered } from "../provider/plan/desired";
import { fingerprintAll } from "../provider/plan/fingerprint";
import { planPatch } from "../provider/plan/patch-plan";
import { checkReferences, processMemo, readCredentials } from "../provider/references/resolve";
import { CONFIG_NAMESPACE } from "../provider/settings";
import { FINGERPRINT_KEY, PROJECT_ROOT } from "./desired-fleet";
import { fleetSecrets, type FleetSpec } from "./fleet";

const [dir, specJson] = process.argv.slice(2);
// The env and config values stand in for the process environment and stack config: not part of the cost.
const secrets = fleetSecrets(JSON.parse(specJson) as FleetSpec, "initial");
const readContext = {
  projectRoot: PROJECT_ROOT,
  env: secrets.env,
  config: (key: string) => secrets.config[key.slice(CONFIG_NAMESPACE.length + 1)],
  once: processMemo(),
};
void (async () => {
  const started = performance.now();
  const loaded = loadAccounts({ dir, repoRoot: PROJECT_ROOT, displayBase: dir });
  let problems = loaded.problems.length;
  const plans = await Promise.all(loaded.accounts.map(async (account) => {
    problems += checkReferences(account, { stage: "deploy", projectRoot: PROJECT_ROOT, repoRoot: PROJECT_ROOT, env: secrets.env }).length;
    const registered = toRegistered(account, PROJECT_ROOT);
    const read = await readCredentials(registered.credentials, readContext);
    problems += read.problems.length;
    return planPatch(undefined, { ...registered, fingerprints: fingerprintAll(FINGERPRINT_KEY, read.values) }, read.values);
  }));
  const elapsedMs = performance.now() - started;
  process.stdout.write(JSON.stringify({ elapsedMs, maxRssKb: process.resourceUsage().maxRSS, files: loaded.files, plans: plans.length, problems }) + "\n");
})();
