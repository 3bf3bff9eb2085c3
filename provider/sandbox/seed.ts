import { loadAccounts } from "../accounts/load";
import type { SandboxAccountSeed } from "./store";

/**
 * One ACTIVE sandbox account per valid account file. No alias is seeded, so adopting the accounts
 * visibly sets them, and no credentials: the sandbox cannot know them until they are sent.
 * Files with problems are left out without a word; `pulumi preview` reports them.
 */
export function seedFromAccountsDir(dir: string, repoRoot: string): SandboxAccountSeed[] {
  const seeds = new Map<string, SandboxAccountSeed>();
  for (const account of loadAccounts({ dir, repoRoot }).accounts) {
    // Two files claiming one id is a fleet problem; the first keeps the account.
    if (seeds.has(account.id)) continue;
    seeds.set(account.id, { id: account.id, toolkit: account.toolkit, userId: account.userId, authScheme: account.authScheme, status: "ACTIVE" });
  }
  return [...seeds.values()];
}
