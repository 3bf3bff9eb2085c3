import type { AccountFile } from "../accounts/account";
import type { RegisteredAccount } from "../plan/account-state";
import { registerCredentials } from "./resolve";
import * as path from "node:path";

/** An account file in the shape the program registers: references, never values. */
export function toRegistered(account: AccountFile, projectRoot: string): RegisteredAccount {
  const observed = account.manage === "observe";
  // Observed accounts are only read: their credentials are neither registered nor resolved.
  const { credentials, removedCredentials } = observed ? { credentials: {}, removedCredentials: [] } : registerCredentials(account, projectRoot);
  const registered: RegisteredAccount = {
    nanoid: account.id,
    toolkit: account.toolkit,
    userId: account.userId,
    authScheme: account.authScheme,
    accountFile: path.relative(projectRoot, account.path).split(path.sep).join("/"),
    credentials,
  };
  // Empty lists are left out: Pulumi would show and record `removedCredentials: []` on every account.
  if (removedCredentials.length > 0) registered.removedCredentials = removedCredentials;
  if (account.alias !== undefined) registered.alias = account.alias;
  if (observed) registered.manage = "observe";
  if (account.paused) registered.paused = true;
  if (account.enabled !== undefined) registered.enabled = account.enabled;
  return registered;
}
