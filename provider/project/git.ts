/**
 * The few git plumbing commands the review tools need, run with execFile/spawn (never a shell), so a
 * revision or path can never be read as shell syntax. Everything runs in the repository root, where
 * git paths are repository-relative.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** `git ls-tree` of a large accounts folder is a few MB at most; the default 1 MB would cut it. */
const MAX_GIT_OUTPUT_BYTES = 256 * 1024 * 1024;

export class GitError extends Error {
  constructor(readonly args: readonly string[], readonly stderr: string) {
    super(`git ${args.join(" ")} failed: ${stderr.trim() || "no output"}`);
    this.name = "GitError";
  }
}

/** One file of a tree, as `git ls-tree -r -l` lists it. */
export interface TreeEntry {
  /** Repository-relative, `/`-separated. */
  path: string;
  /** `100644`, `100755`, `120000` (symbolic link), `160000` (submodule). */
  mode: string;
  type: string;
  oid: string;
  /** Bytes; -1 for anything that is not a blob. */
  size: number;
}

function git(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("git", args, { cwd, maxBuffer: MAX_GIT_OUTPUT_BYTES, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) reject(new GitError(args, stderr || err.message));
      else resolve(stdout);
    });
  });
}

/** The top-level folder of the git repository holding `cwd`, or undefined outside one (or without git). */
export async function findRepoTopLevel(cwd: string): Promise<string | undefined> {
  try {
    const out = (await git(cwd, ["rev-parse", "--show-toplevel"])).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/** The tree a revision names (a commit, branch, tag, or a tree itself such as git's empty tree), or undefined when the repository cannot read it. */
export async function resolveTree(repoRoot: string, rev: string): Promise<string | undefined> {
  // A revision starting with "-" would be taken as an option; no real revision does.
  if (rev.startsWith("-")) return undefined;
  try {
    return (await git(repoRoot, ["rev-parse", "--verify", "--quiet", `${rev}^{tree}`])).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** One file's text at a tree (`path` repository-relative, `/`-separated), or undefined when it is not there. */
export async function readFileAtTree(repoRoot: string, tree: string, path: string): Promise<string | undefined> {
  try {
    return await git(repoRoot, ["cat-file", "blob", `${tree}:${path}`]);
  } catch {
    return undefined;
  }
}

/** Every file under `dir` (repository-relative; "" for the root), or under each of several paths, in `tree`. */
export async function listTree(repoRoot: string, tree: string, dir: string | readonly string[]): Promise<TreeEntry[]> {
  const paths = typeof dir === "string" ? [dir === "" ? "." : dir] : dir.map((p) => `:(literal)${p}`);
  if (paths.length === 0) return [];
  const out = await git(repoRoot, ["ls-tree", "-r", "-l", "-z", tree, "--", ...paths]);
  const entries: TreeEntry[] = [];
  for (const record of out.split("\0")) {
    if (record === "") continue;
    const m = /^(\d+) (\w+) ([0-9a-f]+) +(-|\d+)\t([\s\S]*)$/.exec(record);
    if (!m) throw new GitError(["ls-tree"], `unexpected output line ${JSON.stringify(record)}`);
    entries.push({ mode: m[1], type: m[2], oid: m[3], size: m[4] === "-" ? -1 : Number(m[4]), path: m[5] });
  }
  return entries;
}

/**
 * Reads many blobs through one `git cat-file --batch` process instead of one `git show` per file,
 * which matters with thousands of account files. `onBlob` is called as each one arrives.
 */
export function readBlobs(repoRoot: string, oids: readonly string[], onBlob?: () => void): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const wanted = [...new Set(oids)];
  if (wanted.length === 0) return Promise.resolve(blobs);
  return new Promise((resolve, reject) => {
    const args = ["cat-file", "--batch"];
    const child = spawn("git", args, { cwd: repoRoot, stdio: ["pipe", "pipe", "pipe"] });
    let pending: Buffer = Buffer.alloc(0);
    let stderr = "";
    let next = 0;
    const consume = () => {
      for (;;) {
        const nl = pending.indexOf(0x0a);
        if (nl === -1) return;
        const header = pending.subarray(0, nl).toString("utf8");
        const m = /^([0-9a-f]+) (\w+) (\d+)$/.exec(header);
        if (!m) {
          child.kill();
          reject(new GitError(args, `cannot read object ${wanted[next]}: ${header}`));
          return;
        }
        const size = Number(m[3]);
        // Header, content, then one newline.
        if (pending.length < nl + 1 + size + 1) return;
        blobs.set(m[1], Buffer.from(pending.subarray(nl + 1, nl + 1 + size)));
        pending = pending.subarray(nl + 1 + size + 1);
        next++;
        onBlob?.();
      }
    };
    child.stdout.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      consume();
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", (err) => reject(new GitError(args, err.message)));
    child.on("close", (code) => {
      if (blobs.size < wanted.length) reject(new GitError(args, stderr || `exit code ${code}: some objects were not returned`));
      else resolve(blobs);
    });
    child.stdin.on("error", () => {
      // The close handler reports the failure; an EPIPE here only repeats it.
    });
    child.stdin.end(wanted.join("\n") + "\n");
  });
}

/** Which of `paths` (repository-relative, `/`-separated) git tracks; literal paths, never globs. */
export async function trackedPaths(repoRoot: string, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const out = await git(repoRoot, ["ls-files", "-z", "--cached", "--", ...paths.map((p) => `:(literal)${p}`)]);
  return new Set(out.split("\0").filter((p) => p !== ""));
}

/** Whether git would ignore `path` (repository-relative, `/`-separated) when adding it. */
export async function isIgnored(repoRoot: string, file: string): Promise<boolean> {
  try {
    await git(repoRoot, ["check-ignore", "--quiet", "--", file]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which of `targets` (absolute paths, links not followed, plus where each link leads) git tracks,
 * as absolute paths; empty outside a repository or without git. Synchronous: the Pulumi program
 * checks its references before it registers anything.
 */
export function trackedTargetsSync(dir: string, targets: readonly string[]): Set<string> {
  const candidates = [...new Set(targets.flatMap((t) => [t, realOrUndefined(t)]).filter((p): p is string => p !== undefined))];
  if (candidates.length === 0) return new Set();
  try {
    const root = execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const inRepo = candidates.filter((p) => !path.relative(root, p).startsWith(".."));
    if (inRepo.length === 0) return new Set();
    const out = execFileSync("git", ["ls-files", "-z", "--cached", "--", ...inRepo.map((p) => `:(literal)${path.relative(root, p)}`)], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 });
    const tracked = new Set(out.split("\0").filter((p) => p !== "").map((p) => path.join(root, p)));
    return new Set(candidates.filter((p) => tracked.has(p)));
  } catch {
    return new Set();
  }
}

function realOrUndefined(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}
