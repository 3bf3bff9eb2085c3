import type { SandboxAccount } from "../../sandbox/server";

const COLUMNS = ["id", "toolkit", "user", "alias", "status", "credentials"] as const;

/**
 * The sandbox's accounts as a plain-text table. Credentials show by key name only: the sandbox holds
 * their values in plain, and they must not reach a terminal.
 */
export function formatAccountsTable(accounts: readonly SandboxAccount[]): string {
  if (accounts.length === 0) return "(no accounts)\n";
  const rows = accounts.map((a) => [
    a.id,
    a.toolkit,
    a.userId,
    a.alias === null ? "-" : JSON.stringify(a.alias),
    a.status,
    Object.keys(a.val).sort().join(", ") || "-",
  ]);
  const widths = COLUMNS.map((name, i) => Math.max(name.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(COLUMNS), ...rows.map(line)].join("\n") + "\n";
}
