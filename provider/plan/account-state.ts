/**
 * The shapes that cross the Pulumi boundary: what the program declares (inputs), what the provider's
 * Check adds, and what Pulumi records after an apply (outputs). Plain JSON only: they travel as
 * protobuf Structs, and whatever the program registers reaches the engine's logs in plain text, so
 * none of them ever holds a credential value.
 */

/**
 * Where a credential's value comes from, as registered: names and project-relative paths only, in
 * a mapping whose key names the reference's kind (`{ env: NAME }`, `{ sops: path, key: [a, b] }`).
 */
export type RegisteredRef = Readonly<Record<string, unknown>>;

/** A non-secret field's literal value (`subdomain: acme`), or a reference the provider resolves. */
export type RegisteredCredential = string | RegisteredRef;

/** One connected account as the program registers it. */
export interface RegisteredAccount {
  /** The connected account nanoid (`id` is reserved by Pulumi, so it travels as `nanoid`). */
  nanoid: string;
  toolkit: string;
  userId: string;
  authScheme: string;
  /** Absent: alias not managed. "": clear it. */
  alias?: string;
  /** The account file, relative to the project root: the provider names it (and the line) in a failure. */
  accountFile?: string;
  /** Field → literal or reference. Never a value of a secret. */
  credentials: Record<string, RegisteredCredential>;
  /** Fields declared null in the file, sorted; absent when there are none (nothing to show or record). */
  removedCredentials?: string[];
  /** Present only for `manage: observe`: the account is read, never written. */
  manage?: "observe";
  /** Present only when the file says `paused: true`: no call, no diff, until it is unpaused. */
  paused?: true;
  /** Present only when the file says `enabled`: false disables the account in Composio, true enables it. */
  enabled?: boolean;
}

/** The checked inputs: what the provider's Check returns, and what Pulumi records as inputs. */
export interface DesiredAccount extends RegisteredAccount {
  /** Field → keyed HMAC of the value read: lets a reviewer see which secret changed without seeing it. */
  fingerprints?: Record<string, string>;
}

/**
 * What Pulumi recorded at the last successful apply: the checked inputs as applied (references,
 * never values: the fingerprints tell which values were applied). A refresh returns them as the
 * inputs again, so a drift preview shows only what drifted. State written by earlier versions,
 * without `accountFile`, may carry credential values under `credentials`: never read.
 */
export interface RecordedAccount extends DesiredAccount {
  // `enabled`, when present, is what Composio had at the last write or refresh (`!is_disabled`).
  /** Account status reported by the API at the last write or refresh. */
  status?: string;
  statusReason?: string;
}
