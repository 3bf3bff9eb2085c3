import type { AccountFile } from "../accounts/account";
import type { DesiredAccount } from "./account-state";
import { fingerprintAll } from "./fingerprint";
import type { ResolvedCredentials } from "../references/resolve";

/** An account file with its references resolved, in the shape the provider receives. */
export function toDesired(account: AccountFile, resolved: ResolvedCredentials, fingerprintKey: string): DesiredAccount {
  const desired: DesiredAccount = {
    nanoid: account.id,
    toolkit: account.toolkit,
    userId: account.userId,
    authScheme: account.authScheme,
    credentials: resolved.values,
  };
  // Empty collections are left out: Pulumi would show and record `removedCredentials: []` on every account.
  if (resolved.removed.length > 0) desired.removedCredentials = resolved.removed;
  if (Object.keys(resolved.values).length > 0) desired.fingerprints = fingerprintAll(fingerprintKey, resolved.values);
  if (account.alias !== undefined) desired.alias = account.alias;
  if (account.manage === "observe") desired.manage = "observe";
  if (account.paused) desired.paused = true;
  return desired;
}
