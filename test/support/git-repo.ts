import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");
/** The compiled CLI, as `npx connected-accounts` runs it (tests run after `tsc -p .`). */
export const CLI = path.join(PROJECT_ROOT, "dist/provider/cli/main.js");

/** Git isolated from the machine's and the user's configuration, with a fixed identity. */
const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: os.devNull,
  GIT_AUTHOR_NAME: "Fixture",
  GIT_AUTHOR_EMAIL: "fixture@example.com",
  GIT_COMMITTER_NAME: "Fixture",
  GIT_COMMITTER_EMAIL: "fixture@example.com",
  GIT_AUTHOR_DATE: "2026-01-01T00:00:00Z",
  GIT_COMMITTER_DATE: "2026-01-01T00:00:00Z",
};

/** A real git repository in a temporary folder, for end-to-end runs of the CLI. */
export class GitRepo {
  readonly dir: string;

  constructor(name = "repo") {
    this.dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `ca-${name}-`)));
    this.git("init", "--quiet", "--initial-branch=main");
  }

  git(...args: string[]): string {
    return execFileSync("git", ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", ...args], {
      cwd: this.dir,
      env: { ...process.env, ...GIT_ENV },
      encoding: "utf8",
    });
  }

  write(relPath: string, text: string): void {
    const file = path.join(this.dir, relPath);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  }

  remove(relPath: string): void {
    fs.rmSync(path.join(this.dir, relPath), { force: true, recursive: true });
  }

  move(from: string, to: string): void {
    fs.mkdirSync(path.dirname(path.join(this.dir, to)), { recursive: true });
    fs.renameSync(path.join(this.dir, from), path.join(this.dir, to));
  }

  /** Commits everything and tags the commit, so tests can name it. */
  commit(tag: string): void {
    this.git("add", "--all");
    this.git("commit", "--quiet", "--allow-empty", "-m", tag);
    this.git("tag", tag);
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI as a child process (stdout and stderr are pipes, so never a terminal). */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): CliResult {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...GIT_ENV, ...opts.env },
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * The same, without blocking this process: for commands that talk to a server this process runs
 * (the sandbox answers from its event loop). `env` is the child's whole environment.
 */
export function runCliAsync(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: build first with npx tsc -p .`);
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
