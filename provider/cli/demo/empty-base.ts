/**
 * A plan base in which no account file exists, so `plan` shows every account as "adopt".
 *
 * That base is git's well-known empty tree, but `plan --base` takes a commit (it resolves
 * `<rev>^{commit}`), and a tree is not one. So the demo makes a commit of the empty tree in a
 * temporary object folder that only the plan process sees (GIT_ALTERNATE_OBJECT_DIRECTORIES): the
 * repository itself is never written to. Fixed author and date make it the same commit on every run.
 * Once `plan` accepts a tree as --base, pass EMPTY_TREE directly and delete this module.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

const IDENTITY = {
  GIT_AUTHOR_NAME: "connected-accounts demo",
  GIT_AUTHOR_EMAIL: "demo@connected-accounts.invalid",
  GIT_AUTHOR_DATE: "2000-01-01T00:00:00Z",
  GIT_COMMITTER_NAME: "connected-accounts demo",
  GIT_COMMITTER_EMAIL: "demo@connected-accounts.invalid",
  GIT_COMMITTER_DATE: "2000-01-01T00:00:00Z",
};

export interface EmptyBase {
  commit: string;
  /** Environment for the plan process, so its git finds the commit. */
  env: Record<string, string>;
  /** Removes the temporary object folder. */
  dispose(): void;
}

export async function emptyBaseCommit(repoRoot: string, env: NodeJS.ProcessEnv): Promise<EmptyBase> {
  const objects = fs.mkdtempSync(path.join(os.tmpdir(), "connected-accounts-demo-objects-"));
  const dispose = () => fs.rmSync(objects, { recursive: true, force: true });
  try {
    const commit = await new Promise<string>((resolve, reject) => {
      execFile(
        "git",
        ["-c", "commit.gpgSign=false", "commit-tree", EMPTY_TREE, "-m", "empty base for npm run demo"],
        { cwd: repoRoot, env: { ...env, ...IDENTITY, GIT_OBJECT_DIRECTORY: objects }, encoding: "utf8" },
        (err, stdout, stderr) => (err ? reject(new Error(`git commit-tree failed: ${(stderr || err.message).trim()}`)) : resolve(stdout.trim())),
      );
    });
    const alternates = [objects, env.GIT_ALTERNATE_OBJECT_DIRECTORIES].filter(Boolean).join(path.delimiter);
    return { commit, env: { GIT_ALTERNATE_OBJECT_DIRECTORIES: alternates }, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}
