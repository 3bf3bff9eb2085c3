import type { DesiredAccount, RecordedAccount } from "./account-state";
import type { PatchPlan } from "./patch-plan";

/** Body of `PATCH /api/v3/connected_accounts/{nanoid}/status`. */
export interface StatusBody {
  enabled: boolean;
}

/** The status request one account needs, and what a reviewer should be told. */
export interface StatusPlan {
  nanoid: string;
  body: StatusBody;
  /** What was recorded before; undefined when nothing was (adoption, or `enabled` newly declared). */
  from?: boolean;
}

/**
 * Recorded × desired → the status request, or undefined when there is nothing to send: the file
 * does not say `enabled` (unmanaged), or Composio already has the declared value. Without a record
 * (adoption, or a newly declared `enabled`) the declared value is sent once, as credentials are.
 */
export function planStatus(recorded: Pick<RecordedAccount, "enabled"> | undefined, desired: DesiredAccount): StatusPlan | undefined {
  if (desired.enabled === undefined || recorded?.enabled === desired.enabled) return undefined;
  const plan: StatusPlan = { nanoid: desired.nanoid, body: { enabled: desired.enabled } };
  if (recorded?.enabled !== undefined) plan.from = recorded.enabled;
  return plan;
}

export type ApplyStep = "status" | "patch";

/**
 * The order of one account's requests. Disabling goes first, so a leaked key is cut off before
 * anything else is sent; enabling goes last, so a rotated key never goes live before it is in place.
 */
export function applyOrder(patch: Pick<PatchPlan, "body">, status: StatusPlan | undefined): ApplyStep[] {
  const steps: ApplyStep[] = patch.body ? ["patch"] : [];
  if (!status) return steps;
  return status.body.enabled ? [...steps, "status"] : ["status", ...steps];
}

/** Statuses a status request leaves as they are: the connection itself is broken, not switched off. */
export const BROKEN_CONNECTION_STATUSES: readonly string[] = ["EXPIRED", "FAILED"];

/**
 * The status Composio reports after a status request (which answers only `{success}`): INACTIVE
 * once disabled, ACTIVE once enabled, except that an EXPIRED or FAILED connection stays so. The
 * next refresh records what Composio actually reports.
 */
export function statusAfter(enabled: boolean, before: string | undefined): string | undefined {
  if (before !== undefined && BROKEN_CONNECTION_STATUSES.includes(before)) return before;
  return enabled ? "ACTIVE" : "INACTIVE";
}

/** Why an account that is enabled still cannot be used, when its connection is broken. */
export function brokenConnectionNote(nanoid: string, status: string | undefined): string | undefined {
  if (status === undefined || !BROKEN_CONNECTION_STATUSES.includes(status)) return undefined;
  return `connected account ${nanoid} is enabled, but its connection is ${status}: enabling does not repair a connection. Reconnect it in Composio.`;
}
