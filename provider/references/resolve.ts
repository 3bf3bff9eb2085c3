import * as path from "node:path";
import { type AccountFile, type CredentialRef } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import { matchesNamePattern } from "../settings";
import { inspectSecretFile, readSecretFile } from "./secret-file";

/** Where references are looked up. Injected, so resolution is testable and the program decides the sources. */
export interface ReferenceSources {
  env: Record<string, string | undefined>;
  /** Stack config, by key within the `connected-accounts` namespace. */
  config(key: string): string | undefined;
  /** Bounds `file:` references: their targets, links resolved, must be inside it. */
  repoRoot: string;
  /** Stack setting `allowedEnv`: the only environment variables files may read; undefined: any not refused. */
  allowedEnv?: readonly string[];
}

export interface ResolvedCredentials {
  /** Field → plaintext value. Handle as a secret from the moment it exists. */
  values: Record<string, string>;
  /** Fields declared `null`: removed remotely once, then no longer sent. */
  removed: string[];
}

export function resolveCredentials(account: AccountFile, sources: ReferenceSources): { resolved: ResolvedCredentials; problems: AccountProblem[] } {
  const values: Record<string, string> = {};
  const removed: string[] = [];
  const problems: AccountProblem[] = [];
  for (const [key, spec] of Object.entries(account.credentials)) {
    if (spec.kind === "remove") {
      removed.push(key);
    } else if (spec.kind === "literal") {
      values[key] = spec.value;
    } else {
      const result = resolveRef(spec.ref, account, sources);
      if ("value" in result) values[key] = result.value;
      else if ("file" in spec.ref) problems.push(fileProblem(account, key, result));
      else problems.push({ file: account.file, ...account.locate(["credentials", key]), field: `credentials.${key}`, message: result.message, fix: result.fix });
    }
  }
  return { resolved: { values, removed: removed.sort() }, problems };
}

function resolveRef(ref: CredentialRef, account: AccountFile, sources: ReferenceSources): { value: string } | { message: string; fix: string } {
  if ("env" in ref) {
    if (sources.allowedEnv && !matchesNamePattern(ref.env, sources.allowedEnv)) {
      return { message: `environment variable ${ref.env} is not allowed by stack config connected-accounts:allowedEnv (${sources.allowedEnv.join(", ")})`, fix: `add a pattern matching ${ref.env} to connected-accounts:allowedEnv, or reference an allowed variable` };
    }
    const value = sources.env[ref.env];
    if (value === undefined) return { message: `environment variable ${ref.env} is not set`, fix: `export ${ref.env}=... before running pulumi (in CI, map it from a repository secret)` };
    if (value === "") return { message: `environment variable ${ref.env} is empty`, fix: `set ${ref.env} to the credential value; an empty value is never sent` };
    return { value };
  }
  if ("config" in ref) {
    const value = sources.config(ref.config);
    if (value === undefined) return { message: `stack config connected-accounts:${ref.config} is not set`, fix: `pulumi config set --secret connected-accounts:${ref.config} <value>` };
    if (value === "") return { message: `stack config connected-accounts:${ref.config} is empty`, fix: `pulumi config set --secret connected-accounts:${ref.config} <value>` };
    return { value };
  }
  if ("sops" in ref) return { message: "sops references are read by the provider process", fix: "run pulumi preview or up" };
  return readSecretFile(fileTarget(account, ref.file), ref.file, sources.repoRoot);
}

function fileTarget(account: AccountFile, ref: string): string {
  return path.resolve(path.dirname(account.path), ref);
}

/**
 * What `validate` can say about an account's `file:` references without reading them: those that
 * exist must be regular files inside the repository, within the size limit. (A missing one is
 * fine here: CI writes secret files just before `pulumi up`.)
 */
export function fileReferenceProblems(account: AccountFile, repoRoot: string): AccountProblem[] {
  const problems: AccountProblem[] = [];
  for (const [key, spec] of Object.entries(account.credentials)) {
    if (spec.kind !== "ref" || !("file" in spec.ref)) continue;
    const check = inspectSecretFile(fileTarget(account, spec.ref.file), spec.ref.file, repoRoot);
    if ("message" in check) problems.push(fileProblem(account, key, check));
  }
  return problems;
}

function fileProblem(account: AccountFile, key: string, p: { message: string; fix: string }): AccountProblem {
  return { file: account.file, ...account.locate(["credentials", key, "file"]), field: `credentials.${key}.file`, message: p.message, fix: p.fix };
}
