import type { AccountProblem } from "../accounts/problem";
import type { RegisteredAccount } from "../plan/account-state";
import { FLEET_PROBLEMS_INPUT } from "./fleet-check";

/** Up to this many problems, every account with one carries them all (a few KiB each). */
const CARRIED_BY_EVERY_ACCOUNT = 50;

export type CarriedAccount = RegisteredAccount & { [FLEET_PROBLEMS_INPUT]?: AccountProblem[] };

/**
 * In a preview, the accounts as the program registers them when it found reference problems:
 * instead of stopping, it passes them on to the provider, whose Check adds what only it can find
 * (Composio's accounts, the values it reads) and fails with every problem (see fleet-check.ts).
 * The first account with a problem is registered first and carries all of them, since the engine
 * stops at the first Check that fails; the others carry theirs (all of them too, when they are few). Accounts without a problem are
 * registered as always (a `--target`ed preview checks them as usual). Undefined: the program stops
 * as it always did (an update, or a problem that is not a reference's).
 */
export function carryProblems(registered: readonly RegisteredAccount[], referenceProblems: readonly AccountProblem[], otherProblems: number, preview: boolean): CarriedAccount[] | undefined {
  if (!preview || otherProblems > 0 || referenceProblems.length === 0) return undefined;
  const byFile = new Map<string, AccountProblem[]>();
  for (const p of referenceProblems) byFile.set(p.file, [...(byFile.get(p.file) ?? []), p]);
  const first = registered.findIndex((a) => a.accountFile !== undefined && byFile.has(a.accountFile));
  // A problem no registered account's file holds cannot be carried: the program stops instead.
  if (first < 0) return undefined;
  // A few problems ride on every account that has one, so whichever the engine checks first names
  // them all; a long list rides on the first only (each account then carries its own).
  const everyone = referenceProblems.length <= CARRIED_BY_EVERY_ACCOUNT;
  return [registered[first], ...registered.filter((_, i) => i !== first)].map((a, i) => {
    const own = a.accountFile === undefined ? undefined : byFile.get(a.accountFile);
    if (i === 0 || (own && everyone)) return { ...a, [FLEET_PROBLEMS_INPUT]: [...referenceProblems] };
    return own ? { ...a, [FLEET_PROBLEMS_INPUT]: own } : a;
  });
}
