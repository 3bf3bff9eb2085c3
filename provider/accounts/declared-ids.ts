/**
 * Which connected account ids the files under a folder already declare, whether or not those files are
 * valid yet: a freshly imported file fails validation until its placeholders are filled, and must
 * still count as declaring its account.
 */
import * as fs from "node:fs";
import { loadAccounts, listAccountFiles, MAX_ACCOUNT_FILE_BYTES } from "./load";
import { parseAccountText } from "./parse";

/** Account id → absolute path of the (first) file declaring it. Empty when `dir` does not exist. */
export function declaredAccountIds(dir: string, repoRoot: string): Map<string, string> {
  const ids = new Map<string, string>();
  if (!fs.existsSync(dir)) return ids;
  const { accounts } = loadAccounts({ dir, repoRoot });
  for (const a of accounts) if (!ids.has(a.id)) ids.set(a.id, a.path);
  const valid = new Set(accounts.map((a) => a.path));
  for (const file of listAccountFiles(dir)) {
    if (valid.has(file)) continue;
    const id = readDeclaredId(file);
    if (id !== undefined && !ids.has(id)) ids.set(id, file);
  }
  return ids;
}

/** The top-level `id` of a file that failed validation, when its YAML is still readable. */
function readDeclaredId(file: string): string | undefined {
  try {
    if (fs.statSync(file).size > MAX_ACCOUNT_FILE_BYTES) return undefined;
    const { parsed } = parseAccountText(file, file, fs.readFileSync(file, "utf8"));
    const id = (parsed?.data as { id?: unknown } | null | undefined)?.id;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
