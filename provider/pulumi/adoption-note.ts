import type { RemoteAccount } from "../plan/live-account";
import type { RegisteredAccount } from "../plan/account-state";

/**
 * What adopting an account overwrites, as Composio has it now: Pulumi shows an adoption as a create,
 * with the declared values only, so a reviewer would not see that a live alias (or `enabled`) is
 * about to be replaced. One line per adopted account that changes something; undefined otherwise.
 * Strings from Composio were made terminal-safe where they were read.
 */
export function adoptionNote(where: string, declared: Pick<RegisteredAccount, "nanoid" | "alias" | "enabled" | "manage">, remote: RemoteAccount): string | undefined {
  // An observed account is only read: nothing is replaced.
  if (declared.manage === "observe") return undefined;
  const replaced: string[] = [];
  if (declared.alias !== undefined && declared.alias !== (remote.alias ?? "")) {
    replaced.push(`alias ${JSON.stringify(remote.alias ?? "")} => ${JSON.stringify(declared.alias)}`);
  }
  const enabled = !remote.isDisabled;
  if (declared.enabled !== undefined && declared.enabled !== enabled) replaced.push(`enabled ${enabled} => ${declared.enabled}`);
  if (replaced.length === 0) return undefined;
  return `connected-accounts: adopting ${declared.nanoid} (${where}) replaces what Composio has: ${replaced.join(", ")}`;
}
