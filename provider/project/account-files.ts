import * as fs from "node:fs";
import * as path from "node:path";
import type { AccountFile } from "../accounts/account";
import { checkFleet, type FleetEntry } from "../accounts/fleet";
import { parseAccountText } from "../accounts/parse";
import { sortProblems, type AccountProblem } from "../accounts/problem";
import { isInside, validateAccount } from "../accounts/validate";
import { REFERENCE_RULES } from "../references/kinds";
import { checkReferences } from "../references/resolve";
import { workingTreeSopsFiles } from "../references/sops";
import type { StoredSopsFiles } from "../references/sops-document";

/** An account file is a few hundred bytes; anything this large is a mistake (or an attack on the parser). */
export const MAX_ACCOUNT_FILE_BYTES = 256 * 1024;

export interface LoadOptions {
  /** Folder of account files. */
  dir: string;
  /** Repository root: `file:` references and symlinks must stay inside it. */
  repoRoot: string;
  /** Base for the paths shown to the user (default: the working directory). */
  displayBase?: string;
  /** Called as each file is taken up (`done` of `total`), for a progress display. */
  onFile?: (done: number, total: number) => void;
}

export interface LoadedAccounts {
  accounts: AccountFile[];
  problems: AccountProblem[];
  files: number;
  /** The SOPS files the accounts reference, as stored (encrypted) on the same side. */
  sopsFiles?: StoredSopsFiles;
}

/** Reads, parses and validates every `*.yaml` / `*.yml` under `dir`, all errors together. */
export function loadAccounts(opts: LoadOptions): LoadedAccounts {
  const displayBase = opts.displayBase ?? process.cwd();
  const display = (p: string) => path.relative(displayBase, p) || p;
  const problems: AccountProblem[] = [];
  const accounts: AccountFile[] = [];
  const fleet: FleetEntry[] = [];
  const dir = path.resolve(opts.dir);
  if (!fs.existsSync(dir)) {
    return { accounts, files: 0, problems: [{ file: display(dir), line: 1, column: 1, field: "", message: "the accounts folder does not exist", fix: "create it, or set connected-accounts:accountsDir (or --dir) to the folder holding your account files" }] };
  }
  const realDir = fs.realpathSync(dir);
  const links = new Set<string>();
  const linkedFolders: string[] = [];
  const files = listAccountFiles(dir, links, linkedFolders);
  for (const folder of linkedFolders) {
    // The walk never enters a linked folder. One inside the accounts folder is read where it really
    // is; one leading outside would have its accounts silently released, like a file linked there.
    const target = fs.realpathSync(folder);
    if (isInside(realDir, target)) continue;
    problems.push({
      file: display(folder), line: 1, column: 1, field: "",
      message: `is a symbolic link to the folder ${target}, outside the accounts folder; its files are not read`,
      fix: "move the account files into the accounts folder itself instead of linking a folder there",
    });
  }
  const sopsFiles = workingTreeSopsFiles(opts.repoRoot);
  for (const [index, file] of files.entries()) {
    opts.onFile?.(index + 1, files.length);
    const shown = display(file);
    const fileProblem = (message: string, fix: string) => problems.push({ file: shown, line: 1, column: 1, field: "", message, fix });
    // Only a symbolic link needs resolving (the walk never enters linked folders), and the size
    // comes from the open file itself: no path lookup beyond the one a read needs anyway.
    let real = file;
    if (links.has(file)) {
      try {
        real = fs.realpathSync(file);
      } catch {
        fileProblem("is a symbolic link to a file that does not exist", "remove the link, or copy the account file into the accounts folder");
        continue;
      }
      if (!isInside(realDir, real)) {
        fileProblem(`is a symbolic link to ${real}, outside the accounts folder`, "copy the file into the accounts folder instead of linking to it");
        continue;
      }
    }
    const bytes = readBounded(real);
    if ("tooLarge" in bytes) {
      problems.push(tooLarge(shown, bytes.tooLarge));
      continue;
    }
    if ("problem" in bytes) {
      fileProblem(bytes.problem, bytes.fix);
      continue;
    }
    const checked = accountFromBytes(shown, file, bytes.bytes, opts.repoRoot);
    problems.push(...checked.problems);
    if (checked.account) accounts.push(checked.account);
    // What the files show (a file reference to a FIFO, or outside the repository); a missing secret
    // file or an unset variable is for the machine that deploys to say. A file with other problems
    // has its sound references checked too, so every problem of a file comes in one round.
    const references = checked.account ?? checked.references;
    if (references) problems.push(...checkReferences(references, { stage: "files", projectRoot: opts.repoRoot, repoRoot: opts.repoRoot }));
    if (checked.fleetEntry) fleet.push(checked.fleetEntry);
  }
  problems.push(...checkFleet(fleet));
  return { accounts, problems: sortProblems(problems), files: files.length, sopsFiles };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

type BoundedRead = { bytes: Buffer } | { tooLarge: number } | { problem: string; fix: string };

/**
 * The file's bytes, its size when over the limit (then it is not read at all), or why it is not a
 * file. Opened without blocking, so a FIFO named `*.yaml` cannot hang the run; its kind and size
 * come from the open file itself, so nothing can be swapped in between.
 */
function readBounded(file: string): BoundedRead {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    return { problem: `could not be opened (${(err as NodeJS.ErrnoException).code ?? "error"})`, fix: "check the file's permissions" };
  }
  try {
    const stat = fs.fstatSync(fd);
    if (stat.isDirectory()) return { problem: "is a symbolic link to a folder, not an account file", fix: "remove the link, or rename it so it does not end in .yaml" };
    if (!stat.isFile()) return { problem: "is not a regular file (a named pipe, device or socket)", fix: "remove it from the accounts folder; an account file is a plain YAML file" };
    return stat.size > MAX_ACCOUNT_FILE_BYTES ? { tooLarge: stat.size } : { bytes: fs.readFileSync(fd) };
  } finally {
    fs.closeSync(fd);
  }
}

/** An account file over the size limit, reported without reading it. */
export function tooLarge(shown: string, size: number): AccountProblem {
  return { file: shown, line: 1, column: 1, field: "", message: `is ${size} bytes; account files are limited to ${MAX_ACCOUNT_FILE_BYTES} bytes`, fix: "one account per file; move anything else out of the accounts folder" };
}

/**
 * One file's bytes → a validated account or its problems: decoding, parsing and validation shared
 * by the working tree and by files read from a git revision.
 */
export function accountFromBytes(shown: string, absPath: string, bytes: Uint8Array, repoRoot: string): ReturnType<typeof validateAccount> {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { problems: [{ file: shown, line: 1, column: 1, field: "", message: "is not valid UTF-8 text", fix: "save the file as UTF-8" }] };
  }
  const { parsed, problems } = parseAccountText(shown, absPath, text);
  if (!parsed) return { problems };
  return validateAccount(parsed, repoRoot, REFERENCE_RULES);
}

/**
 * File names in code-point order: the same on every machine whatever its locale, and far cheaper
 * than `localeCompare` over ten thousand files.
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Account files in a stable order, so plans and errors read the same on every machine. Every entry
 * named *.yaml that is not a folder is listed, whatever it is (a FIFO or socket too, so that the
 * loader reports it rather than the account being released); symbolic links are collected in
 * `links`, and links to folders (never entered) in `linkedFolders`.
 */
export function listAccountFiles(dir: string, links?: Set<string>, linkedFolders?: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => compareNames(a.name, b.name))) {
      if (entry.name.startsWith(".")) continue;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.ya?ml$/i.test(entry.name)) {
        out.push(full);
        if (entry.isSymbolicLink()) links?.add(full);
      } else if (entry.isSymbolicLink() && linkedFolders && isFolder(full)) linkedFolders.push(full);
    }
  };
  walk(dir);
  return out;
}

function isFolder(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
