/**
 * Connection health: accounts the files expect to work whose connection, as Composio reports it,
 * does not. A preview shows no change for them (the status is Composio's, not the file's), yet they
 * are the most common reason a credential needs attention. Pure: declared × live → what to report.
 */
import type { RemoteAccount } from "./live-account";
import { BROKEN_CONNECTION_STATUSES } from "./status-plan";

/** What the health check needs of an account file. */
export interface DeclaredHealth {
  id: string;
  file: string;
  toolkit: string;
  /** undefined: the file does not manage enabled. */
  enabled?: boolean;
}

export interface UnhealthyAccount {
  id: string;
  file: string;
  toolkit: string;
  alias: string | null;
  status: string;
  statusReason?: string;
  /** What the file says: `enabled: true`, or nothing (not managed). */
  declaredEnabled: boolean | undefined;
  /** What to do, in one sentence. */
  action: string;
}

/** Statuses reported: a broken connection, or an account switched off. */
export const UNHEALTHY_STATUSES: readonly string[] = [...BROKEN_CONNECTION_STATUSES, "INACTIVE"];

/**
 * Each declared account, not declared `enabled: false`, whose live status is EXPIRED, FAILED or
 * INACTIVE; sorted by toolkit, then file. Accounts Composio does not have are drift, not health.
 */
export function unhealthyAccounts(declared: readonly DeclaredHealth[], live: readonly RemoteAccount[]): UnhealthyAccount[] {
  const byId = new Map(live.map((a) => [a.id, a]));
  const out: UnhealthyAccount[] = [];
  for (const account of declared) {
    if (account.enabled === false) continue;
    const remote = byId.get(account.id);
    if (!remote || !UNHEALTHY_STATUSES.includes(remote.status)) continue;
    out.push({
      id: account.id,
      file: account.file,
      toolkit: account.toolkit,
      alias: remote.alias,
      status: remote.status,
      ...(remote.statusReason ? { statusReason: remote.statusReason } : {}),
      declaredEnabled: account.enabled,
      action: actionFor(remote.status, account.enabled),
    });
  }
  return out.sort((a, b) => a.toolkit.localeCompare(b.toolkit) || a.file.localeCompare(b.file));
}

function actionFor(status: string, declaredEnabled: boolean | undefined): string {
  if (status === "EXPIRED") return "Reconnect it in Composio: its credentials expired. Enabling does not repair an expired connection, and nothing in git needs to change.";
  if (status === "FAILED") return "Reconnect it in Composio: the connection failed. Enabling does not repair a failed connection, and nothing in git needs to change.";
  return declaredEnabled
    ? "It was switched off in Composio while the file says enabled: the next apply switches it back on; set enabled: false in the file to keep it off."
    : "It is switched off in Composio and the file does not manage enabled: switch it on in Composio, or add enabled: true to the file so the next apply does.";
}

/** Accounts grouped by toolkit, in order. */
export function byToolkit(accounts: readonly UnhealthyAccount[]): [string, UnhealthyAccount[]][] {
  const groups = new Map<string, UnhealthyAccount[]>();
  for (const a of accounts) groups.set(a.toolkit, [...(groups.get(a.toolkit) ?? []), a]);
  return [...groups];
}
