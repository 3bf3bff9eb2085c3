/**
 * `connected-accounts sandbox`: the local stand-in API, seeded from the account files (and, with
 * `--seed`, accounts no file declares yet), so the project can be tried end to end (the dev stack
 * points at it, `import` can be tried against it) without a Composio project.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { checkStackHint, locateWorkspace } from "../project/workspace";
import { SeedFileError, seedFromAccountsDir, seedFromFile } from "../sandbox/seed";
import { startSandbox, type Sandbox } from "../sandbox/server";
import { watchStarter } from "../sandbox/starter";
import type { SandboxAccountSeed } from "../sandbox/store";
import { parseFlags, printHelp, UsageError, withUsage } from "./flags";
import { refuseBadStackSettings } from "./stack-secrets";
import { run as runEdit, runWait } from "./sandbox-edit";

/** The dev stack (stacks/Pulumi.dev.yaml) points at this port with this key. */
const DEFAULT_PORT = 8787;
const DEFAULT_API_KEY = "sandbox-demo-key";

const USAGE = `usage: connected-accounts sandbox [options]
       connected-accounts sandbox edit <account id> ...   (a dashboard edit, for drills: see --help there)
       connected-accounts sandbox wait [--url URL]         (until a sandbox answers there)

Runs a local stand-in for Composio's connected-accounts API until Ctrl-C, or until the process
that started it exits (a shell, npx, a test), so a sandbox never outlives what started it.

options:
  --port N          port to listen on, 0 for any free one (default ${DEFAULT_PORT})
  --state FILE      keep the accounts in FILE across restarts (default: in memory)
  --rate-limit N    allow N requests per minute, then answer 429 (default: no limit)
  --api-key KEY     the API key clients must send (default ${DEFAULT_API_KEY})
  --stack NAME      seed from the stack's accountsDir (default: PULUMI_STACK, if set)
  --dir DIR         seed one account per account file in DIR, as validate and plan read it
                    (default: the stack's accountsDir, else accounts/ at the project root);
                    --accounts DIR is the same, the name earlier versions used
  --seed FILE       also hold the accounts FILE lists, which no account file declares (to try
                    connected-accounts import), e.g. examples/sandbox-seed.yaml`;

interface SandboxFlags {
  port: number;
  statePath?: string;
  requestsPerMinute?: number;
  apiKey: string;
  stack?: string;
  /** undefined: the stack's or the project's accounts folder. */
  accountsDir?: string;
  seedFile?: string;
}

export function run(argv: string[]): Promise<number> {
  if (argv[0] === "edit") return runEdit(argv.slice(1));
  if (argv[0] === "wait") return runWait(argv.slice(1));
  return withUsage("sandbox", USAGE, async () => {
    const flags = readFlags(argv);
    return flags === "help" ? printHelp(USAGE) : serve(flags);
  });
}

async function serve(flags: SandboxFlags): Promise<number> {
  // Like validate and plan: the project's accounts from any folder of the project, and `file:`
  // references bounded by the project root.
  const ws = await locateWorkspace({ dir: flags.accountsDir, stack: flags.stack });
  checkStackHint(ws);
  refuseBadStackSettings(ws);
  if (!fs.existsSync(ws.accountsDir)) {
    if (ws.accountsDirFrom !== "default") throw new UsageError(`the accounts folder ${ws.accountsDir} does not exist`);
    console.error(`no ${path.relative(ws.cwd, ws.accountsDir) || "."} folder here: starting without accounts from files (seed some with --dir DIR or --seed FILE)`);
  }
  const seeds = new Map<string, SandboxAccountSeed>();
  for (const seed of fs.existsSync(ws.accountsDir) ? seedFromAccountsDir(ws.accountsDir, ws.projectRoot) : []) seeds.set(seed.id, seed);
  if (flags.seedFile !== undefined) {
    const extra = readSeedFile(flags.seedFile);
    // The seed file says more (alias, status, credential fields) than a file-declared seed.
    for (const seed of extra) seeds.set(seed.id, seed);
  }
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      port: flags.port,
      apiKey: flags.apiKey,
      accounts: [...seeds.values()],
      statePath: flags.statePath,
      rateLimit: flags.requestsPerMinute ? { requests: flags.requestsPerMinute, windowMs: 60_000 } : undefined,
      log: (line) => console.log(line),
    });
  } catch (err) {
    if ((err as { code?: string }).code !== "EADDRINUSE") throw err;
    console.error(`connected-accounts sandbox: port ${flags.port} is already in use (another sandbox?); choose another with --port`);
    return 1;
  }
  const count = sandbox.accounts().length;
  console.log(`sandbox listening on ${sandbox.url} (api key: ${flags.apiKey}, ${count} account${count === 1 ? "" : "s"} seeded)`);
  if (flags.statePath) console.log(`state kept in ${flags.statePath}`);
  if (flags.requestsPerMinute) console.log(`rate limit: ${flags.requestsPerMinute} requests per minute`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      unwatch();
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    // `npx connected-accounts sandbox &` then `kill $!` ends npx, not this process: without this it
    // would keep the port.
    const unwatch = watchStarter((pid) => {
      console.log(`the process that started the sandbox (pid ${pid}) exited: stopping`);
      stop();
    });
  });
  await sandbox.close();
  console.log("sandbox stopped");
  return 0;
}

function readSeedFile(file: string): SandboxAccountSeed[] {
  if (!fs.existsSync(file)) throw new UsageError(`the seed file ${file} does not exist`, false);
  try {
    return seedFromFile(file, path.relative(process.cwd(), file) || file);
  } catch (err) {
    if (err instanceof SeedFileError) throw new UsageError(err.message, false);
    throw err;
  }
}

function readFlags(argv: string[]): SandboxFlags | "help" {
  const { values, help } = parseFlags(argv, ["port", "state", "rate-limit", "api-key", "stack", "dir", "accounts", "seed"]);
  if (help) return "help";
  if (values.dir !== undefined && values.accounts !== undefined) throw new UsageError("--accounts is another name for --dir: give one of them");
  const port = values.port === undefined ? DEFAULT_PORT : wholeNumber("--port", values.port, 0);
  if (port > 65535) throw new UsageError(`--port must be at most 65535, not ${port}`);
  const apiKey = values["api-key"] ?? DEFAULT_API_KEY;
  if (apiKey.trim() === "") throw new UsageError("--api-key must not be empty");
  return {
    port,
    statePath: values.state && path.resolve(values.state),
    requestsPerMinute: values["rate-limit"] === undefined ? undefined : wholeNumber("--rate-limit", values["rate-limit"], 1),
    apiKey,
    stack: values.stack,
    accountsDir: values.dir ?? values.accounts,
    seedFile: values.seed && path.resolve(values.seed),
  };
}

function wholeNumber(flag: string, raw: string, min: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new UsageError(`${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ""}, not "${raw}"`);
  return Number(raw);
}
