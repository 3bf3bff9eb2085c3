import { terminalSafe } from "../text/terminal-text";

export interface FleetRow {
  id: string;
  toolkit: string;
  /** undefined until the account has been written or refreshed once. */
  status?: string;
}

/** Accounts listed by name in `notActive`; the rest are counted. A screenful, whatever the fleet. */
export const MAX_NOT_ACTIVE_LISTED = 20;

/**
 * The `fleet` stack output, the only one: what an on-call engineer wants first (counts, and the
 * accounts that are not ACTIVE), of a size that does not grow with the fleet. Pulumi prints a
 * changed output whole in every preview and up, so a per-account output would print thousands of
 * lines for one change.
 */
export interface FleetSummary {
  total: number;
  byToolkit: Record<string, number>;
  byStatus: Record<string, number>;
  /** The first accounts (by id) that are not ACTIVE, at most MAX_NOT_ACTIVE_LISTED. */
  notActive: { id: string; toolkit: string; status: string }[];
  /** Present when more accounts are not ACTIVE than `notActive` lists: how many are left out. */
  notActiveNotListed?: number;
}

export function summarizeFleet(rows: FleetRow[]): FleetSummary {
  const byToolkit: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const notActive: FleetSummary["notActive"] = [];
  let notListed = 0;
  for (const row of [...rows].sort((a, b) => a.id.localeCompare(b.id))) {
    // A status recorded by an earlier version may still hold what the API sent raw: keys too are shown.
    const status = row.status === undefined ? "UNKNOWN" : terminalSafe(row.status);
    byToolkit[row.toolkit] = (byToolkit[row.toolkit] ?? 0) + 1;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (status === "ACTIVE") continue;
    if (notActive.length < MAX_NOT_ACTIVE_LISTED) notActive.push({ id: row.id, toolkit: row.toolkit, status });
    else notListed++;
  }
  const summary: FleetSummary = { total: rows.length, byToolkit: sortKeys(byToolkit), byStatus: sortKeys(byStatus), notActive };
  if (notListed > 0) summary.notActiveNotListed = notListed;
  return summary;
}

function sortKeys(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
