/**
 * The lifecycle of one managed account, decided from what is recorded, what the file declares and
 * what Composio reports: adopt, update, release; pause freezes it; observe only reads it; state
 * written by earlier versions is read without its credential values; what a record keeps; what is
 * recorded when a later request fails after an earlier one went through. Pure: the Pulumi adapter
 * asks these questions and does the I/O; nothing here reads a file, a value or the network.
 */
import type { RemoteAccount } from "./live-account";
import type { DesiredAccount, RecordedAccount, RegisteredAccount } from "./account-state";
import { adoptionMismatches } from "./live-check";
import { CONFIG_NAMESPACE } from "../settings";
import { planPatch, recordDiffers, type PatchBody, type PatchPlan } from "./patch-plan";
import { applyOrder, brokenConnectionNote, planStatus, statusAfter, type StatusBody, type StatusPlan } from "./status-plan";

/** What the engine sends during preview for a value not known yet. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** State written by earlier versions: 0.1 recorded credential values beside their fingerprints. */
export type LegacyRecord = RecordedAccount & { credentials?: unknown; accountFile?: unknown };

/** True when a value is not known yet (preview). `__provider` is skipped: code, not a value (0.1's provider module held the marker itself). */
export function hasUnknowns(inputs: RegisteredAccount): boolean {
  return Object.entries(inputs).some(([key, value]) => !key.startsWith("__") && JSON.stringify(value)?.includes(UNKNOWN));
}

/** The inputs recorded for this account, without the engine's own keys (`__provider`); none when the file now names another account. */
export function recordedInputs(olds: DesiredAccount | undefined, news: RegisteredAccount): DesiredAccount | undefined {
  if (olds?.nanoid !== news.nanoid) return undefined;
  return Object.fromEntries(Object.entries(olds).filter(([key]) => !key.startsWith("__"))) as unknown as DesiredAccount;
}

/** Why the file may not change the scheme an account was connected with; undefined when it does not. */
export function authSchemeProblem(recorded: DesiredAccount | undefined, news: RegisteredAccount): string | undefined {
  if (!recorded?.authScheme || news.authScheme === UNKNOWN || recorded.authScheme === news.authScheme) return undefined;
  return (
    `connected account ${news.nanoid}: authScheme cannot change from ${recorded.authScheme} to ${news.authScheme}; ` +
    "Composio keeps the scheme an account was connected with. Put back the recorded scheme, or connect a new account with the new scheme and point the file at its id."
  );
}

/** What Check must learn outside the inputs before it can answer. */
export interface CheckNeeds {
  /** Read the credential values (to fingerprint them). Paused and observed accounts send none: an incident's missing secret blocks nothing. */
  credentials: boolean;
  /** Read the account from Composio to check the file describes it (an adoption, when nothing else failed). */
  adoption: boolean;
}

export function checkNeeds(news: RegisteredAccount, recorded: DesiredAccount | undefined, unknowns: boolean): CheckNeeds {
  const frozenOrUnknown = Boolean(news.paused) || unknowns;
  return {
    credentials: !frozenOrUnknown && news.manage !== "observe",
    adoption: !frozenOrUnknown && (!recorded || neverApplied(recorded)),
  };
}

/** Why an account with credentials cannot be checked without the stack's fingerprint key. */
export function missingFingerprintKey(news: RegisteredAccount, key: string | undefined): string | undefined {
  if (key || Object.keys(news.credentials ?? {}).length === 0) return undefined;
  const setting = `${CONFIG_NAMESPACE}:fingerprintKey`;
  return `stack config ${setting} is not set; fix: pulumi config set --secret ${setting} "$(openssl rand -hex 32)"`;
}

/** Checked inputs with the fingerprints of what was read; none recorded when there are none. */
export function withFingerprints(news: RegisteredAccount, fingerprints: Record<string, string>): DesiredAccount {
  return Object.keys(fingerprints).length > 0 ? { ...news, fingerprints } : { ...news };
}

/**
 * What Check returns, which is what the preview shows (recorded inputs against these) and what the
 * state keeps: what the next up will apply, and nothing it will not. A paused account keeps the
 * recorded values of everything the pause freezes, so only the pause shows; unpausing shows the
 * whole pending change. An account switched to observe keeps them too (it is only read from then
 * on): nothing else is written, so nothing else may show.
 */
export function checkedInputs(recorded: DesiredAccount | undefined, news: DesiredAccount, remote: RemoteAccount | undefined): DesiredAccount {
  if (news.paused) return recorded ? { ...frozen(recorded, news), paused: true } : { ...identityOf(news), paused: true };
  if (news.manage !== "observe") return news;
  if (recorded) {
    const { paused: _unpaused, ...kept } = frozen(recorded, news);
    return { ...kept, manage: "observe" };
  }
  // Observing from the start: the alias is what Composio has, as it will be recorded.
  const observedNew: DesiredAccount = { ...identityOf(news), manage: "observe" };
  if (remote) observedNew.alias = remote.alias ?? "";
  // Likewise `enabled`, where the file says it: read, as it will be recorded, never sent.
  if (remote && news.enabled !== undefined) observedNew.enabled = !remote.isDisabled;
  return observedNew;
}

/** The engine's answer to Diff: whether the account changes, and whether it is another account. */
export interface AccountDiff {
  changes: boolean;
  replaces?: string[];
  deleteBeforeReplace?: boolean;
}

/**
 * Recorded × checked inputs → whether an up has anything to do for the account. `refused`: Check
 * refused it outside a preview, so its Update runs (and fails, keeping what was recorded).
 */
export function diffAccount(olds: RecordedAccount | LegacyRecord, news: DesiredAccount, refused: boolean): AccountDiff {
  if (olds.nanoid !== news.nanoid) return { changes: true, replaces: ["nanoid"], deleteBeforeReplace: false };
  if (refused) return { changes: true };
  // A paused account is frozen: whatever the file says waits until it is unpaused. Pausing itself
  // is recorded (without a call), so that a refresh knows to leave the account alone too.
  if (news.paused) return { changes: !olds.paused };
  if (olds.manage !== news.manage || olds.paused !== news.paused) return { changes: true };
  // An observed account is only read; declaring `enabled` (or dropping it) changes what is recorded.
  if (news.manage === "observe") return { changes: (olds.enabled === undefined) !== (news.enabled === undefined) };
  if (hasUnknowns(news)) return { changes: true };
  const recorded = normalizeRecorded(olds);
  const desired = normalize(news);
  return { changes: planPatch(recorded, desired).body !== undefined || planStatus(recorded, desired) !== undefined || recordDiffers(recorded, desired) };
}

/** Adopted while paused, or before anything was applied: an empty record, so that unpausing (or retrying) applies everything the file says. */
export function nothingApplied(desired: DesiredAccount): RecordedAccount {
  return record({ ...desired, alias: undefined, removedCredentials: [], fingerprints: {}, enabled: undefined }, undefined);
}

/** What an adoption starts from: nothing applied, with `enabled` and the status as Composio has them. */
export function adoptionStart(desired: DesiredAccount, remote: RemoteAccount): RecordedAccount {
  return record({ ...nothingApplied(desired), enabled: tracked(desired, !remote.isDisabled) }, remote.status);
}

/** Pausing a managed account records the pause and nothing else; no call is made. */
export function pausedRecord(recorded: RecordedAccount): RecordedAccount {
  return record({ ...recorded, paused: true }, recorded.status, recorded.statusReason);
}

/**
 * An observed account records what Composio has (`enabled` too, when the file says it), and keeps the fingerprints of what was applied
 * before it was observed (Check carries them over): observing changes nothing in Composio, so
 * managing it again sends only what differs from them.
 */
export function observed(desired: DesiredAccount, remote: RemoteAccount): RecordedAccount {
  return record({ ...desired, alias: remote.alias ?? "", enabled: tracked(desired, !remote.isDisabled) }, remote.status, remote.statusReason);
}

/** One request of an apply, with its body. */
export type ApplyRequest = { step: "patch"; body: PatchBody } | { step: "status"; body: StatusBody };

/** The requests that bring Composio from `known` to what the file declares, in the order they are sent. */
export function planApply(known: RecordedAccount, desired: DesiredAccount, values: Readonly<Record<string, string>>): ApplyRequest[] {
  const patch: PatchPlan = planPatch(known, desired, values);
  const status: StatusPlan | undefined = planStatus(known, desired);
  return applyOrder(patch, status).map((step) => (step === "patch" ? { step, body: patch.body! } : { step, body: status!.body }));
}

/** The record once the PATCH went through: what the file declares; a new status from the API makes the recorded reason stale. */
export function afterPatch(applied: RecordedAccount, desired: DesiredAccount, answeredStatus: string | undefined): RecordedAccount {
  const done = { ...desired, enabled: tracked(desired, applied.enabled) };
  return answeredStatus ? record(done, answeredStatus) : record(done, applied.status, applied.statusReason);
}

/** The record once the status request went through, and what to tell when an enabled account still cannot be used. */
export function afterStatus(applied: RecordedAccount, enabled: boolean): { record: RecordedAccount; note?: string } {
  const next = statusAfter(enabled, applied.status);
  const out = record({ ...applied, enabled }, next, next === applied.status ? applied.statusReason : undefined);
  return { record: out, note: enabled ? brokenConnectionNote(applied.nanoid, next) : undefined };
}

/** The record once every request went through. */
export function appliedRecord(desired: DesiredAccount, applied: RecordedAccount): RecordedAccount {
  return record({ ...desired, enabled: tracked(desired, applied.enabled) }, applied.status, applied.statusReason);
}

/**
 * What a user reads when a later request failed after an earlier one went through: the state keeps
 * `applied`, so the next up sends only what is still missing.
 */
export function partialFailureReason(message: string, applied: RecordedAccount, failed: ApplyRequest["step"]): string {
  const done = failed === "status" ? "The alias and credential change was applied and is recorded" : `The account was ${applied.enabled ? "enabled" : "disabled"} and that is recorded`;
  return `${message}\n  ${done}; the next pulumi up sends only what is still missing.`;
}

/** Why nothing may be sent when a value read now is not the one Check fingerprinted (`now`: fingerprints of the values read again). */
export function movedSinceCheck(desired: DesiredAccount, now: Record<string, string>): string | undefined {
  const moved = Object.keys(now).filter((field) => now[field] !== desired.fingerprints?.[field]);
  if (moved.length === 0) return undefined;
  return (
    `connected account ${desired.nanoid}: the value of ${moved.map((f) => `credentials.${f}`).join(", ")} changed after it was checked; ` +
    "nothing was sent. Run pulumi up again (the next preview shows the value as changed)."
  );
}

/** Why an adoption is refused when the file does not describe the account Composio has (a wrong scheme would be recorded and stick). */
export function adoptionRefusal(desired: DesiredAccount, remote: RemoteAccount | undefined): string | undefined {
  const mismatches = adoptionMismatches(desired, remote);
  if (mismatches.length === 0) return undefined;
  return `${mismatches.map((m) => m.message).join("; ")}; nothing was changed in Composio. Correct the file: ${mismatches.map((m) => m.fix).join("; ")}.`;
}

/** A refresh leaves paused accounts alone (and has nothing to read without a record). */
export function refreshes(props: RecordedAccount | LegacyRecord | undefined): props is RecordedAccount | LegacyRecord {
  return props !== undefined && !props.paused;
}

/**
 * Refresh: the alias and status as Composio has them now. Credentials cannot be read back (the API
 * answers "REDACTED"), so the recorded fingerprints stay. `inputs` when the alias or `enabled`
 * drifted: they become the recorded inputs, so the next preview renders the drift as a property
 * change (`enabled: true => false`).
 */
export function refreshed(props: RecordedAccount | LegacyRecord, remote: RemoteAccount): { props: RecordedAccount; inputs?: DesiredAccount } {
  const out: RecordedAccount = { ...withoutLegacyValues(props), status: remote.status };
  if (remote.statusReason) out.statusReason = remote.statusReason;
  else delete out.statusReason;
  // Only an alias the file manages (or observes) is recorded: an unmanaged one would read as drift forever.
  if (props.alias !== undefined || props.manage === "observe") out.alias = remote.alias ?? "";
  // The same for `enabled`: recorded only for a file that says it.
  if (props.enabled !== undefined) out.enabled = !remote.isDisabled;
  if (out.alias === props.alias && out.enabled === props.enabled) return { props: out };
  // Credential values are never recorded, so that preview lists `credentials` too; nothing is sent
  // for them (their fingerprints are unchanged).
  const { status: _status, statusReason: _reason, ...inputs } = out;
  return { props: out, inputs };
}

/** What a refresh tells when the account is gone (the engine then drops it from the state). */
export function goneNote(id: string): string {
  return `connected account ${id} no longer exists in Composio (404): it was deleted. Reconnect it and update the file's id, or delete the file to stop managing it.`;
}

/** Desired state as the program declared it, with every collection present. */
export function normalize(a: DesiredAccount): DesiredAccount {
  return { ...a, credentials: a.credentials ?? {}, removedCredentials: a.removedCredentials ?? [], fingerprints: a.fingerprints ?? {} };
}

/** State written by any earlier version of this provider, or by a preview, read the same way: without credential values. */
export function normalizeRecorded(a: RecordedAccount | LegacyRecord): RecordedAccount {
  return { ...withoutLegacyValues(a), removedCredentials: a.removedCredentials ?? [], fingerprints: a.fingerprints ?? {} };
}

/**
 * Outputs: plain JSON with no undefined (they travel as protobuf Structs), and no credential value:
 * outputs reach the SDK's debug log and the engine's event stream in plain text, secret or not.
 */
export function record(desired: DesiredAccount, status: string | undefined, statusReason?: string): RecordedAccount {
  const out: RecordedAccount = {
    nanoid: desired.nanoid,
    toolkit: desired.toolkit,
    userId: desired.userId,
    authScheme: desired.authScheme,
    // References and non-secret literals only: what was applied, where it came from.
    credentials: desired.credentials ?? {},
  };
  if (desired.accountFile !== undefined) out.accountFile = desired.accountFile;
  // Empty collections are not recorded (state written before keeps them; both read the same).
  if (desired.removedCredentials?.length) out.removedCredentials = desired.removedCredentials;
  if (desired.fingerprints && Object.keys(desired.fingerprints).length > 0) out.fingerprints = desired.fingerprints;
  if (desired.alias !== undefined) out.alias = desired.alias;
  if (desired.manage) out.manage = desired.manage;
  if (desired.paused) out.paused = desired.paused;
  if (desired.enabled !== undefined) out.enabled = desired.enabled;
  if (status !== undefined) out.status = status;
  if (statusReason !== undefined) out.statusReason = statusReason;
  return out;
}

/**
 * The recorded inputs, where the file is now. Inputs recorded by a version that registered
 * credential values (no `accountFile`) are not carried over: their values must not be recorded again.
 */
function frozen(recorded: DesiredAccount, news: DesiredAccount): DesiredAccount {
  const legacy = recorded.accountFile === undefined;
  const out: DesiredAccount = { ...recorded, credentials: legacy ? news.credentials : recorded.credentials };
  if (news.accountFile !== undefined) out.accountFile = news.accountFile;
  return out;
}

/** The account without anything the file declares for it: what a paused or observed adoption records. */
function identityOf(a: DesiredAccount): DesiredAccount {
  const identity: DesiredAccount = { nanoid: a.nanoid, toolkit: a.toolkit, userId: a.userId, authScheme: a.authScheme, credentials: {} };
  if (a.accountFile !== undefined) identity.accountFile = a.accountFile;
  return identity;
}

/** A record of an account adopted while paused, before anything was applied to it: unpausing adopts it. */
function neverApplied(recorded: DesiredAccount): boolean {
  return recorded.paused === true && recorded.manage !== "observe" && recorded.alias === undefined &&
    Object.keys(recorded.fingerprints ?? {}).length === 0 && (recorded.removedCredentials ?? []).length === 0;
}

/** `enabled` as Composio has it, kept only while the file says `enabled` (else it is not managed, and not recorded). */
function tracked(desired: DesiredAccount, enabled: boolean | undefined): boolean | undefined {
  return desired.enabled === undefined ? undefined : enabled;
}

/** A record without what versions before references recorded under `credentials` (values); `credentials: {}` when unknown. */
function withoutLegacyValues(a: RecordedAccount | LegacyRecord): RecordedAccount {
  if (a.accountFile !== undefined) return { ...a, credentials: a.credentials ?? {} } as RecordedAccount;
  const { credentials: _values, ...recorded } = a as LegacyRecord;
  return { ...recorded, credentials: {} } as RecordedAccount;
}
