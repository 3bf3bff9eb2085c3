import * as path from "node:path";
import { type AccountFile, type CredentialRef } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import { isInside } from "../accounts/validate";

/** Where references are looked up. Injected, so resolution is testable and the program decides the sources. */
export interface ReferenceSources {
  env: Record<string, string | undefined>;
  /** Stack config, by key within the `connected-accounts` namespace. */
  config(key: string): string | undefined;
  /** Reads a file; returns undefined when it does not exist. */
  readFile(absPath: string): string | undefined;
  /** Resolves symlinks, so a `file:` reference cannot leave the repository through one. */
  realPath(absPath: string): string;
  repoRoot: string;
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
      else problems.push({ file: account.file, ...account.locate(["credentials", key]), field: `credentials.${key}`, message: result.message, fix: result.fix });
    }
  }
  return { resolved: { values, removed: removed.sort() }, problems };
}

function resolveRef(ref: CredentialRef, account: AccountFile, sources: ReferenceSources): { value: string } | { message: string; fix: string } {
  if ("env" in ref) {
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
  const target = path.resolve(path.dirname(account.path), ref.file);
  const content = sources.readFile(target);
  if (content === undefined) return { message: `file ${ref.file} does not exist (looked for ${path.relative(sources.repoRoot, target)})`, fix: "create the file, or correct the path (it is relative to the account file)" };
  if (!isInside(sources.repoRoot, sources.realPath(target))) return { message: `file ${ref.file} links outside the repository`, fix: "keep the secret file itself inside the repository (git-ignored)" };
  // A token written with `echo` ends in a newline that the API would take as part of the secret.
  const value = content.replace(/\r?\n$/, "");
  if (value === "") return { message: `file ${ref.file} is empty`, fix: `write the credential into ${ref.file}` };
  return { value };
}

