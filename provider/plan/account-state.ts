/**
 * The shapes that cross the Pulumi boundary: what the program declares (inputs) and what Pulumi
 * records after an apply (outputs). Plain JSON only: they travel as protobuf Structs.
 */

/** Desired state of one connected account, as registered by the program. */
export interface DesiredAccount {
  /** The connected account nanoid (`id` is reserved by Pulumi, so it travels as `nanoid`). */
  nanoid: string;
  toolkit: string;
  userId: string;
  authScheme: string;
  /** Absent: alias not managed. "": clear it. */
  alias?: string;
  /** Field → value. Always a Pulumi secret. */
  credentials: Record<string, string>;
  /** Fields declared null in the file, sorted; absent when there are none (nothing to show or record). */
  removedCredentials?: string[];
  /** Field → keyed HMAC of the value: lets a reviewer see which secret changed without seeing it. Absent when empty. */
  fingerprints?: Record<string, string>;
  /** Present only for `manage: observe`: the account is read, never written. */
  manage?: "observe";
  /** Present only when the file says `paused: true`: no call, no diff, until it is unpaused. */
  paused?: true;
}

/**
 * What Pulumi recorded at the last successful apply: the desired state without credential values
 * (their fingerprints tell what was applied). State written before 0.2 may still carry them.
 */
export interface RecordedAccount extends Omit<DesiredAccount, "credentials"> {
  /** Account status reported by the API at the last write or refresh. */
  status?: string;
  statusReason?: string;
}
