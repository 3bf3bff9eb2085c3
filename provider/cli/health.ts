/**
 * `connected-accounts health`: accounts whose connection Composio reports as EXPIRED, FAILED or
 * INACTIVE while the account file says enabled (or does not manage it), grouped by toolkit, with
 * what to do. The drift workflow runs it beside its preview and lists them in the stack's issue.
 */
import * as fs from "node:fs";
import { parse } from "yaml";
import { ComposioClient } from "../composio/client";
import { byToolkit, unhealthyAccounts, type UnhealthyAccount } from "../plan/health";
import type { RemoteAccount } from "../plan/live-account";
import { loadWorkspaceAccounts, locateWorkspace, requireAccountsDir, type Workspace } from "../project/workspace";
import { apiSettings, CONFIG_NAMESPACE } from "../settings";
import { terminalSafe } from "../text/terminal-text";
import { parseFlags, parseFormat, printHelp, UsageError, withUsage } from "./flags";
import { formatProblemsText } from "./format-problems";

const USAGE = `usage: connected-accounts health [--stack <name>] [--dir <folder>] [--format text|json]

Reads every account of the account files from Composio and lists those whose connection is
EXPIRED, FAILED or INACTIVE while the file says enabled (or does not manage enabled), grouped by
toolkit, with what to do. A preview shows no change for them: the status is Composio's, not git's.

The API key is read from COMPOSIO_API_KEY only; the API from the stack file's
${CONFIG_NAMESPACE}:baseUrl, else COMPOSIO_BASE_URL (default https://backend.composio.dev).

  --stack   the stack whose accountsDir and baseUrl to use (default: PULUMI_STACK, if set)
  --dir     accounts folder (default: the stack's accountsDir, else accounts/ at the project root)
  --format  text (default) or json: {"ok", "accounts": [{id, file, toolkit, alias, status, statusReason, declaredEnabled, action}]}

Exit code: 0 every account healthy, 1 some need attention (or invalid account files), 2 usage
error or no API key, 3 Composio could not be read.`;

const FORMATS = ["text", "json"] as const;
/** Ids per list request: a URL of 100 nanoids stays far below any server's limit. */
const IDS_PER_REQUEST = 100;

export function run(argv: string[]): Promise<number> {
  return withUsage("health", USAGE, async () => {
    const { values, help } = parseFlags(argv, ["stack", "dir", "format"]);
    if (help) return printHelp(USAGE);
    const format = parseFormat(values.format, FORMATS, "text");
    const ws = await locateWorkspace({ dir: values.dir, stack: values.stack });
    requireAccountsDir(ws);
    const settings = apiSettings((key) => (key === `${CONFIG_NAMESPACE}:baseUrl` ? stackBaseUrl(ws) : undefined), process.env);
    if (!settings.apiKey) throw new UsageError("no Composio API key: export COMPOSIO_API_KEY=<project API key> (it is read from the environment only, never from a flag)", false);
    const loaded = loadWorkspaceAccounts(ws, "reading account files");
    if (loaded.problems.length > 0) {
      process.stdout.write(formatProblemsText(loaded.problems, loaded.files));
      return 1;
    }
    const client = new ComposioClient(settings);
    let live: RemoteAccount[] = [];
    try {
      const ids = loaded.accounts.map((a) => a.id);
      for (let i = 0; i < ids.length; i += IDS_PER_REQUEST) live.push(...(await client.listAll({ ids: ids.slice(i, i + IDS_PER_REQUEST) }, IDS_PER_REQUEST)));
    } catch (err) {
      process.stderr.write(`connected-accounts health: ${err instanceof Error ? err.message : String(err)}\n`);
      return 3;
    } finally {
      await client.close();
    }
    const unhealthy = unhealthyAccounts(loaded.accounts.map((a) => ({ id: a.id, file: a.file, toolkit: a.toolkit, enabled: a.enabled })), live);
    process.stdout.write(format === "json" ? `${JSON.stringify({ ok: unhealthy.length === 0, checked: loaded.accounts.length, accounts: unhealthy }, null, 2)}\n` : formatText(unhealthy, loaded.accounts.length));
    return unhealthy.length === 0 ? 0 : 1;
  });
}

/** The stack file's plain baseUrl, when it has one (a test stack pointing at a sandbox, say). */
function stackBaseUrl(ws: Workspace): string | undefined {
  if (!ws.stack || !fs.existsSync(ws.stack.file)) return undefined;
  try {
    const value = (parse(fs.readFileSync(ws.stack.file, "utf8")) as { config?: Record<string, unknown> } | null)?.config?.[`${CONFIG_NAMESPACE}:baseUrl`];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

function formatText(unhealthy: readonly UnhealthyAccount[], checked: number): string {
  if (unhealthy.length === 0) return `${checked} account${checked === 1 ? "" : "s"} checked: every connection is healthy\n`;
  const lines: string[] = [];
  for (const [toolkit, accounts] of byToolkit(unhealthy)) {
    lines.push(`${toolkit}:`);
    for (const a of accounts) {
      lines.push(`  ${a.id}${a.alias ? ` (${a.alias})` : ""}  ${a.file}  ${a.status}${a.statusReason ? `: ${a.statusReason}` : ""}`);
      lines.push(`    ${a.action}`);
    }
  }
  lines.push(`${unhealthy.length} of ${checked} account${checked === 1 ? "" : "s"} need${unhealthy.length === 1 ? "s" : ""} attention`);
  // Aliases and reasons come from the API: each line escaped on its own, so none can forge another.
  return lines.map(terminalSafe).join("\n") + "\n";
}
