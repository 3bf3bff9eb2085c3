/**
 * Every reference kind, in one list: adding a kind is one module and one line here. Everything that
 * differs between kinds is asked of the kind found here; no other module names a kind.
 */
import type { CredentialRef } from "../accounts/account";
import type { ReferenceRules } from "../accounts/validate";
import type { RegisteredRef } from "../plan/account-state";
import { configKind } from "./config";
import { envKind } from "./env";
import { fileKind } from "./file";
import type { ReferenceKind } from "./kind";
import { sopsKind } from "./sops";

export const REFERENCE_KINDS: readonly ReferenceKind<any, any>[] = [envKind, configKind, fileKind, sopsKind];

/** The kind of a reference as written (the schema admits only known kinds). */
export function kindOfWritten(ref: CredentialRef): ReferenceKind {
  const kind = REFERENCE_KINDS.find((k) => k.written(ref));
  if (!kind) throw new Error(`unknown reference kind: ${Object.keys(ref).join(", ")}`);
  return kind;
}

/** The kind of a registered reference, or undefined for one this version does not know (state from a newer one). */
export function kindOfRegistered(ref: RegisteredRef): ReferenceKind | undefined {
  return REFERENCE_KINDS.find((k) => k.registered(ref));
}

/** How a reference as written reads in a message (`env GH_KEY`). */
export function describeWritten(ref: CredentialRef): string {
  return kindOfWritten(ref).describe(ref);
}

/** What the account rules ask of the kinds, answered by all of them. */
export const REFERENCE_RULES: ReferenceRules = {
  refused: (ref, site) => REFERENCE_KINDS.flatMap((kind) => kind.refused(ref, site)),
  explainInvalid: (field, ref) => REFERENCE_KINDS.reduce<ReturnType<ReferenceRules["explainInvalid"]>>((found, kind) => found ?? kind.explainInvalid(field, ref), undefined),
  forms: REFERENCE_KINDS.map((kind) => kind.form),
};
