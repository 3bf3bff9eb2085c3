/**
 * The Pulumi program (Pulumi.yaml `main`): load the account files, check their references, and
 * register one ConnectedAccount per file. It registers references, never values: whatever a program
 * registers, even as a secret, the engine writes in plain text to its event log, traces and logs.
 * The provider process reads the values itself. Any problem stops the program before a resource is
 * registered, so nothing is sent to Composio.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { loadAccounts } from "./project/account-files";
import { AccountProblemsError, formatProblemText, sortProblems, type AccountProblem } from "./accounts/problem";
import { terminalSafe, terminalSafeLines } from "./text/terminal-text";
import { trackedTargetsSync } from "./project/git";
import { UsageError } from "./project/usage-error";
import { readStack, type StackSettings } from "./project/stack";
import { findProjectRoot } from "./project/workspace";
import { toRegistered } from "./references/registered-account";
import { fingerprintKeyProblem } from "./plan/fingerprint";
import { summarizeFleet } from "./plan/fleet-summary";
import type { RegisteredAccount } from "./plan/account-state";
import { staleBuild } from "./pulumi/build-stamp";
import { ConnectedAccount } from "./pulumi/connected-account";
import { carryProblems } from "./pulumi/problem-carrier";
import { checkReferences, referenceTargets } from "./references/resolve";
import { stackConfigFromText, type StackConfig } from "./references/stack-config";
import { accountsDirPath, CONFIG_NAMESPACE, MIN_FINGERPRINT_KEY_LENGTH, readSettings } from "./settings";
import { PROGRESS_INTERVAL_MS, PROGRESS_MIN_OPERATIONS } from "./pulumi/fleet-progress";

// The engine runs the program in the folder of `main` (provider/), not the project root: the root
// is where Pulumi.yaml is, which the engine passes on (older CLIs do not: then look for it).
const projectRoot = pulumi.runtime.getRootDirectory() || findProjectRoot(process.cwd()) || process.cwd();
// The provider process runs the compiled provider (dist/): refuse to deploy with one built from other sources.
const staleProvider = staleBuild(projectRoot);
if (staleProvider) throw new pulumi.RunError(terminalSafeLines(staleProvider));

// Parsed once: the SDK parses the whole stack config on every lookup, and a fleet looks up one key per reference.
const stackConfig = pulumi.runtime.allConfig();
const secretKeys = stackSecretKeys();
// Which keys are set and which are secrets, as the language host passed them; positions from the stack file.
const stackSettings = checkedStack();
const stackFile = stackConfigFromText(path.relative(projectRoot, stackSettings.file), stackSettings.text);
const stack: StackConfig = {
  file: stackFile.file,
  has: (key) => (stackConfig[key] ?? "") !== "",
  isSecret: (key) => secretKeys.has(key),
  locate: (key) => stackFile.locate(key),
};
// The settings as every command reads them: a bad one is refused with the rest, before anything registers.
const { settings, problems: settingProblems } = readSettings({ ...stack, get: (key) => stackConfig[key] }, process.env);
const accountsDir = accountsDirPath(projectRoot, settings.accountsDir);

const loadStarted = performance.now();
const loaded = loadAccounts({ dir: accountsDir, repoRoot: projectRoot, displayBase: projectRoot });
const problems: AccountProblem[] = [...loaded.problems, ...settingProblems];
const referenceProblems: AccountProblem[] = [];
const registered: RegisteredAccount[] = [];
const { fingerprintKey, allowedEnv } = settings;
const managed = loaded.accounts.filter((a) => a.manage !== "observe");
// One git call for every `file:` target: a secret file git tracks is a committed secret.
const tracked = trackedTargetsSync(projectRoot, managed.flatMap((a) => referenceTargets(a, "refused").map((r) => r.target)));
for (const account of loaded.accounts) {
  registered.push(toRegistered(account, projectRoot));
  // Observed accounts are only read: their credentials are never resolved or sent.
  if (account.manage === "observe") continue;
  const refProblems = checkReferences(account, { stage: "deploy", projectRoot, repoRoot: projectRoot, env: process.env, allowedEnv, config: stack, tracked });
  if (account.paused && refProblems.length > 0) {
    // Pausing is how a team freezes an account during an incident, often one where a secret is
    // missing: a paused account's references may fail without blocking anything.
    pulumi.log.warn(`${terminalSafe(account.file)}: ${terminalSafe(account.id)} is paused; its references are not resolved until it is unpaused`);
    continue;
  }
  referenceProblems.push(...refProblems);
}

const needsKey = loaded.accounts.find((a) => a.manage !== "observe" && !a.paused && Object.values(a.credentials).some((c) => c.kind !== "remove"));
// A key in plain text is reported at its line in the stack file (readSettings).
const weakKey = fingerprintKey && fingerprintKeyProblem(fingerprintKey, true, MIN_FINGERPRINT_KEY_LENGTH);
if (needsKey && (!fingerprintKey || weakKey)) {
  // A stack setting: the problem is in the stack file, whichever account needs the key.
  const key = `${CONFIG_NAMESPACE}:fingerprintKey`;
  problems.push({
    file: stack.file, ...stack.locate(key), field: key,
    message: `stack config ${key} ${weakKey || "is not set"}; it keys the fingerprints that show reviewers which secret changed (${needsKey.file} has credentials)`,
    fix: `pulumi config set --secret ${key} "$(openssl rand -hex 32)"`,
  });
}

/**
 * One line in the preview's and the update's diagnostics, in this tool's words: Pulumi calls an
 * adoption `create` and a release `delete`, which read as if accounts were made or destroyed.
 */
function lifecycleLegend(accounts: readonly RegisteredAccount[]): string {
  const observed = accounts.filter((a) => a.manage === "observe").length;
  const paused = accounts.filter((a) => a.paused).length;
  const n = (k: number, one: string, many = `${one}s`) => `${k.toLocaleString("en-US")} ${k === 1 ? one : many}`;
  const kinds = [observed > 0 ? `${n(observed, "observed")}` : "", paused > 0 ? `${n(paused, "paused")}` : ""].filter(Boolean).join(", ");
  return (
    `${n(accounts.length, "account file")}${kinds ? ` (${kinds})` : ""}. In Pulumi's steps, create = adopt: the account already exists in Composio and ` +
    "gets its declared alias and credentials once; delete = release: the account is only no longer managed, it stays in Composio and nothing is sent."
  );
}

/** The stack file, checked before it is read (a link to /dev/zero or a FIFO stops the program with the reason). */
function checkedStack(): StackSettings {
  try {
    return readStack(projectRoot, pulumi.getStack(), false);
  } catch (err) {
    if (err instanceof UsageError) throw new pulumi.RunError(terminalSafe(err.message));
    throw err;
  }
}

/**
 * The config keys the language host passed as secrets (it lists them in PULUMI_CONFIG_SECRET_KEYS;
 * the SDK reads that list through a function it marks internal, so the list is read here directly).
 */
function stackSecretKeys(): Set<string> {
  try {
    const keys: unknown = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
    return new Set(Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : []);
  } catch {
    return new Set();
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

// A preview goes on to the provider with reference problems, which names them with the problems only it can find.
const carried = carryProblems(registered, sortProblems(referenceProblems), problems.length, pulumi.runtime.isDryRun());
problems.push(...referenceProblems);
if (problems.length > 0 && !carried) {
  // RunError: Pulumi prints the message (every problem, with file, line and fix) without a stack trace.
  // Escaped as validate escapes it: a file name or a SOPS recipient cannot clear the screen or forge
  // an `error:` line in the preview (or the pull-request comment that quotes it).
  throw new pulumi.RunError(new AccountProblemsError(sortProblems(problems), formatProblemText).message);
}

pulumi.log.info(lifecycleLegend(registered));

if (registered.length >= PROGRESS_MIN_OPERATIONS) {
  // The display stays silent for unchanged accounts: say what is going on, once.
  const seconds = ((performance.now() - loadStarted) / 1000).toFixed(1);
  pulumi.log.info(`connected-accounts: ${registered.length.toLocaleString("en-US")} account files read and checked in ${seconds} s; registering them (unchanged accounts print nothing, the provider prints progress every ${PROGRESS_INTERVAL_MS / 1000} s)`);
}

const toRegister = carried ?? registered;
const resources = withoutPromiseStacks(() => toRegister.map((r) => new ConnectedAccount(r.nanoid, r)));

// One output, of a size that does not grow with the fleet (see FleetSummary): one pulumi.all over
// the statuses alone (ids and toolkits are plain values); one per account would cost a dozen
// promises and Outputs each, held until the last account is registered.
export const fleet = pulumi
  .all(resources.map((r) => r.status))
  .apply((statuses) => summarizeFleet(statuses.map((status, i) => ({ id: toRegister[i].nanoid, toolkit: toRegister[i].toolkit, status }))));
