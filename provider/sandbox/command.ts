/**
 * `connected-accounts sandbox`: the local stand-in API, seeded from the account files, so the project
 * can be tried end to end (the dev stack points at it) without a Composio project.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { locateWorkspace } from "../cli/workspace";
import { seedFromAccountsDir } from "./seed";
import { startSandbox, type Sandbox } from "./server";

/** The dev stack (stacks/Pulumi.dev.yaml) points at this port with this key. */
const DEFAULT_PORT = 8787;
const DEFAULT_API_KEY = "sandbox-demo-key";
const DEFAULT_ACCOUNTS_DIR = "accounts";

const USAGE = `usage: connected-accounts sandbox [options]

Runs a local stand-in for Composio's connected-accounts API until Ctrl-C.

options:
  --port N          port to listen on, 0 for any free one (default ${DEFAULT_PORT})
  --state FILE      keep the accounts in FILE across restarts (default: in memory)
  --rate-limit N    allow N requests per minute, then answer 429 (default: no limit)
  --api-key KEY     the API key clients must send (default ${DEFAULT_API_KEY})
  --accounts DIR    seed one account per account file in DIR (default ${DEFAULT_ACCOUNTS_DIR})`;

interface SandboxFlags {
  port: number;
  statePath?: string;
  requestsPerMinute?: number;
  apiKey: string;
  /** undefined: the project's accounts/ folder. */
  accountsDir?: string;
  accountsDirGiven: boolean;
}

export async function run(argv: string[]): Promise<number> {
  let flags: SandboxFlags | "help";
  try {
    flags = readFlags(argv);
  } catch (err) {
    console.error(`connected-accounts sandbox: ${describeUsageError(err)}\n\n${USAGE}`);
    return 2;
  }
  if (flags === "help") {
    console.log(USAGE);
    return 0;
  }
  // Like validate and plan: the project's accounts/ from any folder of the project, and `file:`
  // references bounded by the project root.
  const ws = await locateWorkspace(flags.accountsDir);
  if (!fs.existsSync(ws.accountsDir)) {
    if (flags.accountsDirGiven) {
      console.error(`connected-accounts sandbox: the accounts folder ${ws.accountsDir} does not exist\n\n${USAGE}`);
      return 2;
    }
    console.error(`no ${DEFAULT_ACCOUNTS_DIR}/ folder here: starting without accounts (seed some with --accounts DIR)`);
  }
  const seeds = fs.existsSync(ws.accountsDir) ? seedFromAccountsDir(ws.accountsDir, ws.projectRoot) : [];
  let sandbox: Sandbox;
  try {
    sandbox = await startSandbox({
      port: flags.port,
      apiKey: flags.apiKey,
      accounts: seeds,
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
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await sandbox.close();
  console.log("sandbox stopped");
  return 0;
}

function readFlags(argv: string[]): SandboxFlags | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      port: { type: "string" },
      state: { type: "string" },
      "rate-limit": { type: "string" },
      "api-key": { type: "string" },
      accounts: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  if (positionals.length > 0) throw new Error(`unexpected argument "${positionals[0]}"`);
  const port = values.port === undefined ? DEFAULT_PORT : wholeNumber("--port", values.port, 0);
  if (port > 65535) throw new Error(`--port must be at most 65535, not ${port}`);
  const apiKey = values["api-key"] ?? DEFAULT_API_KEY;
  if (apiKey.trim() === "") throw new Error("--api-key must not be empty");
  if (values.state === "") throw new Error("--state needs a file name");
  return {
    port,
    statePath: values.state && path.resolve(values.state),
    requestsPerMinute: values["rate-limit"] === undefined ? undefined : wholeNumber("--rate-limit", values["rate-limit"], 1),
    apiKey,
    accountsDir: values.accounts === undefined ? undefined : path.resolve(values.accounts),
    accountsDirGiven: values.accounts !== undefined,
  };
}

function wholeNumber(flag: string, raw: string, min: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min) throw new Error(`${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ""}, not "${raw}"`);
  return Number(raw);
}

/** parseArgs explains its errors at length (about positionals after `--`); the first sentence says it. */
function describeUsageError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return String((err as { code?: unknown }).code).startsWith("ERR_PARSE_ARGS") ? message.split(". ")[0] : message;
}
