import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import { loadAccounts } from "../accounts/load";
import { findProjectRoot } from "../project/workspace";
import { accountsDirPath } from "../settings";

/**
 * The account files as the program read them, read again by the provider process (which runs in
 * the same project): the order in which the engine will check the accounts, so that a read can
 * read ahead, and each account's file and line, so that a Check failure can point at them.
 * Nothing about them travels through the engine or the state.
 */
export class DeclaredAccounts {
  private readonly order: string[];
  private readonly position: Map<string, number>;
  private readonly byId: Map<string, AccountFile>;

  private constructor(accounts: readonly AccountFile[]) {
    this.order = accounts.map((a) => a.id);
    this.position = new Map(this.order.map((id, i) => [id, i]));
    this.byId = new Map(accounts.map((a) => [a.id, a]));
  }

  /** From the project the provider process runs in; empty when its files cannot be found. */
  static load(cwd: string, accountsDirSetting: string | undefined): DeclaredAccounts {
    const projectRoot = findProjectRoot(cwd);
    if (!projectRoot) return new DeclaredAccounts([]);
    const dir = accountsDirPath(projectRoot, accountsDirSetting);
    // Problems were the program's to report; an account with one was never registered.
    return new DeclaredAccounts(loadAccounts({ dir, repoRoot: projectRoot, displayBase: projectRoot }).accounts);
  }

  /** The ids declared after `id`, in the program's order (wrapping around), except those in `done`. */
  after(id: string, done: ReadonlySet<string>, limit: number): string[] {
    const start = (this.position.get(id) ?? -1) + 1;
    const out: string[] = [];
    for (let k = 0; k < this.order.length && out.length < limit; k++) {
      const next = this.order[(start + k) % this.order.length];
      if (next !== id && !done.has(next)) out.push(next);
    }
    return out;
  }

  /** `accounts/x.yaml:3:5 id` for the account's field, or the id alone when its file is unknown. */
  where(id: string, field: string): string {
    const account = this.byId.get(id);
    if (!account) return `connected account ${id}`;
    const { line, column } = account.locate([field]);
    return `${account.file}:${line}:${column} ${field}`;
  }
}
