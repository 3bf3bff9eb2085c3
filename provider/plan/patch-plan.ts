import { diff } from "deep-diff";
import type { DesiredAccount, RecordedAccount } from "./account-state";

/** Body of `PATCH /api/v3/connected_accounts/{nanoid}`: only what changes. */
export interface PatchBody {
  alias?: string;
  connection?: { state: { authScheme: string; val: Record<string, string | null> } };
}

export interface CredentialChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

/** What one account needs: the request to send (if any) and what a reviewer should be told. */
export interface PatchPlan {
  nanoid: string;
  /** undefined: nothing to send. */
  body?: PatchBody;
  alias?: { from?: string; to: string };
  credentials: CredentialChanges;
}

/**
 * Recorded × desired → the minimal PATCH. Without a recorded state (adoption) everything declared is
 * sent once, because credentials cannot be read back to compare.
 *
 * Credential values are compared by their keyed fingerprints, never by value: neither the inputs
 * nor the recorded state hold a credential value (whatever the engine sees reaches its logs in plain
 * text, secret or not). `values` are what the provider read for the fields to send; without them
 * (a diff) the plan still tells what would be sent.
 */
export function planPatch(recorded: RecordedAccount | undefined, desired: DesiredAccount, values: Readonly<Record<string, string>> = {}): PatchPlan {
  const plan: PatchPlan = { nanoid: desired.nanoid, credentials: { added: [], changed: [], removed: [] } };
  const body: PatchBody = {};
  if (desired.alias !== undefined && desired.alias !== recorded?.alias) {
    body.alias = desired.alias;
    plan.alias = { from: recorded?.alias, to: desired.alias };
  }
  const val: Record<string, string | null> = {};
  // Without a record, nothing was applied yet: every declared key is new.
  const applied = recorded?.fingerprints ?? {};
  const removed = desired.removedCredentials ?? [];
  for (const change of diff(applied, desired.fingerprints ?? {}) ?? []) {
    const key = String(change.path?.[0]);
    if (change.kind === "N") {
      plan.credentials.added.push(key);
      val[key] = values[key];
    } else if (change.kind === "E") {
      plan.credentials.changed.push(key);
      val[key] = values[key];
    } else if (change.kind === "D" && !removed.includes(key)) {
      // Managed before, gone from the file now: remove it remotely rather than leave a stale secret.
      plan.credentials.removed.push(key);
      val[key] = null;
    }
  }
  // Same value from another source (`env: A` → `env: B`): the preview shows the reference change,
  // so the key is sent (setting a value is idempotent). Records without references say nothing.
  const sources = recorded?.credentials ?? {};
  for (const key of Object.keys(desired.fingerprints ?? {})) {
    if (key in val || !Object.hasOwn(applied, key) || !Object.hasOwn(sources, key)) continue;
    if (JSON.stringify(sources[key]) === JSON.stringify(desired.credentials[key])) continue;
    plan.credentials.changed.push(key);
    val[key] = values[key];
  }
  const alreadyRemoved = recorded?.removedCredentials ?? [];
  for (const key of removed) {
    // Own keys only: a key named like an object internal (`constructor`) must not find Object's.
    if (alreadyRemoved.includes(key) && !Object.hasOwn(applied, key)) continue;
    plan.credentials.removed.push(key);
    val[key] = null;
  }
  for (const list of Object.values(plan.credentials)) list.sort();
  if (Object.keys(val).length > 0) {
    body.connection = { state: { authScheme: desired.authScheme, val: sortKeys(val) } };
  }
  if (body.alias !== undefined || body.connection) plan.body = body;
  return plan;
}

/** True when the recorded state differs from the desired one in anything Pulumi keeps, even without a request. */
export function recordDiffers(recorded: RecordedAccount, desired: DesiredAccount): boolean {
  const keep = (a: RecordedAccount | DesiredAccount) => ({
    nanoid: a.nanoid, toolkit: a.toolkit, userId: a.userId, authScheme: a.authScheme, alias: a.alias,
    removedCredentials: a.removedCredentials ?? [], fingerprints: a.fingerprints ?? {}, manage: a.manage, enabled: a.enabled,
  });
  return diff(keep(recorded), keep(desired)) !== undefined;
}

function sortKeys<T>(obj: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => a.localeCompare(b)));
}
