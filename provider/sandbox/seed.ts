import * as fs from "node:fs";
import { isMap, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { loadAccounts } from "../accounts/load";
import { AUTH_SCHEMES, type AuthScheme } from "../accounts/fields";
import type { SandboxAccountSeed } from "./store";

/**
 * One ACTIVE sandbox account per valid account file. No alias is seeded, so adopting the accounts
 * visibly sets them, and no credentials: the sandbox cannot know them until they are sent.
 * Files with problems are left out without a word; `pulumi preview` reports them.
 */
export function seedFromAccountsDir(dir: string, repoRoot: string): SandboxAccountSeed[] {
  const seeds = new Map<string, SandboxAccountSeed>();
  for (const account of loadAccounts({ dir, repoRoot }).accounts) {
    // Two files claiming one id is a fleet problem; the first keeps the account.
    if (seeds.has(account.id)) continue;
    seeds.set(account.id, { id: account.id, toolkit: account.toolkit, userId: account.userId, authScheme: account.authScheme, status: "ACTIVE" });
  }
  return [...seeds.values()];
}

/** A seed file the sandbox cannot use: names the file, the line and the field. */
export class SeedFileError extends Error {
  constructor(file: string, line: number, field: string, problem: string) {
    super(`${file}:${line}${field ? ` ${field}:` : ""} ${problem}`);
    this.name = "SeedFileError";
  }
}

const SEED_FIELDS = ["id", "toolkit", "userId", "authScheme", "alias", "status", "credentialKeys"] as const;

/**
 * Accounts the sandbox holds besides those the account files declare (`--seed FILE`), as Composio
 * holds accounts nobody has written a file for yet: what `connected-accounts import` is for.
 *
 *     accounts:
 *       - { id: ca_x, toolkit: notion, userId: team, authScheme: OAUTH2, alias: docs, status: ACTIVE }
 *       - { id: ca_y, toolkit: linear, userId: team, authScheme: API_KEY, credentialKeys: [api_key] }
 *
 * `credentialKeys` names fields the account has; the sandbox gives them throwaway values (the API
 * only ever shows them as "REDACTED"), so no value is written in the seed file.
 */
export function seedFromFile(file: string, shown = file): SandboxAccountSeed[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(fs.readFileSync(file, "utf8"), { lineCounter, uniqueKeys: true });
  const lineOf = (node: unknown) => lineCounter.linePos((node as Node | null)?.range?.[0] ?? 0).line;
  if (doc.errors.length > 0) throw new SeedFileError(shown, lineCounter.linePos(doc.errors[0].pos[0]).line, "", `invalid YAML: ${doc.errors[0].message.split("\n")[0]}`);
  const list = isMap(doc.contents) ? doc.contents.get("accounts", true) : undefined;
  if (!isSeq(list)) throw new SeedFileError(shown, lineOf(doc.contents), "accounts", "the file must hold `accounts:`, a list of accounts (see docs/sandbox.md)");
  const seeds: SandboxAccountSeed[] = [];
  const ids = new Set<string>();
  for (const [index, item] of list.items.entries()) {
    const at = (field: string) => `accounts[${index}]${field ? `.${field}` : ""}`;
    const fail = (field: string, problem: string): never => {
      const node = isMap(item) && field ? item.get(field, true) : item;
      throw new SeedFileError(shown, lineOf(node ?? item), at(field), problem);
    };
    const raw: unknown = (item as { toJSON?: () => unknown })?.toJSON?.();
    if (!isMap(item) || raw === null || typeof raw !== "object") fail("", "each account must be a mapping with id, toolkit, userId and authScheme");
    const entry = raw as Record<string, unknown>;
    const unknown = Object.keys(entry).find((k) => !(SEED_FIELDS as readonly string[]).includes(k));
    if (unknown !== undefined) fail(unknown, `unknown field (use ${SEED_FIELDS.join(", ")})`);
    for (const field of ["id", "toolkit", "userId", "authScheme"]) {
      if (typeof entry[field] !== "string" || entry[field] === "") fail(field, "is required and must be a non-empty string");
    }
    for (const field of ["alias", "status"]) {
      if (entry[field] !== undefined && typeof entry[field] !== "string") fail(field, "must be a string");
    }
    if (!(AUTH_SCHEMES as readonly string[]).includes(entry.authScheme as string)) fail("authScheme", `unknown auth scheme "${String(entry.authScheme)}" (use one of ${AUTH_SCHEMES.join(", ")})`);
    const keys = entry.credentialKeys ?? [];
    if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string" || k === "")) fail("credentialKeys", "must be a list of credential field names");
    if (ids.has(entry.id as string)) fail("id", `account ${String(entry.id)} is listed twice`);
    ids.add(entry.id as string);
    seeds.push({
      id: entry.id as string,
      toolkit: entry.toolkit as string,
      userId: entry.userId as string,
      authScheme: entry.authScheme as AuthScheme,
      alias: (entry.alias as string | undefined) ?? null,
      status: (entry.status as string | undefined) ?? "ACTIVE",
      val: Object.fromEntries((keys as string[]).map((k) => [k, `sandbox-${k}`])),
    });
  }
  return seeds;
}
