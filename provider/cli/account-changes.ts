/**
 * What a pull request intends for each account: the account files at the base × at the head, matched
 * by id. Pure and offline: references are compared as written (which variable, which key, which
 * file), never resolved, so a review needs no secret and can show nothing secret.
 */
import * as path from "node:path";
import { describeRef, type AccountFile, type CredentialSpec } from "../accounts/account";
import { authSchemeChangeRefused, isNonSecretField } from "../accounts/fields";
import type { AccountProblem } from "../accounts/problem";
import { isSopsRef, sopsRecipientsChange, sopsTarget, storedSopsValue, type StoredSopsFiles } from "../references/sops";
import { keyPath } from "../references/sops-document";

/**
 * adopt: the account comes under management; release: its file is gone, so it is no longer managed
 * (the account itself is never deleted); update: something it declares changes.
 */
export type PlanAction = "adopt" | "update" | "release" | "unchanged";
export const PLAN_ACTIONS: readonly PlanAction[] = ["adopt", "update", "release", "unchanged"];

export type CredentialChangeKind = "added" | "changed" | "removed";

/** One credential key that changes, described by its references; a literal only for non-secret fields. */
export interface CredentialChange {
  key: string;
  kind: CredentialChangeKind;
  /** e.g. `env A`, `config key`, `file path`, `"literal"`, `null`; absent when the key was not in the file. */
  from?: string;
  to?: string;
  /** Why a key whose reference reads the same changes: its value changed in the SOPS file (seen from the ciphertext). */
  note?: string;
}

/**
 * The stored SOPS files of each side, to see a value rotated inside a file: the reference is the
 * same, its ciphertext is not. Absent: references are compared as written only.
 */
export interface SopsSides {
  base: StoredSopsFiles;
  head: StoredSopsFiles;
}

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

export interface AccountChange {
  id: string;
  /** The file at the head (the base file for a release), relative to the working directory. */
  file: string;
  /** The file at the base, when the account's file was renamed or moved. */
  movedFrom?: string;
  action: PlanAction;
  /** Only when the alias changes; null: not managed. */
  alias?: { from: string | null; to: string | null };
  /** Only when `enabled` changes; null: not managed. */
  enabled?: { from: boolean | null; to: boolean | null };
  /** Only the settings that change. */
  settings?: Partial<Record<Setting, { from: string | boolean; to: string | boolean }>>;
  credentials: Record<CredentialChangeKind, string[]>;
  /** The same keys as `credentials`, with what each reference was and becomes, sorted by key. */
  credentialDetails: CredentialChange[];
  lifecycle?: Lifecycle;
}

export interface ReviewPlan {
  summary: Record<PlanAction, number>;
  /** Every account of either side, sorted by file then id. */
  accounts: AccountChange[];
  /** Changes `pulumi preview` will refuse (an auth scheme changed on the same id), at the head file. */
  refused: AccountProblem[];
}

/** `display` turns an account into the path shown to the user. */
export function compareAccounts(allBase: readonly AccountFile[], allHead: readonly AccountFile[], display: (a: AccountFile) => string, sops?: SopsSides): ReviewPlan {
  const base = allBase.map(asApplied);
  const head = allHead.map(asApplied);
  const baseById = new Map(base.map((a) => [a.id, a]));
  const headIds = new Set(head.map((a) => a.id));
  const accounts: AccountChange[] = [];
  const refused: AccountProblem[] = [];
  for (const h of head) {
    const b = baseById.get(h.id);
    accounts.push(b ? compareOne(b, h, display, sops) : adopt(h, display(h)));
    if (b && b.authScheme !== h.authScheme) {
      const { message, fix } = authSchemeChangeRefused(h.id, b.authScheme, h.authScheme);
      refused.push({ file: display(h), ...h.locate(["authScheme"]), field: "authScheme", message, fix });
    }
  }
  for (const b of base) {
    if (!headIds.has(b.id)) accounts.push({ id: b.id, file: display(b), action: "release", credentials: emptyCredentials(), credentialDetails: [] });
  }
  accounts.sort((x, y) => x.file.localeCompare(y.file) || x.id.localeCompare(y.id));
  const summary = { adopt: 0, update: 0, release: 0, unchanged: 0 };
  for (const a of accounts) summary[a.action]++;
  return { summary, accounts, refused };
}

/** An observed account is only read: its alias and credentials are never sent, so they intend nothing. */
function asApplied(a: AccountFile): AccountFile {
  return a.manage === "observe" ? asObserved(a) : a;
}

function asObserved(a: AccountFile): AccountFile {
  return { ...a, alias: undefined, enabled: undefined, credentials: {} };
}

function lifecycleOf(b: AccountFile | undefined, h: AccountFile): Lifecycle | undefined {
  if (h.paused) return "paused";
  if (b?.paused) return "unpaused";
  if (h.manage === "observe" && b?.manage !== "observe") return "observe";
  return undefined;
}

function adopt(h: AccountFile, file: string): AccountChange {
  const change: AccountChange = { id: h.id, file, action: "adopt", credentials: emptyCredentials(), credentialDetails: [] };
  const lifecycle = lifecycleOf(undefined, h);
  if (lifecycle) change.lifecycle = lifecycle;
  if (h.alias !== undefined) change.alias = { from: null, to: h.alias };
  if (h.enabled !== undefined) change.enabled = { from: null, to: h.enabled };
  for (const key of Object.keys(h.credentials).sort()) {
    const spec = h.credentials[key];
    const kind = spec.kind === "remove" ? "removed" : "added";
    change.credentials[kind].push(key);
    change.credentialDetails.push({ key, kind, to: describeSpec(key, spec) });
  }
  return change;
}

function compareOne(before: AccountFile, h: AccountFile, display: (a: AccountFile) => string, sops: SopsSides | undefined): AccountChange {
  // Switching to observe stops writing: what the base declared is left in Composio as it is, not removed.
  const b = h.manage === "observe" ? asObserved(before) : before;
  const change: AccountChange = { id: h.id, file: display(h), action: "unchanged", credentials: emptyCredentials(), credentialDetails: [] };
  if (path.resolve(b.path) !== path.resolve(h.path)) change.movedFrom = display(b);
  const fromAlias = b.alias ?? null;
  const toAlias = h.alias ?? null;
  if (fromAlias !== toAlias) change.alias = { from: fromAlias, to: toAlias };
  if (b.enabled !== h.enabled) change.enabled = { from: b.enabled ?? null, to: h.enabled ?? null };
  for (const setting of SETTINGS) {
    if (b[setting] !== h[setting]) (change.settings ??= {})[setting] = { from: b[setting], to: h[setting] };
  }
  const keys = [...new Set([...Object.keys(b.credentials), ...Object.keys(h.credentials)])].sort();
  for (const key of keys) {
    // Own keys only: `constructor` or `toString` must not find Object's and read as changed.
    const from = Object.hasOwn(b.credentials, key) ? b.credentials[key] : undefined;
    const to = Object.hasOwn(h.credentials, key) ? h.credentials[key] : undefined;
    const note = from && to ? sopsRotation(b, from, h, to, sops) : undefined;
    const kind = note ? "changed" : credentialChange(b, from, h, to);
    if (!kind) continue;
    change.credentials[kind].push(key);
    const detail: CredentialChange = { key, kind };
    if (from) detail.from = describeSpec(key, from);
    if (to) detail.to = describeSpec(key, to);
    if (note) detail.note = note;
    change.credentialDetails.push(detail);
  }
  const changed = change.alias || change.enabled || change.settings || change.credentialDetails.length > 0;
  if (changed) {
    change.action = "update";
    const lifecycle = lifecycleOf(b, h);
    if (lifecycle) change.lifecycle = lifecycle;
  }
  return change;
}

/**
 * A key that stops being sent (set to null, or dropped from the file) is removed; one that starts
 * being sent is added; one sent from another source, or with another literal, is changed. A key that
 * was null and is now dropped changes nothing: it was already removed.
 */
function credentialChange(b: AccountFile, from: CredentialSpec | undefined, h: AccountFile, to: CredentialSpec | undefined): CredentialChangeKind | undefined {
  const sentBefore = from !== undefined && from.kind !== "remove";
  const sentNow = to !== undefined && to.kind !== "remove";
  if (sentBefore && !sentNow) return "removed";
  if (!sentBefore && sentNow) return "added";
  if (sentBefore && sentNow) return sameSource(b, from, h, to) ? undefined : "changed";
  // Neither side sends it: only a newly written `null` is news.
  return to?.kind === "remove" && from === undefined ? "removed" : undefined;
}

function sameSource(b: AccountFile, from: CredentialSpec, h: AccountFile, to: CredentialSpec): boolean {
  if (from.kind === "literal" && to.kind === "literal") return from.value === to.value;
  if (from.kind !== "ref" || to.kind !== "ref") return false;
  const x = from.ref;
  const y = to.ref;
  if ("env" in x && "env" in y) return x.env === y.env;
  if ("config" in x && "config" in y) return x.config === y.config;
  // Relative to the account file: the same text names another file once the account file moves.
  if ("file" in x && "file" in y) return path.resolve(path.dirname(b.path), x.file) === path.resolve(path.dirname(h.path), y.file);
  if (isSopsRef(x) && isSopsRef(y)) return sopsTarget(b, x) === sopsTarget(h, y) && keyPath(x.key).join("\0") === keyPath(y.key).join("\0");
  return false;
}

/**
 * A value rotated inside a SOPS file (or the file's recipients changed): the same file and key on both sides, another ciphertext (SOPS
 * keeps a value's ciphertext while the value stays the same, and re-encrypts it when it changes).
 * Undefined when nothing changed, or when the references differ (then they say what changed).
 */
function sopsRotation(b: AccountFile, from: CredentialSpec, h: AccountFile, to: CredentialSpec, sops: SopsSides | undefined): string | undefined {
  if (!sops || from.kind !== "ref" || to.kind !== "ref" || !isSopsRef(from.ref) || !isSopsRef(to.ref) || !sameSource(b, from, h, to)) return undefined;
  const before = storedSopsValue(from.ref, b, sops.base);
  const after = storedSopsValue(to.ref, h, sops.head);
  if ("message" in after) return undefined;
  if ("message" in before) return `key added to ${to.ref.sops}`;
  if (before.ciphertext !== after.ciphertext) return `encrypted value changed in ${to.ref.sops}`;
  return sopsRecipientsChange(to.ref.sops, sopsTarget(b, from.ref), sops.base, sopsTarget(h, to.ref), sops.head);
}

/** How a credential is given, in words safe to print: never a secret, since secrets are never literals. */
export function describeSpec(key: string, spec: CredentialSpec): string {
  if (spec.kind === "remove") return "null";
  if (spec.kind === "ref") return describeRef(spec.ref);
  // Validation refuses literal secrets; the check here keeps that true even for a file that slipped by.
  return isNonSecretField(key) ? JSON.stringify(spec.value) : "a literal value";
}

function emptyCredentials(): Record<CredentialChangeKind, string[]> {
  return { added: [], changed: [], removed: [] };
}
