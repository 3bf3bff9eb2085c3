/**
 * `connected-accounts sandbox edit <id> …`: what someone does in Composio's dashboard, done to a
 * running sandbox, for drift and health drills: rename an account, switch it off, or mark its
 * connection EXPIRED or FAILED (which only Composio does). Talks to the sandbox's dashboard endpoint
 * (dashboard.ts) over HTTP, so it works against any sandbox this machine reaches.
 */
import { DASHBOARD_PATH } from "../sandbox/dashboard";
import { CONNECTION_STATUSES, type ConnectionStatus } from "../sandbox/store";
import { terminalSafe } from "../text/terminal-text";
import { parseFlags, printHelp, UsageError, withUsage } from "./flags";

const DEFAULT_URL = "http://127.0.0.1:8787";
const DEFAULT_API_KEY = "sandbox-demo-key";
/** A loopback sandbox answers in milliseconds; past this it is not there. */
const TIMEOUT_MS = 10_000;

const USAGE = `usage: connected-accounts sandbox edit <account id> [--alias NAME | --remove-alias] [--disable | --enable]
                                      [--status ${CONNECTION_STATUSES.join("|")} [--reason TEXT]]
                                      [--url URL] [--api-key KEY]

Changes an account of a running sandbox as someone would in Composio's dashboard, for drills: the
next pulumi preview --refresh (or the drift workflow) shows it. Nothing in your files changes.

  --alias NAME      rename the account (unique per user and toolkit, as in Composio)
  --remove-alias    clear its alias
  --disable         switch it off (an ACTIVE account becomes INACTIVE); --enable switches it on
  --status STATUS   set the connection's status, as Composio does when a token expires (EXPIRED)
                    or a connection breaks (FAILED); --enable does not repair those
  --reason TEXT     the status reason shown with it
  --url URL         the sandbox (default ${DEFAULT_URL})
  --api-key KEY     its API key (default ${DEFAULT_API_KEY})

Exit code: 0 changed, 1 the sandbox refused or could not be reached, 2 usage error.`;

export function run(argv: string[]): Promise<number> {
  return withUsage("sandbox edit", USAGE, async () => {
    const id = argv[0] !== undefined && !argv[0].startsWith("-") ? argv[0] : undefined;
    const { values, switches, help } = parseFlags(id === undefined ? argv : argv.slice(1), ["alias", "status", "reason", "url", "api-key"], ["remove-alias", "disable", "enable"]);
    if (help) return printHelp(USAGE);
    if (id === undefined) throw new UsageError("name the account to edit: connected-accounts sandbox edit <account id> …");
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new UsageError(`"${terminalSafe(id)}" is not a connected account id (e.g. ca_8x2kPq)`);
    const body: Record<string, unknown> = {};
    if (values.alias !== undefined && switches.has("remove-alias")) throw new UsageError("give --alias or --remove-alias, not both");
    if (switches.has("disable") && switches.has("enable")) throw new UsageError("give --disable or --enable, not both");
    if (values.alias !== undefined) body.alias = values.alias;
    if (switches.has("remove-alias")) body.alias = null;
    if (switches.has("disable")) body.enabled = false;
    if (switches.has("enable")) body.enabled = true;
    if (values.status !== undefined) {
      const status = values.status.toUpperCase();
      if (!CONNECTION_STATUSES.includes(status as ConnectionStatus)) throw new UsageError(`--status must be one of ${CONNECTION_STATUSES.join(", ")}, not "${terminalSafe(values.status)}"`);
      body.status = status;
    }
    if (values.reason !== undefined) {
      if (values.status === undefined) throw new UsageError("--reason goes with --status");
      body.status_reason = values.reason;
    }
    if (Object.keys(body).length === 0) throw new UsageError("nothing to change: give --alias, --remove-alias, --disable, --enable or --status");
    const base = readUrl(values.url ?? DEFAULT_URL);
    return edit(new URL(`${DASHBOARD_PATH}/${id}`, base), values["api-key"] ?? DEFAULT_API_KEY, body, id);
  });
}

function readUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url must be the sandbox's URL, e.g. ${DEFAULT_URL}, not "${terminalSafe(raw)}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--url must be an http:// URL, not "${terminalSafe(raw)}"`);
  return url;
}

async function edit(url: URL, apiKey: string, body: Record<string, unknown>, id: string): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "PATCH",
      headers: { "content-type": "application/json", "x-api-key": apiKey },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    process.stderr.write(`connected-accounts sandbox edit: no sandbox answered at ${url.origin} (${cause}): start one with connected-accounts sandbox, or give its address with --url\n`);
    return 1;
  }
  const text = await response.text();
  let answer: Record<string, unknown> | undefined;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    answer = undefined;
  }
  if (!response.ok) {
    const error = (answer?.error ?? {}) as { message?: unknown; suggested_fix?: unknown };
    const message = typeof error.message === "string" ? error.message : `HTTP ${response.status}`;
    const fix = typeof error.suggested_fix === "string" ? ` (${error.suggested_fix})` : "";
    process.stderr.write(`connected-accounts sandbox edit: the sandbox refused the edit of ${id}: ${terminalSafe(message)}${terminalSafe(fix)}\n`);
    return 1;
  }
  const account = answer ?? {};
  const reason = typeof account.status_reason === "string" ? ` (${account.status_reason})` : "";
  const alias = typeof account.alias === "string" ? JSON.stringify(account.alias) : "none";
  process.stdout.write(terminalSafe(`${id}: alias ${alias}, ${account.is_disabled ? "disabled" : "enabled"}, status ${String(account.status)}${reason}`) + "\n");
  return 0;
}

const WAIT_USAGE = `usage: connected-accounts sandbox wait [--url URL] [--api-key KEY] [--timeout SECONDS]

Waits until a sandbox answers at URL (default ${DEFAULT_URL}), for scripts that start one in the
background: the first start of a fresh checkout can take a while.

Exit code: 0 it answers, 1 it did not within the timeout (default 120 s), 2 usage error.`;

/** `connected-accounts sandbox wait`: polls the list endpoint until the sandbox answers with its key. */
export function runWait(argv: string[]): Promise<number> {
  return withUsage("sandbox wait", WAIT_USAGE, async () => {
    const { values, help } = parseFlags(argv, ["url", "api-key", "timeout"]);
    if (help) return printHelp(WAIT_USAGE);
    const base = readUrl(values.url ?? DEFAULT_URL);
    const timeout = values.timeout === undefined ? 120 : Number(values.timeout);
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 3600) throw new UsageError(`--timeout must be a whole number of seconds from 1 to 3600, not "${terminalSafe(values.timeout ?? "")}"`);
    const url = new URL("/api/v3/connected_accounts?limit=1", base);
    const deadline = Date.now() + timeout * 1000;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const res = await fetch(url, { headers: { "x-api-key": values["api-key"] ?? DEFAULT_API_KEY }, signal: AbortSignal.timeout(5_000) });
        await res.arrayBuffer();
        if (res.ok) return 0;
        last = `HTTP ${res.status}`;
        // A sandbox that refuses the key will not change its mind.
        if (res.status === 401) break;
      } catch (err) {
        last = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stderr.write(`connected-accounts sandbox wait: no sandbox answered at ${base.origin} within ${timeout} s (${last}): is one starting there (connected-accounts sandbox --port …)?\n`);
    return 1;
  });
}
