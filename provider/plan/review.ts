/**
 * What a change to the account files intends for one account, as a review shows it. The requests
 * are decided by the functions that decide them at apply time (planPatch, planStatus), fed each
 * side's inputs with what can be known offline: so `plan` and the preview cannot disagree on what
 * is sent. A review also shows what no request carries (an alias or `enabled` no longer managed,
 * settings, pauses), from the same inputs. Pure: no file, no value, no network.
 */
import type { DesiredAccount } from "./account-state";
import { planPatch, type CredentialChanges } from "./patch-plan";
import { planStatus } from "./status-plan";

/**
 * adopt: the account comes under management; release: its file is gone, so it is no longer managed
 * (the account itself is never deleted); update: something it declares changes.
 */
export type PlanAction = "adopt" | "update" | "release" | "unchanged";

export type CredentialChangeKind = keyof CredentialChanges;

/** Account settings besides alias and credentials, compared as they are. */
const SETTINGS = ["toolkit", "userId", "authScheme", "manage", "paused"] as const;
export type Setting = (typeof SETTINGS)[number];

/**
 * When the change takes effect, for changes that do not simply apply at the next `up`:
 * observe: from now on the account is only read, nothing is written and Composio is left as it is;
 * paused: nothing is sent while the account is paused, its changes wait until it is unpaused;
 * unpaused: unpausing applies what the file declares, including what changed while it was paused.
 */
export type Lifecycle = "observe" | "paused" | "unpaused";

export interface AccountReview {
  action: PlanAction;
  /** Only when the alias changes; null: not managed. */
  alias?: { from: string | null; to: string | null };
  /** Only when `enabled` changes; null: not managed. */
  enabled?: { from: boolean | null; to: boolean | null };
  /** Only the settings that change. */
  settings?: Partial<Record<Setting, { from: string | boolean; to: string | boolean }>>;
  /** The credential keys the PATCH sends (added, changed) or clears (removed), each list sorted. */
  credentials: CredentialChanges;
  lifecycle?: Lifecycle;
}

/**
 * Base × head → what the change intends for the account; undefined on a side: no file there.
 * Each side is the account as the program registers it, its `fingerprints` standing for what the
 * review can tell of each value offline: they differ exactly when the source as written differs,
 * or when committed files show the value changed behind the same source.
 */
export function reviewAccount(base: DesiredAccount | undefined, head: DesiredAccount | undefined): AccountReview {
  if (!head) return { action: "release", credentials: noCredentials() };
  const h = asApplied(head);
  // Switching to observe stops writing: what the base declared is left in Composio as it is, not removed.
  const b = base && (head.manage === "observe" ? asObserved(base) : asApplied(base));
  const patch = planPatch(b, h);
  const status = planStatus(b, h);
  const review: AccountReview = { action: b ? "unchanged" : "adopt", credentials: patch.credentials };
  const alias = patch.alias ? { from: patch.alias.from ?? null, to: patch.alias.to } : b?.alias !== undefined && h.alias === undefined ? { from: b.alias, to: null } : undefined;
  if (alias) review.alias = alias;
  const enabled = status ? { from: status.from ?? null, to: status.body.enabled } : b?.enabled !== undefined && h.enabled === undefined ? { from: b.enabled, to: null } : undefined;
  if (enabled) review.enabled = enabled;
  if (b) {
    for (const setting of SETTINGS) {
      const from = settingOf(b, setting);
      const to = settingOf(h, setting);
      if (from !== to) (review.settings ??= {})[setting] = { from, to };
    }
    const credentials = Object.values(patch.credentials).some((keys) => keys.length > 0);
    if (review.alias || review.enabled || review.settings || credentials) review.action = "update";
  }
  if (review.action !== "unchanged") {
    const lifecycle = lifecycleOf(b, h);
    if (lifecycle) review.lifecycle = lifecycle;
  }
  return review;
}

/** An observed account is only read: its alias, `enabled` and credentials are never sent, so they intend nothing. */
function asApplied(a: DesiredAccount): DesiredAccount {
  return a.manage === "observe" ? asObserved(a) : a;
}

function asObserved(a: DesiredAccount): DesiredAccount {
  const { alias: _alias, enabled: _enabled, removedCredentials: _removed, fingerprints: _fingerprints, ...rest } = a;
  return { ...rest, credentials: {} };
}

function settingOf(a: DesiredAccount, setting: Setting): string | boolean {
  if (setting === "manage") return a.manage ?? "full";
  if (setting === "paused") return a.paused ?? false;
  return a[setting];
}

function lifecycleOf(b: DesiredAccount | undefined, h: DesiredAccount): Lifecycle | undefined {
  if (h.paused) return "paused";
  if (b?.paused) return "unpaused";
  if (h.manage === "observe" && b?.manage !== "observe") return "observe";
  return undefined;
}

function noCredentials(): CredentialChanges {
  return { added: [], changed: [], removed: [] };
}
