/**
 * An account's references checked as the program checks them and read as the provider reads them,
 * in one call: the problems a user would see (either side's), and the values the PATCH would carry.
 */
import type { AccountFile } from "../../provider/accounts/account";
import type { AccountProblem } from "../../provider/accounts/problem";
import { toRegistered } from "../../provider/plan/desired";
import { atField, checkReferences, processMemo, readCredentials } from "../../provider/references/resolve";
import { CONFIG_NAMESPACE } from "../../provider/settings";

export interface Sources {
  env: Record<string, string | undefined>;
  /** Stack secrets, by key within the namespace. */
  config(key: string): string | undefined;
  repoRoot: string;
}

export async function resolveCredentials(account: AccountFile, sources: Sources): Promise<{ resolved: { values: Record<string, string>; removed: string[] }; problems: AccountProblem[] }> {
  const short = (full: string) => full.slice(CONFIG_NAMESPACE.length + 1);
  const problems = checkReferences(account, {
    stage: "deploy", projectRoot: sources.repoRoot, repoRoot: sources.repoRoot, env: sources.env,
    config: { has: (k) => (sources.config(short(k)) ?? "") !== "", isSecret: () => true },
  });
  const registered = toRegistered(account, sources.repoRoot);
  const read = await readCredentials(registered.credentials, { projectRoot: sources.repoRoot, env: sources.env, config: (k) => sources.config(short(k)), once: processMemo() });
  const checked = new Set(problems.map((p) => p.field.split(".").slice(0, 2).join(".")));
  for (const { field, problem } of read.problems) if (!checked.has(`credentials.${field}`)) problems.push(atField(account, field, problem));
  return { resolved: { values: read.values, removed: registered.removedCredentials ?? [] }, problems };
}
