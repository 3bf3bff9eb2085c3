import type { AuthScheme } from "./fields";
import type { Position } from "./parse";

/**
 * Where a secret value comes from, as written: a mapping whose key names its kind (`{ env: NAME }`).
 * What a kind holds is for its module under references/ to say. The value itself never appears in
 * an account file.
 */
export type CredentialRef = Readonly<Record<string, unknown>>;

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
