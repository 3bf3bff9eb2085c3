/** Every reference kind, in one list: adding a kind is one module and one line here (and the schema's `oneOf`). */
import type { CredentialRef } from "../accounts/account";
import type { RegisteredRef } from "../plan/account-state";
import { configKind } from "./config";
import { envKind } from "./env";
import { fileKind } from "./file";
import type { ReferenceKind } from "./kind";

export const REFERENCE_KINDS: readonly ReferenceKind<any, any>[] = [envKind, fileKind, configKind];

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
