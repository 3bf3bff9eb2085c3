/**
 * The demo's own project: a throwaway copy of this one in a temporary folder, made a git checkout
 * of its own. The demo writes demo secrets, a local Pulumi state and the change it shows there, so
 * the engineer's checkout, stack files and state are never touched, and every run tells the same
 * story from the start (adopt, then change).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** What `pulumi` and the commands need from the project; dist/provider is the compiled provider it loads. */
const PROJECT_ENTRIES = ["Pulumi.yaml", "package.json", "tsconfig.json", "provider", "dist/provider", "stacks", "accounts", "examples", ".gitignore", "secrets/README.md"];

export interface DemoProject {
  dir: string;
  /** Whether the copy is a git checkout (plan compares revisions); false when git is not installed. */
  inGit: boolean;
  /** Commits the working tree as it is (the state a pull request starts from). */
  commit(message: string): void;
  remove(): void;
}

export function createDemoProject(sourceRoot: string): DemoProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "connected-accounts-demo-"));
  try {
    for (const entry of PROJECT_ENTRIES) {
      const from = path.join(sourceRoot, entry);
      if (fs.existsSync(from)) fs.cpSync(from, path.join(dir, entry), { recursive: true });
    }
    // Installed packages are shared, not copied: the copy runs with the project's own dependencies.
    fs.symlinkSync(path.join(sourceRoot, "node_modules"), path.join(dir, "node_modules"));
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const git = (args: string[]) =>
    execFileSync("git", ["-c", "user.name=connected-accounts demo", "-c", "user.email=demo@localhost", "-c", "commit.gpgsign=false", ...args], { cwd: dir, stdio: "ignore" });
  let inGit = true;
  try {
    git(["init", "-q", "-b", "main"]);
  } catch {
    inGit = false;
  }
  const project: DemoProject = {
    dir,
    inGit,
    commit(message) {
      if (!inGit) return;
      git(["add", "-A"]);
      git(["commit", "-q", "--allow-empty", "-m", message]);
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  project.commit("the account files as checked out");
  return project;
}
