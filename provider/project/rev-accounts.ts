/**
 * The account files as they were at a git revision, read from the object database (no checkout),
 * parsed and validated by the same code as the working tree. Mirrors `loadAccounts`: same file
 * selection, same order, same limits, same problems.
 */
import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import { checkFleet, type FleetEntry } from "../accounts/fleet";
import { accountFromBytes, compareNames, MAX_ACCOUNT_FILE_BYTES, tooLarge, type LoadedAccounts } from "../accounts/load";
import { sortProblems, type AccountProblem } from "../accounts/problem";
import { isSopsRef, sopsFilesFrom, sopsReferenceProblems, sopsTarget, type StoredSopsFiles } from "../references/sops";
import { LIMITS } from "../settings";
import { listTree, readBlobs, type TreeEntry } from "./git";

/** Symbolic links pointing at links: a chain this long is a loop. */
const MAX_LINK_HOPS = 8;
const SYMLINK_MODE = "120000";

export interface RevSource {
  repoRoot: string;
  /** Bounds `file:` references, as for the working tree. */
  projectRoot: string;
  /** The revision as the user wrote it, for messages. */
  rev: string;
  /** The tree the revision names. */
  tree: string;
  /** Accounts folder, repository-relative with `/`; "" for the repository root. */
  dir: string;
}

/** Reads, parses and validates every `*.yaml` / `*.yml` under the accounts folder at a revision. */
export async function loadAccountsAtRev(src: RevSource, onFile?: (done: number, total: number) => void): Promise<LoadedAccounts> {
  const entries = await listTree(src.repoRoot, src.tree, src.dir);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const files = entries.filter((e) => isAccountFile(src.dir, e)).sort((a, b) => comparePaths(a.path, b.path));
  const problems: AccountProblem[] = [];
  const accounts: AccountFile[] = [];
  const fleet: FleetEntry[] = [];

  const links = await readBlobs(src.repoRoot, entries.filter((e) => e.mode === SYMLINK_MODE).map((e) => e.oid));
  const targets = new Map<string, TreeEntry | { problem: string; fix: string }>();
  for (const file of files) targets.set(file.path, followLinks(src.dir, file, byPath, links));
  const contents = await readBlobs(
    src.repoRoot,
    [...targets.values()].flatMap((t) => ("oid" in t && t.size <= MAX_ACCOUNT_FILE_BYTES ? [t.oid] : [])),
  );

  for (const [index, file] of files.entries()) {
    onFile?.(index + 1, files.length);
    const shown = `${src.rev}:${file.path}`;
    const fileProblem = (message: string, fix: string) => problems.push({ file: shown, line: 1, column: 1, field: "", message, fix });
    const target = targets.get(file.path)!;
    if (!("oid" in target)) {
      fileProblem(target.problem, target.fix);
      continue;
    }
    if (target.size > MAX_ACCOUNT_FILE_BYTES) {
      problems.push(tooLarge(shown, target.size));
      continue;
    }
    const checked = accountFromBytes(shown, path.join(src.repoRoot, ...file.path.split("/")), contents.get(target.oid)!, src.projectRoot);
    problems.push(...checked.problems);
    if (checked.account) accounts.push(checked.account);
    if (checked.fleetEntry) fleet.push(checked.fleetEntry);
  }
  problems.push(...checkFleet(fleet));
  const sopsFiles = await sopsFilesAtRev(src, accounts);
  for (const account of accounts) problems.push(...sopsReferenceProblems(account, sopsFiles));
  return { accounts, problems: sortProblems(problems), files: files.length, sopsFiles };
}

/**
 * The SOPS files the accounts reference, as stored at the revision (one ls-tree, one cat-file for
 * all of them). A link or anything but a regular file is read as missing: the plan does not follow
 * links outside the accounts folder.
 */
async function sopsFilesAtRev(src: RevSource, accounts: readonly AccountFile[]): Promise<StoredSopsFiles> {
  const wanted = new Map<string, string>();
  for (const account of accounts) {
    for (const spec of Object.values(account.credentials)) {
      if (spec.kind !== "ref" || !isSopsRef(spec.ref)) continue;
      const target = sopsTarget(account, spec.ref);
      const rel = path.relative(src.repoRoot, target);
      if (!rel.startsWith("..") && !path.isAbsolute(rel)) wanted.set(rel.split(path.sep).join("/"), target);
    }
  }
  for (const rel of [...wanted.keys()]) for (const config of sopsConfigsAbove(rel)) wanted.set(config, path.join(src.repoRoot, ...config.split("/")));
  const entries = wanted.size === 0 ? [] : (await listTree(src.repoRoot, src.tree, [...wanted.keys()])).filter((e) => e.type === "blob" && e.mode !== SYMLINK_MODE && wanted.has(e.path));
  const blobs = await readBlobs(src.repoRoot, entries.filter((e) => e.size <= LIMITS.maxSopsFileBytes).map((e) => e.oid));
  const texts = new Map<string, Buffer | { size: number }>();
  for (const e of entries) texts.set(wanted.get(e.path)!, blobs.get(e.oid) ?? { size: e.size });
  return sopsFilesFrom(texts, src.repoRoot);
}

/** The `.sops.yaml` paths that may approve key services for a file (its folder and every one above). */
function sopsConfigsAbove(rel: string): string[] {
  const segments = rel.split("/").slice(0, -1);
  return segments.map((_, i) => [...segments.slice(0, segments.length - i), ".sops.yaml"].join("/")).concat(".sops.yaml");
}

/** Same selection as `listAccountFiles`: YAML files, nothing under a dot-named file or folder. */
function isAccountFile(dir: string, e: TreeEntry): boolean {
  if (e.type !== "blob") return false;
  const rel = dir === "" ? e.path : e.path.slice(dir.length + 1);
  const segments = rel.split("/");
  return /\.ya?ml$/i.test(segments[segments.length - 1]) && !segments.some((s) => s.startsWith("."));
}

/** Same order as `listAccountFiles`, which sorts each folder's entries by name while walking. */
function comparePaths(a: string, b: string): number {
  const sa = a.split("/");
  const sb = b.split("/");
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const c = compareNames(sa[i], sb[i]);
    if (c !== 0) return c;
  }
  return sa.length - sb.length;
}

/** Like the working-tree loader, a link may point at another file inside the accounts folder, nowhere else. */
function followLinks(dir: string, file: TreeEntry, byPath: Map<string, TreeEntry>, links: Map<string, Buffer>): TreeEntry | { problem: string; fix: string } {
  const outside = (target: string) => ({ problem: `is a symbolic link to ${target}, outside the accounts folder`, fix: "copy the file into the accounts folder instead of linking to it" });
  let current = file;
  for (let hop = 0; current.mode === SYMLINK_MODE; hop++) {
    if (hop === MAX_LINK_HOPS) return { problem: "is a symbolic link in a loop", fix: "replace the link with the file itself" };
    const text = links.get(current.oid)?.toString("utf8") ?? "";
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(current.path), text));
    const inside = dir === "" ? !target.startsWith("../") && target !== ".." : target.startsWith(`${dir}/`);
    if (text.startsWith("/") || !inside) return outside(text);
    const next = byPath.get(target);
    if (!next || next.type !== "blob") return { problem: `is a symbolic link to ${text}, which does not exist in this revision`, fix: "point the link at an existing account file, or replace it with the file" };
    current = next;
  }
  return current;
}
