/**
 * What a pull request intends for each account: the account files at the base × at the head, matched
 * by id, each account's changes decided by the core's review (plan/review.ts), which decides them as
 * the provider decides its requests. Offline: references are compared as written (which variable,
 * which key, which file), never resolved, so a review needs no secret and can show nothing secret.
 */
import * as path from "node:path";
import type { AccountFile, CredentialSpec } from "../accounts/account";
import { authSchemeChangeRefused, isNonSecretField } from "../accounts/fields";
import type { AccountProblem } from "../accounts/problem";
import type { DesiredAccount } from "../plan/account-state";
import { reviewAccount, type AccountReview, type CredentialChangeKind, type Lifecycle, type PlanAction, type Setting } from "../plan/review";
import type { ReviewSides } from "../references/kind";
import { describeWritten, kindOfWritten } from "../references/kinds";
import { toRegistered } from "../references/registered-account";

export type { CredentialChangeKind, Lifecycle, PlanAction, Setting };

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

export interface AccountChange extends Omit<AccountReview, "credentials"> {
  id: string;
  /** The file at the head (the base file for a release), relative to the working directory. */
  file: string;
  /** The file at the base, when the account's file was renamed or moved. */
  movedFrom?: string;
  credentials: Record<CredentialChangeKind, string[]>;
  /** The same keys as `credentials`, with what each reference was and becomes, sorted by key. */
  credentialDetails: CredentialChange[];
}

export interface ReviewPlan {
  summary: Record<PlanAction, number>;
  /** Every account of either side, sorted by file then id. */
  accounts: AccountChange[];
  /** Changes `pulumi preview` will refuse (an auth scheme changed on the same id), at the head file. */
  refused: AccountProblem[];
  /**
   * SOPS files re-encrypted with a new data key: every ciphertext changed, so their values are not
   * listed as rotated (the ciphertexts cannot tell which did; the preview, which reads them, can).
   */
  reencrypted?: ReencryptedFile[];
}

export interface ReencryptedFile {
  /** The SOPS file, relative to the working directory. */
  file: string;
  /** The accounts whose references read it, sorted. */
  accounts: string[];
}

/**
 * `display` turns an account into the path shown to the user. `sides`: the committed files of each
 * side, to see a value rotated inside a file (the reference is the same, its ciphertext is not);
 * absent, references are compared as written only.
 */
export function compareAccounts(base: readonly AccountFile[], head: readonly AccountFile[], display: (a: AccountFile) => string, sides?: ReviewSides): ReviewPlan {
  const baseById = new Map(base.map((a) => [a.id, a]));
  const headIds = new Set(head.map((a) => a.id));
  const accounts: AccountChange[] = [];
  const refused: AccountProblem[] = [];
  const reencrypted = new Map<string, ReencryptedFile>();
  for (const h of head) {
    const b = baseById.get(h.id);
    accounts.push(accountChange(b, h, display, sides, reencrypted));
    if (b && b.authScheme !== h.authScheme) {
      const { message, fix } = authSchemeChangeRefused(h.id, b.authScheme, h.authScheme);
      refused.push({ file: display(h), ...h.locate(["authScheme"]), field: "authScheme", message, fix });
    }
  }
  for (const b of base) {
    if (!headIds.has(b.id)) accounts.push(accountChange(b, undefined, display, sides, reencrypted));
  }
  accounts.sort((x, y) => x.file.localeCompare(y.file) || x.id.localeCompare(y.id));
  const summary = { adopt: 0, update: 0, release: 0, unchanged: 0 };
  for (const a of accounts) summary[a.action]++;
  const files = [...reencrypted.values()].map((f) => ({ ...f, accounts: [...new Set(f.accounts)].sort() })).sort((x, y) => x.file.localeCompare(y.file));
  return { summary, accounts, refused, reencrypted: files };
}

function accountChange(
  b: AccountFile | undefined,
  h: AccountFile | undefined,
  display: (a: AccountFile) => string,
  sides: ReviewSides | undefined,
  reencrypted: Map<string, ReencryptedFile>,
): AccountChange {
  const shown = (h ?? b)!;
  const { notes, rekeyed } = b && h && sides ? rotations(b, h, sides) : { notes: {}, rekeyed: [] };
  for (const { target, ref } of rekeyed) {
    const entry = reencrypted.get(target) ?? { file: path.normalize(path.join(path.dirname(display(h!)), ref)), accounts: [] };
    entry.accounts.push(shown.id);
    reencrypted.set(target, entry);
  }
  const review = reviewAccount(b && offline(b, {}), h && offline(h, notes));
  const change: AccountChange = { id: shown.id, file: display(shown), ...review, credentialDetails: [] };
  if (b && h && path.resolve(b.path) !== path.resolve(h.path)) change.movedFrom = display(b);
  const changed = Object.entries(review.credentials).flatMap(([kind, keys]: [string, string[]]) => keys.map((key) => [key, kind as CredentialChangeKind] as const));
  for (const [key, kind] of changed.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const detail: CredentialChange = { key, kind };
    // An observed base declared nothing that was sent.
    const from = b && b.manage !== "observe" && Object.hasOwn(b.credentials, key) ? b.credentials[key] : undefined;
    const to = h && Object.hasOwn(h.credentials, key) ? h.credentials[key] : undefined;
    if (from) detail.from = describeSpec(key, from);
    if (to) detail.to = describeSpec(key, to);
    if (notes[key]) detail.note = notes[key];
    change.credentialDetails.push(detail);
  }
  return change;
}

/**
 * The account as the program registers it, with what can be known of each value offline standing in
 * for its fingerprint: the source as written, and whether committed files show it rotated (`notes`).
 * Paths are registered from the file system's root: both sides are compared by where they point.
 */
function offline(account: AccountFile, notes: Readonly<Record<string, string>>): DesiredAccount {
  const registered = toRegistered(account, path.parse(account.path).root);
  const fingerprints: Record<string, string> = {};
  for (const [key, credential] of Object.entries(registered.credentials)) {
    fingerprints[key] = JSON.stringify(credential) + (Object.hasOwn(notes, key) ? "\0rotated" : "");
  }
  return Object.keys(fingerprints).length > 0 ? { ...registered, fingerprints } : registered;
}

/**
 * Per credential key, why the value behind the same reference changed, as the committed files show
 * it; and the files re-encrypted as a whole, whose values are left for the preview to compare.
 */
function rotations(b: AccountFile, h: AccountFile, sides: ReviewSides): { notes: Record<string, string>; rekeyed: { target: string; ref: string }[] } {
  const notes: Record<string, string> = {};
  const rekeyed: { target: string; ref: string }[] = [];
  for (const [key, to] of Object.entries(h.credentials)) {
    const from = Object.hasOwn(b.credentials, key) ? b.credentials[key] : undefined;
    if (from?.kind !== "ref" || to.kind !== "ref") continue;
    const kind = kindOfWritten(to.ref);
    if (!kind.written(from.ref) || !kind.sameSource(from.ref, b, to.ref, h)) continue;
    const note = kind.rotation(from.ref, b, to.ref, h, sides);
    if (typeof note === "string") notes[key] = note;
    else if (note) rekeyed.push({ target: note.reencrypted, ref: note.written });
  }
  return { notes, rekeyed };
}

/** How a credential is given, in words safe to print: never a secret, since secrets are never literals. */
export function describeSpec(key: string, spec: CredentialSpec): string {
  if (spec.kind === "remove") return "null";
  if (spec.kind === "ref") return describeWritten(spec.ref);
  // Validation refuses literal secrets; the check here keeps that true even for a file that slipped by.
  return isNonSecretField(key) ? JSON.stringify(spec.value) : "a literal value";
}
