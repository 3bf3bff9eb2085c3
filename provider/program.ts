/**
 * The Pulumi program (Pulumi.yaml `main`): load the account files, resolve their references, and
 * register one ConnectedAccount per file. Any problem stops the program before a resource is
 * registered, so nothing is sent to Composio.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { loadAccounts } from "./accounts/load";
import { AccountProblemsError, sortProblems, type AccountProblem } from "./accounts/problem";
import { findProjectRoot } from "./cli/workspace";
import { toDesired } from "./plan/desired";
import { fingerprintKeyProblem } from "./plan/fingerprint";
import { summarizeFleet } from "./plan/fleet-summary";
import type { DesiredAccount } from "./plan/account-state";
import { staleBuild } from "./pulumi/build-stamp";
import { ConnectedAccount } from "./pulumi/connected-account";
import { PROGRESS_INTERVAL_MS, PROGRESS_MIN_OPERATIONS } from "./pulumi/fleet-progress";
import { resolveCredentials } from "./references/resolve";
import { allowedEnvPatterns, CONFIG_NAMESPACE, DEFAULTS, MIN_FINGERPRINT_KEY_LENGTH } from "./settings";

// The engine runs the program in the folder of `main` (provider/), not the project root: the root
// is where Pulumi.yaml is, which the engine passes on (older CLIs do not: then look for it).
const projectRoot = pulumi.runtime.getRootDirectory() || findProjectRoot(process.cwd()) || process.cwd();
// The provider process runs the compiled provider (dist/): refuse to deploy with one built from other sources.
const staleProvider = staleBuild(projectRoot);
if (staleProvider) throw new pulumi.RunError(staleProvider);

// Parsed once: the SDK parses the whole stack config on every lookup, and a fleet looks up one key per reference.
const stackConfig = pulumi.runtime.allConfig();
const config = (key: string): string | undefined => stackConfig[`${CONFIG_NAMESPACE}:${key}`];
const accountsDir = path.resolve(projectRoot, config("accountsDir") || DEFAULTS.accountsDir);

const loadStarted = performance.now();
const loaded = loadAccounts({ dir: accountsDir, repoRoot: projectRoot, displayBase: projectRoot });
const problems: AccountProblem[] = [...loaded.problems];
const desired: DesiredAccount[] = [];
const fingerprintKey = config("fingerprintKey");
const allowedEnv = allowedEnvPatterns(pulumi.runtime.getConfig);
for (const account of loaded.accounts) {
  if (account.manage === "observe") {
    // Observed accounts are only read: their credentials are never resolved or sent.
    desired.push(toDesired(account, { values: {}, removed: [] }, ""));
    continue;
  }
  const { resolved, problems: refProblems } = resolveCredentials(account, {
    env: process.env,
    config,
    repoRoot: projectRoot,
    allowedEnv,
  });
  if (account.paused && refProblems.length > 0) {
    // Pausing is how a team freezes an account during an incident, often one where a secret is
    // missing: a paused account's references may fail without blocking anything.
    pulumi.log.warn(`${account.file}: ${account.id} is paused; its references are not resolved until it is unpaused`);
    desired.push(toDesired(account, { values: {}, removed: [] }, ""));
    continue;
  }
  problems.push(...refProblems);
  desired.push(toDesired(account, resolved, fingerprintKey ?? ""));
}

const needsKey = loaded.accounts.find((a) => a.manage !== "observe" && !a.paused && Object.values(a.credentials).some((c) => c.kind !== "remove"));
const weakKey = fingerprintKey && fingerprintKeyProblem(fingerprintKey, isStackSecret(`${CONFIG_NAMESPACE}:fingerprintKey`), MIN_FINGERPRINT_KEY_LENGTH);
if (needsKey && (!fingerprintKey || weakKey)) {
  problems.push({
    file: needsKey.file, ...needsKey.locate(["credentials"]), field: "credentials",
    message: `stack config ${CONFIG_NAMESPACE}:fingerprintKey ${weakKey || "is not set"}; it keys the fingerprints that show reviewers which secret changed`,
    fix: `pulumi config set --secret ${CONFIG_NAMESPACE}:fingerprintKey "$(openssl rand -hex 32)"`,
  });
}

/**
 * Whether the language host passed `key` as a secret (it lists them in PULUMI_CONFIG_SECRET_KEYS;
 * the SDK reads that list through a function it marks internal, so the list is read here directly).
 */
function isStackSecret(key: string): boolean {
  try {
    const keys: unknown = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
    return Array.isArray(keys) && keys.includes(key);
  } catch {
    return false;
  }
}

/**
 * Runs `register` without the stack trace the SDK records on each promise it makes (four per
 * property of every resource). They serve only PULUMI_DEBUG_PROMISE_LEAKS reports (kept when it is
 * set); formatting them, through source maps, was most of the program's time at a thousand accounts.
 * The resource's own source position is unaffected: the SDK captures it with a limit of its own.
 */
function withoutPromiseStacks<T>(register: () => T): T {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return register();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return register();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

if (problems.length > 0) {
  // RunError: Pulumi prints the message (every problem, with file, line and fix) without a stack trace.
  throw new pulumi.RunError(new AccountProblemsError(sortProblems(problems)).message);
}

if (desired.length >= PROGRESS_MIN_OPERATIONS) {
  // The display stays silent for unchanged accounts: say what is going on, once.
  const seconds = ((performance.now() - loadStarted) / 1000).toFixed(1);
  pulumi.log.info(`connected-accounts: ${desired.length.toLocaleString("en-US")} account files read and checked in ${seconds} s; registering them (unchanged accounts print nothing, the provider prints progress every ${PROGRESS_INTERVAL_MS / 1000} s)`);
}

const resources = withoutPromiseStacks(() =>
  desired.map((d) => new ConnectedAccount(d.nanoid, { ...d, credentials: pulumi.secret(d.credentials) })),
);

export const accountCount = resources.length;
export const accounts = Object.fromEntries(resources.map((r, i) => [desired[i].nanoid, { alias: r.alias, status: r.status }]));
// One pulumi.all over the statuses alone (ids and toolkits are plain values): one per account would
// cost a dozen promises and Outputs each, held until the last account is registered.
export const fleet = pulumi
  .all(resources.map((r) => r.status))
  .apply((statuses) => summarizeFleet(statuses.map((status, i) => ({ id: desired[i].nanoid, toolkit: desired[i].toolkit, status }))));
