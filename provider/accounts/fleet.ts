import type { AccountFile } from "./account";
import type { AccountProblem } from "./problem";

/** What the cross-file rules read of a file: present also for files with other problems. */
export type FleetEntry = Pick<AccountFile, "file" | "id" | "toolkit" | "userId" | "alias" | "locate">;

/**
 * Rules across files, checked before anything is registered: one file per account id, and an alias
 * used once per (userId, toolkit), the scope in which Composio enforces uniqueness.
 */
export function checkFleet(accounts: readonly FleetEntry[]): AccountProblem[] {
  const problems: AccountProblem[] = [];
  const byId = new Map<string, FleetEntry>();
  const byAlias = new Map<string, FleetEntry>();
  for (const a of accounts) {
    const first = byId.get(a.id);
    if (first) {
      problems.push({ file: a.file, ...a.locate(["id"]), field: "id", message: `account ${a.id} is already declared in ${first.file}`, fix: "keep one file per connected account; delete or merge the other" });
    } else {
      byId.set(a.id, a);
    }
    if (a.alias === undefined || a.alias === "") continue;
    const scope = JSON.stringify([a.userId, a.toolkit, a.alias]);
    const holder = byAlias.get(scope);
    if (holder && holder.id !== a.id) {
      problems.push({ file: a.file, ...a.locate(["alias"]), field: "alias", message: `alias "${a.alias}" is already used by ${holder.id} (${at(holder, "alias")}) for user ${a.userId} and toolkit ${a.toolkit}`, fix: `aliases must be unique per user and toolkit: choose another alias here or in ${holder.file}` });
    } else if (!holder) {
      byAlias.set(scope, a);
    }
  }
  return problems;
}

/** `accounts/one.yaml:4:1`: where a field of another file is, so a reader can go to both. */
function at(entry: FleetEntry, field: string): string {
  const { line, column } = entry.locate([field]);
  return `${entry.file}:${line}:${column}`;
}
