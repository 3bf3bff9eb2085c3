/**
 * Every account that would fail, in one preview. Pulumi's engine stops a preview at the first
 * failed Check, so an account's own Check can only name its own problems; before that failure is
 * returned, one pass over the rest of the fleet finds theirs, and the failure names them all:
 * - what Composio has for each account not yet checked (what the read ahead read already, and list
 *   calls of up to `refreshBatchSize` ids for the others), against what its file says: an id Composio does not have, another scheme,
 *   toolkit or user;
 * - each of their credentials, read here in the provider process, whose value never leaves it: an
 *   unset variable, a missing file, a SOPS value that does not decrypt.
 *
 * The program cannot do this itself (the API key and the values are the provider's), so when it
 * finds reference problems in a preview it registers one account carrying them (FLEET_PROBLEMS_INPUT)
 * instead of stopping: that account's Check adds this pass and fails with the whole list.
 */
import type { AccountFile } from "../accounts/account";
import { formatProblem, sortProblems, type AccountProblem } from "../accounts/problem";
import type { RemoteAccount } from "../plan/live-account";
import type { RegisteredAccount } from "../plan/account-state";
import { toRegistered } from "../references/registered-account";
import { adoptionMismatches } from "../plan/live-check";
import { atField, type ReadCredentials } from "../references/resolve";

/** An input the program adds in a preview: the reference problems it found, value-free. Check drops it. */
export const FLEET_PROBLEMS_INPUT = "__fleetProblems";

export interface FleetCheckSources {
  /** Composio's answer for `ids` (undefined: it does not have the account; an Error: its read failed). */
  readRemote(ids: readonly string[]): Promise<Map<string, RemoteAccount | undefined | Error>>;
  /** The credential values of an account, read in this process; only their problems are used. */
  readCredentials(account: RegisteredAccount): ReadCredentials | Promise<ReadCredentials>;
  projectRoot: string;
}

/**
 * The problems of `accounts` (the declared accounts not checked yet), in file order. `skipReads`:
 * files whose references the program already reported (reading them again would say it twice).
 */
export async function fleetProblems(accounts: readonly AccountFile[], sources: FleetCheckSources, skipReads: ReadonlySet<string> = new Set()): Promise<AccountProblem[]> {
  // Paused accounts send nothing and read nothing: an incident's missing secret blocks nothing.
  const active = accounts.filter((a) => !a.paused);
  const problems: AccountProblem[] = [];
  for (const account of active) {
    if (account.manage === "observe" || skipReads.has(account.file)) continue;
    const read = await sources.readCredentials(toRegistered(account, sources.projectRoot));
    for (const { field, problem } of read.problems) {
      problems.push({ ...atField(account, field, problem), message: `${problem.message}; nothing is sent for this account` });
    }
  }
  const remote = await sources.readRemote(active.map((a) => a.id));
  for (const account of active) {
    const found = remote.get(account.id);
    if (found instanceof Error) {
      problems.push({ file: account.file, ...account.locate(["id"]), field: "id", message: `cannot check the account before adopting it: ${found.message}`, fix: "run the preview again once Composio answers" });
      continue;
    }
    for (const m of adoptionMismatches(liveFields(account), found)) {
      problems.push({ file: account.file, ...account.locate([m.field]), field: m.field, message: `${m.message}; nothing is sent to it`, fix: m.fix });
    }
  }
  return sortProblems(problems);
}

/** The fields the live check compares, under the names it uses. */
function liveFields(a: AccountFile): { nanoid: string; authScheme: string; toolkit: string; userId: string } {
  return { nanoid: a.id, authScheme: a.authScheme, toolkit: a.toolkit, userId: a.userId };
}

/** A preview's failure naming every problem the program and the provider found across the fleet. */
export function fleetFailureMessage(problems: readonly AccountProblem[]): string {
  const n = problems.length;
  return `${n} problem${n === 1 ? "" : "s"} in the account files; nothing was sent to Composio.\n${problems.map(formatProblem).join("\n")}`;
}

/** The problems of the other accounts, after an account's own failure. */
export function otherAccountsNote(problems: readonly AccountProblem[]): string {
  if (problems.length === 0) return "";
  const files = new Set(problems.map((p) => p.file)).size;
  return `${files} other account file${files === 1 ? "" : "s"} would fail as well (the preview stops at the first account that fails; nothing was sent):\n` +
    problems.map(formatProblem).join("\n");
}
