import type { AuthScheme } from "./fields";
import type { Position } from "./parse";
import { describeKeyPath, keyPath } from "../references/sops-document";

/** Where a secret value comes from. The value itself never appears in an account file. */
export type CredentialRef = { env: string } | { config: string } | { file: string } | { sops: string; key: string | string[] };

/** The key that selects each kind of reference, as written in a file. */
export const REFERENCE_KIND_NAMES = ["env", "config", "file", "sops"] as const;

/** What the file says about one credential field. */
export type CredentialSpec =
  | { kind: "ref"; ref: CredentialRef }
  | { kind: "literal"; value: string }
  | { kind: "remove" };

export type ManageMode = "full" | "observe";

/** One validated account file: past this boundary the code trusts these types. */
export interface AccountFile {
  file: string;
  path: string;
  id: string;
  toolkit: string;
  userId: string;
  /** undefined: the alias is not managed; "" clears it. */
  alias?: string;
  authScheme: AuthScheme;
  manage: ManageMode;
  paused: boolean;
  /** undefined: not managed; false: disabled in Composio; true: enabled. */
  enabled?: boolean;
  credentials: Record<string, CredentialSpec>;
  locate(field: readonly (string | number)[]): Position;
}

export function describeRef(ref: CredentialRef): string {
  if ("env" in ref) return `env ${ref.env}`;
  if ("config" in ref) return `config ${ref.config}`;
  if ("sops" in ref) return `sops ${ref.sops} ${describeKeyPath(keyPath(ref.key))}`;
  return `file ${ref.file}`;
}
