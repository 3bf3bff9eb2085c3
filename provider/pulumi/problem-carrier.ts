import type { AccountProblem } from "../accounts/problem";
import type { RegisteredAccount } from "../plan/account-state";
import { FLEET_PROBLEMS_INPUT } from "./fleet-check";

export type ProblemCarrier = RegisteredAccount & { [FLEET_PROBLEMS_INPUT]: AccountProblem[] };

/**
 * In a preview, the one account the program registers instead of stopping at reference problems:
 * it carries them to the provider, whose Check adds what only it can find (Composio's accounts, the
 * values it reads) and fails with every problem of the fleet (see fleet-check.ts). The first account
 * with a problem carries them, so the failure is shown on an account that has one. Undefined: the
 * program stops as it always did (an update, or a problem that is not a reference's).
 */
export function problemCarrier(registered: readonly RegisteredAccount[], referenceProblems: readonly AccountProblem[], otherProblems: number, preview: boolean): ProblemCarrier | undefined {
  if (!preview || otherProblems > 0 || referenceProblems.length === 0) return undefined;
  const files = new Set(referenceProblems.map((p) => p.file));
  const carrier = registered.find((a) => a.accountFile !== undefined && files.has(a.accountFile)) ?? registered[0];
  return carrier && { ...carrier, [FLEET_PROBLEMS_INPUT]: [...referenceProblems] };
}
