/**
 * References, account by account: the value-free checks the program and `validate` report with
 * positions, the credentials the program registers (no value in them), and the reads only the
 * provider process makes.
 */
import type { AccountFile } from "../accounts/account";
import type { AccountProblem } from "../accounts/problem";
import type { RegisteredCredential } from "../plan/account-state";
import type { ReferenceCheckContext, ReferenceProblem, ReferenceReadContext } from "./kind";
import { kindOfRegistered, kindOfWritten } from "./kinds";

/** Every problem of an account's references that shows without reading a value, with file, line and field. */
export function checkReferences(account: AccountFile, ctx: Omit<ReferenceCheckContext, "account">): AccountProblem[] {
  const problems: AccountProblem[] = [];
  for (const [key, spec] of Object.entries(account.credentials)) {
    if (spec.kind !== "ref") continue;
    for (const p of kindOfWritten(spec.ref).check(spec.ref, { ...ctx, account })) problems.push(atField(account, key, p));
  }
  return problems;
}

/** A reference problem placed at its field in the account file. */
export function atField(account: Pick<AccountFile, "file" | "locate">, key: string, p: ReferenceProblem): AccountProblem {
  const field = ["credentials", key, ...(p.at ?? [])];
  return { file: account.file, ...account.locate(field), field: field.join("."), message: p.message, fix: p.fix };
}

export interface RegisteredCredentials {
  /** Field → a literal non-secret value, or a reference (names and paths only). */
  credentials: Record<string, RegisteredCredential>;
  /** Fields declared `null`, sorted. */
  removedCredentials: string[];
}

/** What the program registers for an account's credentials: never a secret value. */
export function registerCredentials(account: AccountFile, projectRoot: string): RegisteredCredentials {
  const credentials: Record<string, RegisteredCredential> = {};
  const removed: string[] = [];
  for (const [key, spec] of Object.entries(account.credentials)) {
    if (spec.kind === "remove") removed.push(key);
    else if (spec.kind === "literal") credentials[key] = spec.value;
    else credentials[key] = kindOfWritten(spec.ref).register(spec.ref, account, projectRoot);
  }
  return { credentials, removedCredentials: removed.sort() };
}

export interface ReadCredentials {
  /** Field → plaintext value. Handle as a secret from the moment it exists; never return it to the engine. */
  values: Record<string, string>;
  /** Fields whose value could not be read, and why. */
  problems: { field: string; problem: ReferenceProblem }[];
}

/** The values of registered credentials, read in the provider process. */
export async function readCredentials(credentials: Record<string, RegisteredCredential>, ctx: ReferenceReadContext): Promise<ReadCredentials> {
  const values: Record<string, string> = {};
  const problems: ReadCredentials["problems"] = [];
  for (const [field, credential] of Object.entries(credentials)) {
    if (typeof credential === "string") {
      values[field] = credential;
      continue;
    }
    const kind = credential && typeof credential === "object" ? kindOfRegistered(credential) : undefined;
    if (!kind) {
      problems.push({ field, problem: { message: `is not a reference this provider knows (${JSON.stringify(Object.keys(credential ?? {}))})`, fix: "run pulumi with the version of this project that wrote the state, or update this checkout" } });
      continue;
    }
    const read = await kind.read(credential, ctx);
    if ("value" in read) values[field] = read.value;
    else problems.push({ field, problem: read });
  }
  return { values, problems };
}

/** A per-process memo for ReferenceReadContext.once. */
export function processMemo(): <T>(key: string, read: () => T) => T {
  const memo = new Map<string, unknown>();
  return <T>(key: string, read: () => T): T => {
    if (!memo.has(key)) memo.set(key, read());
    return memo.get(key) as T;
  };
}
