import { terminalSafe } from "../cli/terminal-text";

export interface FleetRow {
  id: string;
  toolkit: string;
  /** undefined until the account has been written or refreshed once. */
  status?: string;
}

/** The `fleet` stack output: what an on-call engineer wants first, accounts that are not ACTIVE. */
export interface FleetSummary {
  total: number;
  byToolkit: Record<string, number>;
  byStatus: Record<string, number>;
  notActive: { id: string; toolkit: string; status: string }[];
}

export function summarizeFleet(rows: FleetRow[]): FleetSummary {
  const byToolkit: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  const notActive: FleetSummary["notActive"] = [];
  for (const row of [...rows].sort((a, b) => a.id.localeCompare(b.id))) {
    // A status recorded by an earlier version may still hold what the API sent raw: keys too are shown.
    const status = row.status === undefined ? "UNKNOWN" : terminalSafe(row.status);
    byToolkit[row.toolkit] = (byToolkit[row.toolkit] ?? 0) + 1;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    if (status !== "ACTIVE") notActive.push({ id: row.id, toolkit: row.toolkit, status });
  }
  return { total: rows.length, byToolkit, byStatus, notActive };
}
