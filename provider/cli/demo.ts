/**
 * `connected-accounts demo` (`npm run demo`): a preview and an apply against the local sandbox, so a
 * platform engineer sees what the project does before handing over a production key.
 *
 *   1. starts the sandbox in this process on 127.0.0.1:8787 (the dev stack's baseUrl), seeded from accounts/
 *   2. prepares throwaway inputs the example accounts reference: missing files under secrets/, and a
 *      random value for each `env:` reference, set for the child processes only
 *   3. runs `validate`, then `plan` against an empty base (every account shows as "adopt")
 *   4. runs `pulumi stack select --create dev`, `pulumi preview --diff` and `pulumi up` on the dev stack,
 *      with a local state backend in .pulumi-state/ (git-ignored)
 *   5. prints the sandbox's accounts (credential key names only)
 *   6. stops the sandbox: always, on a failure and on Ctrl-C too
 *
 * Exit codes:
 *   0    everything ran (with --skip-pulumi: everything but Pulumi)
 *   1    a step failed (port busy, invalid account files, a pulumi command failed, ...)
 *   2    usage error (unknown flag or argument, bad environment override)
 *   3    validate and plan ran, but the Pulumi CLI could not be obtained (offline)
 *   130  interrupted (Ctrl-C)
 *
 * Environment overrides, meant for tests:
 *   CONNECTED_ACCOUNTS_DEMO_PORT               sandbox port instead of 8787 (0: any free one). Pulumi still
 *                                              talks to the dev stack's baseUrl, so another port suits
 *                                              --skip-pulumi or tests only.
 *   CONNECTED_ACCOUNTS_DEMO_PULUMI_TIMEOUT_MS  bound on obtaining the Pulumi CLI (default 60000)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { loadAccounts } from "../accounts/load";
import { seedFromAccountsDir } from "../sandbox/seed";
import { startSandbox, type Sandbox } from "../sandbox/server";
import { DEFAULTS } from "../settings";
import { formatAccountsTable } from "./demo/accounts-table";
import { prepareDemoInputs } from "./demo/inputs";
import { obtainPulumiCli } from "./demo/pulumi-cli";
import { pinnedPulumiVersion } from "../pulumi-cli/version";
import { StepRunner } from "./demo/steps";
import { findRepoTopLevel } from "./git";
import { findProjectRoot } from "./workspace";

/** The dev stack (stacks/Pulumi.dev.yaml) points at this address with this key. */
const SANDBOX_HOST = "127.0.0.1";
const DEFAULT_PORT = 8787;
const SANDBOX_API_KEY = "sandbox-demo-key";
/** The dev stack and its passphrase: demo values, readable on purpose (see stacks/Pulumi.dev.yaml). */
const DEV_STACK = "dev";
const DEV_PASSPHRASE = "dev-demo";
/**
 * Git-ignored. Holds Pulumi's local state and the sandbox's accounts side by side: Pulumi diffs
 * against its recorded state, so a sandbox starting afresh on each run would disagree with it.
 */
const STATE_DIR = ".pulumi-state";
const SANDBOX_STATE_FILE = "sandbox-accounts.json";
/** A first download of the CLI takes well under a minute on a working connection; longer means there is none. */
const DEFAULT_PULUMI_TIMEOUT_MS = 60_000;
const INSTALL_URL = "https://www.pulumi.com/docs/install/";

const EXIT = { ok: 0, failed: 1, usage: 2, offline: 3, interrupted: 130 } as const;

const USAGE = `usage: connected-accounts demo [--skip-pulumi]

Starts the sandbox API on ${SANDBOX_HOST}:${DEFAULT_PORT} (the dev stack's baseUrl), runs validate and plan,
then pulumi preview and pulumi up on the dev stack against it, prints the sandbox's accounts and
stops the sandbox. The secrets it needs are throwaway demo values (a file already under secrets/
is kept as it is).

options:
  --skip-pulumi   run the sandbox, validate and plan only

Exit code: 0 everything ran, 1 a step failed, 2 usage error, 3 the Pulumi CLI could not be
obtained (validate and plan ran), 130 interrupted.`;

interface DemoSettings {
  skipPulumi: boolean;
  port: number;
  pulumiTimeoutMs: number;
}

/** Git's well-known empty tree: against it, every account file is an adoption. */
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export async function run(argv: string[]): Promise<number> {
  let settings: DemoSettings | "help";
  try {
    settings = readSettings(argv, process.env);
  } catch (err) {
    console.error(`connected-accounts demo: ${describeUsageError(err)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (settings === "help") {
    console.log(USAGE);
    return EXIT.ok;
  }
  const steps = new StepRunner();
  try {
    const root = findProjectRoot(process.cwd());
    if (!root) throw new Error(`no Pulumi.yaml in ${process.cwd()} or above: run the demo inside the project`);
    return await runDemo(settings, root, steps);
  } finally {
    steps.dispose();
  }
}

async function runDemo(settings: DemoSettings, root: string, steps: StepRunner): Promise<number> {
  const accountsDir = path.join(root, DEFAULTS.accountsDir);
  const stateDir = path.join(root, STATE_DIR);

  heading(`Sandbox API on ${SANDBOX_HOST}:${settings.port}`);
  fs.mkdirSync(stateDir, { recursive: true });
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      host: SANDBOX_HOST,
      port: settings.port,
      apiKey: SANDBOX_API_KEY,
      accounts: seedFromAccountsDir(accountsDir, root),
      statePath: path.join(stateDir, SANDBOX_STATE_FILE),
      log: (line) => console.log(`sandbox | ${line}`),
    });
  } catch (err) {
    if ((err as { code?: string }).code !== "EADDRINUSE") throw err;
    console.error(
      `port ${settings.port} is already in use (a running \`connected-accounts sandbox\` or demo?): ` +
        `stop that process (\`lsof -i :${settings.port}\` names it) and run npm run demo again`,
    );
    return EXIT.failed;
  }
  try {
    const count = sandbox.accounts().length;
    console.log(`listening on ${sandbox.url} (api key ${SANDBOX_API_KEY}), ${count} account${count === 1 ? "" : "s"}; its request log lines start with "sandbox | "`);
    const code = await runSteps(settings, root, steps);
    if (code === EXIT.ok || code === EXIT.offline) {
      heading("Sandbox accounts");
      process.stdout.write(formatAccountsTable(sandbox.accounts()));
    }
    return code;
  } finally {
    await sandbox.close();
    heading("Sandbox stopped");
  }
}

/** Steps 2 to 4; the exit code. */
async function runSteps(settings: DemoSettings, root: string, steps: StepRunner): Promise<number> {
  heading("Demo inputs (throwaway values, never real ones)");
  const { accounts } = loadAccounts({ dir: path.join(root, DEFAULTS.accountsDir), repoRoot: root, displayBase: root });
  const inputs = prepareDemoInputs(accounts, root);
  for (const note of inputs.notes) console.log(note);
  if (inputs.notes.length === 0) console.log("none needed");
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...inputs.env };
  const cli = (args: string[]) => steps.run({ command: process.execPath, args: [path.join(__dirname, "main.js"), ...args], cwd: root, env: childEnv });

  heading("connected-accounts validate");
  const validated = await cli(["validate"]);
  if (steps.interrupted) return EXIT.interrupted;
  if (validated !== 0) return failed("validate", validated);

  let planRan = false;
  if (!(await findRepoTopLevel(root))) {
    heading(`connected-accounts plan: skipped, ${root} is not a git checkout (plan compares git revisions)`);
  } else {
    heading("connected-accounts plan: every account against an empty base (git's empty tree)");
    const planned = await cli(["plan", "--base", EMPTY_TREE, "--format", "text"]);
    if (steps.interrupted) return EXIT.interrupted;
    if (planned !== 0) return failed("plan", planned);
    planRan = true;
  }

  if (settings.skipPulumi) {
    heading("pulumi: skipped (--skip-pulumi)");
    return EXIT.ok;
  }
  const pinned = pinnedPulumiVersion(root);
  heading(`pulumi CLI v${pinned}: on PATH, else built by npm run pulumi:cli, else through the npm package pulumi (up to ${Math.round(settings.pulumiTimeoutMs / 1000)} s)`);
  const pulumi = await obtainPulumiCli({ env: childEnv, pinned, timeoutMs: settings.pulumiTimeoutMs, signal: steps.signal });
  if (steps.interrupted) return EXIT.interrupted;
  if ("unavailable" in pulumi) {
    console.log(
      `pulumi CLI not available (${pulumi.unavailable}): skipped pulumi preview/up; ${planRan ? "validate and plan" : "validate"} ran above. ` +
        `Install it from ${INSTALL_URL} (or build it: npm run pulumi:cli) and run npm run demo again.`,
    );
    return EXIT.offline;
  }
  return runPulumi(pulumi.bin, pulumi.from, root, childEnv, settings, steps);
}

/** Step 4 with the CLI in hand: stack select, preview, up on the dev stack; stops at the first failure. */
async function runPulumi(bin: string, from: "PATH" | "cache" | "npm package", root: string, childEnv: NodeJS.ProcessEnv, settings: DemoSettings, steps: StepRunner): Promise<number> {
  const backendUrl = `file://${path.join(root, STATE_DIR)}`;
  console.log(`using ${bin}${from === "npm package" ? " (from the npm package pulumi)" : from === "cache" ? " (built by npm run pulumi:cli)" : ""}`);
  console.log(`with PULUMI_BACKEND_URL=${backendUrl} PULUMI_CONFIG_PASSPHRASE=${DEV_PASSPHRASE} (the dev stack's demo passphrase)`);
  if (settings.port !== DEFAULT_PORT) console.log(`note: the dev stack's baseUrl names port ${DEFAULT_PORT}, not ${settings.port}: pulumi will not reach this sandbox`);
  const pulumiEnv: NodeJS.ProcessEnv = {
    ...childEnv,
    // The launcher installs the language hosts beside the CLI; the engine looks for them on PATH.
    PATH: [path.dirname(bin), childEnv.PATH].filter(Boolean).join(path.delimiter),
    PULUMI_BACKEND_URL: backendUrl,
    PULUMI_CONFIG_PASSPHRASE: DEV_PASSPHRASE,
    PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const commands = [
    ["stack", "select", "--create", DEV_STACK, "--non-interactive"],
    ["preview", "--diff", "--stack", DEV_STACK, "--non-interactive"],
    ["up", "--yes", "--skip-preview", "--stack", DEV_STACK, "--non-interactive"],
  ];
  for (const args of commands) {
    heading(`pulumi ${args.join(" ")}`);
    const code = await steps.run({ command: bin, args, cwd: root, env: pulumiEnv });
    if (steps.interrupted) return EXIT.interrupted;
    if (code !== 0) return failed(`pulumi ${args[0] === "stack" ? "stack select" : args[0]}`, code);
  }
  return EXIT.ok;
}

function readSettings(argv: string[], env: NodeJS.ProcessEnv): DemoSettings | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      "skip-pulumi": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const port = env.CONNECTED_ACCOUNTS_DEMO_PORT;
  const timeout = env.CONNECTED_ACCOUNTS_DEMO_PULUMI_TIMEOUT_MS;
  return {
    skipPulumi: values["skip-pulumi"] ?? false,
    port: port === undefined ? DEFAULT_PORT : wholeNumber("CONNECTED_ACCOUNTS_DEMO_PORT", port, 0, 65535),
    pulumiTimeoutMs: timeout === undefined ? DEFAULT_PULUMI_TIMEOUT_MS : wholeNumber("CONNECTED_ACCOUNTS_DEMO_PULUMI_TIMEOUT_MS", timeout, 1, 2 ** 31 - 1),
  };
}

function wholeNumber(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return Number(raw);
}

/** parseArgs explains its errors at length (about positionals after `--`); the first sentence says it. */
function describeUsageError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return String((err as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS") ? message.split(". ")[0] : message;
}

/** The Pulumi project: the nearest folder holding Pulumi.yaml, from the working directory up, as pulumi finds it. */
function heading(text: string): void {
  console.log(`\n==> ${text}`);
}

function failed(step: string, code: number): number {
  console.error(`${step} failed (exit code ${code}): stopping the demo`);
  return EXIT.failed;
}
