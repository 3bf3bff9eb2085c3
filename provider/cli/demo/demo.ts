/**
 * `connected-accounts demo` (`npm run demo`): what the project does, from adoption to a reviewed
 * change, against the local sandbox, before anyone hands over a production key.
 *
 *   1. copies the project into a throwaway git checkout (demo/project.ts): the engineer's own
 *      checkout, stack files and state are never touched, and each run starts from scratch
 *   2. starts the sandbox in this process on 127.0.0.1 (a free port), seeded from accounts/
 *   3. prepares throwaway inputs the example accounts reference: files under secrets/, and a
 *      random value for each `env:` reference, set for the child processes only
 *   4. runs `validate`, then `plan` against an empty base (every account shows as "adopt")
 *   5. provisions every tool it runs exactly as `npm run pulumi:cli` does (provisionTools: the pinned
 *      Pulumi CLI, sops and age-keygen, each on PATH, built earlier, else built from Go modules with
 *      progress; sops too when a pulumi is on PATH), then `pulumi stack select --create dev`,
 *      `pulumi preview --diff` and `pulumi up` on the dev stack with a local state backend
 *   6. makes one change as a user would (demo/change.ts) and shows what a reviewer sees: the
 *      `plan` pull-request comment (Markdown), `pulumi preview --diff`, then `pulumi up` and the
 *      PATCH bodies the sandbox received, values masked
 *   7. stops the sandbox and removes the copy: always, on a failure and on Ctrl-C too
 *
 * Exit codes:
 *   0    everything ran (with --skip-pulumi: everything but Pulumi)
 *   1    a step failed (port busy, invalid account files, a pulumi command failed, ...)
 *   2    usage error (unknown flag or argument, bad environment override)
 *   3    validate and plan ran, but no Pulumi CLI could be found or built (no Go, no network)
 *   130  interrupted (Ctrl-C)
 *
 * Environment overrides, meant for tests:
 *   CONNECTED_ACCOUNTS_DEMO_PORT   sandbox port instead of a free one
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { loadAccounts } from "../../accounts/load";
import { findProjectRoot } from "../../project/workspace";
import { CliBuildError } from "../../pulumi-cli/build";
import { PROVISIONED_TOOLS, provisionTools } from "../../pulumi-cli/main";
import { pinnedPulumiVersion } from "../../pulumi-cli/version";
import { seedFromAccountsDir } from "../../sandbox/seed";
import { startSandbox, type Sandbox } from "../../sandbox/server";
import { accountsDirPath, CONFIG_NAMESPACE } from "../../settings";
import { formatAccountsTable } from "./accounts-table";
import { applyDemoChange } from "./change";
import { prepareDemoInputs } from "./inputs";
import { formatPatches } from "./patches";
import { createDemoProject, type DemoProject } from "./project";
import { StepRunner } from "./steps";

const SANDBOX_HOST = "127.0.0.1";
/** The dev stack (stacks/Pulumi.dev.yaml) carries this key for the sandbox. */
const SANDBOX_API_KEY = "sandbox-demo-key";
/** The dev stack and its passphrase: demo values, readable on purpose (see stacks/Pulumi.dev.yaml). */
const DEV_STACK = "dev";
const DEV_PASSPHRASE = "dev-demo";
/** Inside the demo's copy: Pulumi's local state and its PULUMI_HOME. */
const STATE_DIR = ".pulumi-state";
const PULUMI_HOME_DIR = ".pulumi-home";
const INSTALL_URL = "https://www.pulumi.com/docs/install/";
/** Git's well-known empty tree: against it, every account file is an adoption. */
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

const EXIT = { ok: 0, failed: 1, usage: 2, offline: 3, interrupted: 130 } as const;

const USAGE = `usage: connected-accounts demo [--skip-pulumi] [--keep]

In a throwaway copy of this project: starts the sandbox API, runs validate and plan, provisions the
pinned Pulumi CLI as npm test does (building it from Go modules if there is none, a few minutes
the first time), runs pulumi preview and pulumi up on the dev stack (every account adopted), then
makes one change as a user would (an alias renamed, a key rotated, a key removed) and shows the
plan comment, pulumi preview --diff and the PATCH requests pulumi up sends, values masked. The
secrets it needs are throwaway demo values. Your checkout is not changed.

options:
  --skip-pulumi   run the sandbox, validate and plan only
  --keep          keep the copy (its path is printed) to look around in it afterwards

Exit code: 0 everything ran, 1 a step failed, 2 usage error, 3 no Pulumi CLI could be found
or built (validate and plan ran), 130 interrupted.`;

interface DemoSettings {
  skipPulumi: boolean;
  keep: boolean;
  port: number;
}

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
  const root = findProjectRoot(process.cwd());
  if (!root) {
    console.error(`connected-accounts demo: no Pulumi.yaml in ${process.cwd()} or above: run the demo inside the project`);
    return EXIT.failed;
  }
  const steps = new StepRunner();
  let project: DemoProject | undefined;
  try {
    project = createDemoProject(root);
    heading(`Demo project: a throwaway copy of this project, a git checkout of its own`);
    console.log(`${project.dir}${settings.keep ? " (kept: --keep)" : " (removed at the end)"}`);
    return await runInProject(settings, root, project, steps);
  } finally {
    steps.dispose();
    if (project && !settings.keep) project.remove();
  }
}

async function runInProject(settings: DemoSettings, sourceRoot: string, project: DemoProject, steps: StepRunner): Promise<number> {
  const accountsDir = accountsDirPath(project.dir, undefined);
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      host: SANDBOX_HOST,
      port: settings.port,
      apiKey: SANDBOX_API_KEY,
      accounts: seedFromAccountsDir(accountsDir, project.dir),
      log: (line) => console.log(`sandbox | ${line}`),
    });
  } catch (err) {
    if ((err as { code?: string }).code !== "EADDRINUSE") throw err;
    console.error(`port ${settings.port} is already in use: choose another with CONNECTED_ACCOUNTS_DEMO_PORT, or leave it unset for a free one`);
    return EXIT.failed;
  }
  heading(`Sandbox API on ${sandbox.url}`);
  try {
    const count = sandbox.accounts().length;
    console.log(`api key ${SANDBOX_API_KEY}, ${count} account${count === 1 ? "" : "s"}; its request log lines start with "sandbox | "`);
    const code = await runSteps(settings, sourceRoot, project, sandbox, steps);
    if (code === EXIT.offline || (code === EXIT.ok && settings.skipPulumi)) {
      heading("Sandbox accounts");
      process.stdout.write(formatAccountsTable(sandbox.accounts()));
    }
    return code;
  } finally {
    await sandbox.close();
    heading("Sandbox stopped");
  }
}

/** Steps 3 to 6; the exit code. */
async function runSteps(settings: DemoSettings, sourceRoot: string, project: DemoProject, sandbox: Sandbox, steps: StepRunner): Promise<number> {
  const root = project.dir;
  heading("Demo inputs (throwaway values, never real ones)");
  const { accounts } = loadAccounts({ dir: accountsDirPath(root, undefined), repoRoot: root, displayBase: root });
  const inputs = prepareDemoInputs(accounts, root);
  for (const note of inputs.notes) console.log(note);
  if (inputs.notes.length === 0) console.log("none needed");
  let childEnv: NodeJS.ProcessEnv = { ...process.env, ...inputs.env };
  const cli = (args: string[]) => steps.run({ command: process.execPath, args: [path.join(__dirname, "..", "main.js"), ...args], cwd: root, env: childEnv });

  heading("connected-accounts validate");
  const validated = await cli(["validate"]);
  if (steps.interrupted) return EXIT.interrupted;
  if (validated !== 0) return failed("validate", validated);

  if (!project.inGit) {
    heading("connected-accounts plan: skipped, git is not installed (plan compares git revisions)");
  } else {
    heading("connected-accounts plan: every account against an empty base (git's empty tree)");
    const planned = await cli(["plan", "--base", EMPTY_TREE, "--format", "text"]);
    if (steps.interrupted) return EXIT.interrupted;
    if (planned !== 0) return failed("plan", planned);
  }

  if (settings.skipPulumi) {
    heading("pulumi: skipped (--skip-pulumi)");
    return EXIT.ok;
  }
  heading(`Tools: ${PROVISIONED_TOOLS.join(", ")} (Pulumi CLI v${pinnedPulumiVersion(sourceRoot)}), provided as npm run pulumi:cli does: on PATH, else built earlier, else built from Go modules now`);
  let binDirs: string[];
  try {
    binDirs = await provisionTools(process.env, (line) => console.log(line), steps.signal);
  } catch (err) {
    if (steps.interrupted) return EXIT.interrupted;
    if (!(err instanceof CliBuildError)) throw err;
    console.log(`not every tool is available: ${err.message}`);
    console.log(`skipped pulumi preview/up; ${project.inGit ? "validate and plan" : "validate"} ran above. Install what is missing (Pulumi: ${INSTALL_URL}), or Go to build it, and run npm run demo again.`);
    return EXIT.offline;
  }

  console.log(`on PATH for the commands below: ${binDirs.join(path.delimiter)}`);
  const pulumi = pulumiRunner(binDirs, root, steps);
  heading("Pulumi: the dev stack with a local backend inside the demo project");
  console.log(`PULUMI_BACKEND_URL=file://${path.join(root, STATE_DIR)} PULUMI_CONFIG_PASSPHRASE=${DEV_PASSPHRASE} (the dev stack's demo passphrase)`);
  fs.mkdirSync(path.join(root, STATE_DIR), { recursive: true });
  for (const args of [
    ["stack", "select", "--create", DEV_STACK],
    // The copy's own stack file: the dev stack points at this run's sandbox.
    ["config", "set", `${CONFIG_NAMESPACE}:baseUrl`, sandbox.url, "--stack", DEV_STACK],
    ["preview", "--diff", "--stack", DEV_STACK],
    ["up", "--yes", "--skip-preview", "--stack", DEV_STACK],
  ]) {
    const code = await pulumi(args, childEnv);
    if (code !== EXIT.ok) return code;
  }
  heading("Sandbox accounts after the adoption");
  process.stdout.write(formatAccountsTable(sandbox.accounts()));

  heading("A change, made as a user makes one");
  const change = applyDemoChange(accounts);
  for (const line of change.described) console.log(line);
  childEnv = { ...childEnv, ...change.env };

  if (project.inGit) {
    heading("connected-accounts plan --format markdown: the comment a pull request gets");
    const planned = await cli(["plan", "--base", "HEAD", "--format", "markdown"]);
    if (steps.interrupted) return EXIT.interrupted;
    if (planned !== 0) return failed("plan", planned);
  }
  const previewed = await pulumi(["preview", "--diff", "--stack", DEV_STACK], childEnv);
  if (previewed !== EXIT.ok) return previewed;
  sandbox.clearRequests();
  const applied = await pulumi(["up", "--yes", "--skip-preview", "--stack", DEV_STACK], childEnv);
  if (applied !== EXIT.ok) return applied;
  heading("What pulumi up sent: the PATCH requests the sandbox received (values masked, removals as null)");
  process.stdout.write(formatPatches(sandbox.requests));
  project.commit("the change, applied");
  return EXIT.ok;
}

/** Runs one pulumi command in the demo project with the demo's environment; EXIT.ok or the demo's exit code. */
function pulumiRunner(binDirs: string[], root: string, steps: StepRunner) {
  return async (args: string[], env: NodeJS.ProcessEnv): Promise<number> => {
    heading(`pulumi ${args.join(" ")}`);
    const code = await steps.run({
      command: path.join(binDirs[0], "pulumi"),
      args: [...args, "--non-interactive"],
      cwd: root,
      env: {
        ...env,
        // The engine looks for the language host and the dynamic-provider launcher on PATH too; the
        // provider runs sops from PATH.
        PATH: [...binDirs, env.PATH].filter(Boolean).join(path.delimiter),
        PULUMI_HOME: path.join(root, PULUMI_HOME_DIR),
        PULUMI_BACKEND_URL: `file://${path.join(root, STATE_DIR)}`,
        PULUMI_CONFIG_PASSPHRASE: DEV_PASSPHRASE,
        PULUMI_CONFIG_PASSPHRASE_FILE: undefined,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      },
    });
    if (steps.interrupted) return EXIT.interrupted;
    return code === 0 ? EXIT.ok : failed(`pulumi ${args[0] === "stack" || args[0] === "config" ? `${args[0]} ${args[1]}` : args[0]}`, code);
  };
}

function readSettings(argv: string[], env: NodeJS.ProcessEnv): DemoSettings | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      "skip-pulumi": { type: "boolean" },
      keep: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const port = env.CONNECTED_ACCOUNTS_DEMO_PORT;
  return {
    skipPulumi: values["skip-pulumi"] ?? false,
    keep: values.keep ?? false,
    port: port === undefined ? 0 : wholeNumber("CONNECTED_ACCOUNTS_DEMO_PORT", port, 0, 65535),
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

function heading(text: string): void {
  console.log(`\n==> ${text}`);
}

function failed(step: string, code: number): number {
  console.error(`${step} failed (exit code ${code}): stopping the demo`);
  return EXIT.failed;
}
