/**
 * What the files under a folder already declare (account ids, and aliases per user and toolkit),
 * whether or not those files are valid yet: a freshly imported file fails validation until its
 * placeholders are filled, and must still count as declaring its account and its alias.
 */
import * as fs from "node:fs";
import { listAccountFiles, MAX_ACCOUNT_FILE_BYTES } from "./account-files";
import { parseAccountText } from "../accounts/parse";

export interface Declared {
  /** Account id → absolute path of the (first) file declaring it. */
  ids: Map<string, string>;
  /** aliasScope(userId, toolkit, alias) → absolute path of the file declaring it. */
  aliases: Map<string, string>;
}

/** The key under which an alias must be unique, as Composio scopes it. */
export function aliasScope(userId: string, toolkit: string, alias: string): string {
  return JSON.stringify([userId, toolkit, alias]);
}

/** Everything declared under each of `dirs` (folders that do not exist add nothing). */
export function declaredAccounts(...dirs: string[]): Declared {
  const declared: Declared = { ids: new Map(), aliases: new Map() };
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) continue;
    for (const file of listAccountFiles(dir)) {
      const doc = readDeclared(file);
      if (typeof doc?.id === "string" && !declared.ids.has(doc.id)) declared.ids.set(doc.id, file);
      if (typeof doc?.alias === "string" && doc.alias !== "" && typeof doc.userId === "string" && typeof doc.toolkit === "string") {
        const scope = aliasScope(doc.userId, doc.toolkit, doc.alias);
        if (!declared.aliases.has(scope)) declared.aliases.set(scope, file);
      }
    }
  }
  return declared;
}

/** The top-level fields of a file, when its YAML is readable, valid or not. */
function readDeclared(file: string): Record<string, unknown> | undefined {
  try {
    // Not a regular file (a FIFO named *.yaml): reading it would block; validate reports it.
    const stat = fs.statSync(file);
    if (!stat.isFile() || stat.size > MAX_ACCOUNT_FILE_BYTES) return undefined;
    const { parsed } = parseAccountText(file, file, fs.readFileSync(file, "utf8"));
    const data = parsed?.data;
    return data && typeof data === "object" ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
