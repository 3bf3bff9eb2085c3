import type { DesiredAccount } from "./account-state";
import type { RemoteAccount } from "./live-account";

/** One way an account file does not describe the account Composio has; `field` is the file's key. */
export interface Mismatch {
  field: "id" | "authScheme" | "toolkit" | "userId" | "alias";
  message: string;
  fix: string;
}

/**
 * What the file gets wrong about the account it adopts, compared with what Composio has (undefined:
 * Composio has no account with that id). Nothing is sent for such an account: a wrong scheme would
 * be refused only at the PATCH, and a wrong user or toolkit would not be refused at all.
 */
export function adoptionMismatches(desired: Pick<DesiredAccount, "nanoid" | "authScheme" | "toolkit" | "userId" | "alias">, remote: RemoteAccount | undefined): Mismatch[] {
  if (!remote) {
    return [{
      field: "id",
      message: `connected account ${desired.nanoid} does not exist in Composio`,
      fix: "correct the id (npx connected-accounts import lists the project's accounts), or connect the account in Composio first",
    }];
  }
  const fields = [
    ["authScheme", desired.authScheme, remote.authScheme, "Composio keeps the scheme an account was connected with"],
    ["toolkit", desired.toolkit, remote.toolkit, "an account belongs to one toolkit"],
    ["userId", desired.userId, remote.userId, "an account belongs to one user"],
  ] as const;
  // An API that leaves a field out cannot contradict the file.
  const mismatches: Mismatch[] = fields
    .filter(([, declared, actual]) => actual !== "" && actual !== declared)
    .map(([field, declared, actual, why]) => ({
      field,
      message: `connected account ${desired.nanoid} has ${field} ${actual} in Composio, not ${declared}`,
      fix: `set ${field}: ${actual} (${why}), or point the file at the account you meant`,
    }));
  // The file copies the escaped display of an alias that holds control characters: applying it
  // would rename the account to that text, which nobody meant.
  if (remote.aliasEscaped && desired.alias === remote.alias) {
    mismatches.push({
      field: "alias",
      message: `connected account ${desired.nanoid} has an alias with control or bidirectional characters in Composio, and the file's alias is its escaped display; applying it would rename the account to that text`,
      fix: "remove alias from the file to leave it as it is, or write the alias you want the account to have",
    });
  }
  return mismatches;
}
