/**
 * A stack file that is not a stack file: git commits symbolic links, and CI names the stack
 * (PULUMI_STACK) on every pull request, so a pull request can make `stacks/Pulumi.<name>.yaml` a
 * link to /dev/zero (read without end) or a FIFO (blocks forever). Every command that reads the
 * stack, and the program, refuses it with the file and the reason, in bounded time, having read nothing.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "./harness/engine";
import { CLI, GitRepo, PROJECT_ROOT } from "./support/git-repo";
import { Workspace } from "./support/workspace";

/** Far above what a refused stack file costs (a few hundred ms); an unchecked one never finishes. */
const BOUND_MS = 5000;
const FIX = "Fix: make it a regular file of the project, holding the stack's settings (git checkout -- it, or pulumi config set again)";

/** The CLI as CI runs it, killed at the bound (an unchecked /dev/zero would otherwise fill memory). */
function runBounded(args: string[], cwd: string, env: Record<string, string> = {}) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, PULUMI_STACK: "", ...env }, encoding: "utf8", timeout: BOUND_MS, killSignal: "SIGKILL" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

describe("a stack file is checked before it is read", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("hostile-stack-file");
    repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\nstackConfigDir: stacks\n");
    repo.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: API_KEY\n");
    repo.write("stacks/settings.yaml", "config:\n  connected-accounts:baseUrl: https://backend.composio.dev\n");
    repo.write(".github/workflows/deploy.yml", "on: push\njobs:\n  d:\n    steps:\n      - run: pulumi up --yes\n");
    repo.commit("v1");
    fs.symlinkSync("/dev/zero", path.join(repo.dir, "stacks/Pulumi.zero.yaml"));
    fs.symlinkSync("/etc/hostname", path.join(repo.dir, "stacks/Pulumi.outside.yaml"));
    fs.symlinkSync("settings.yaml", path.join(repo.dir, "stacks/Pulumi.linked.yaml"));
    execFileSync("mkfifo", [path.join(repo.dir, "stacks/Pulumi.fifo.yaml")]);
    repo.write("stacks/Pulumi.huge.yaml", `config:\n  connected-accounts:note: "${"x".repeat(1024 * 1024)}"\n`);
  });
  afterAll(() => repo.cleanup());

  const refusals = [
    ["zero", "stacks/Pulumi.zero.yaml links outside the project"],
    ["outside", "stacks/Pulumi.outside.yaml links outside the project"],
    ["fifo", "stacks/Pulumi.fifo.yaml is a named pipe (FIFO), not a regular file"],
  ] as const;

  for (const [stack, reason] of refusals) {
    it(`validate --stack ${stack}, and PULUMI_STACK=${stack}: exit 2 naming the file and why, in bounded time`, () => {
      for (const r of [runBounded(["validate", "--stack", stack], repo.dir), runBounded(["validate"], repo.dir, { PULUMI_STACK: stack })]) {
        expect(r.stderr).toBe(`connected-accounts validate: stack file ${reason}; nothing was read from it. ${FIX}\n`);
        expect(r.code).toBe(2);
        expect(r.ms).toBeLessThan(BOUND_MS);
      }
    });
  }

  it("check-env, plan, sandbox and import --stack refuse a FIFO the same way instead of hanging", () => {
    const runs = {
      "check-env": runBounded(["check-env", "--stack", "fifo", "--workflow", ".github/workflows/deploy.yml"], repo.dir),
      plan: runBounded(["plan", "--base", "v1", "--stack", "fifo"], repo.dir),
      sandbox: runBounded(["sandbox", "--stack", "fifo", "--port", "0"], repo.dir),
      import: runBounded(["import", "--stack", "fifo"], repo.dir, { COMPOSIO_API_KEY: "hostile-stack-file-key", COMPOSIO_BASE_URL: "http://127.0.0.1:9" }),
    };
    for (const [command, r] of Object.entries(runs)) {
      expect(r.stderr, command).toBe(`connected-accounts ${command}: stack file stacks/Pulumi.fifo.yaml is a named pipe (FIFO), not a regular file; nothing was read from it. ${FIX}\n`);
      expect(r.code, command).toBe(2);
    }
  });

  it("a stack file past 1 MiB is refused with its size; one linked inside the project is read where it leads", () => {
    const huge = runBounded(["validate", "--stack", "huge"], repo.dir);
    expect(huge.code).toBe(2);
    expect(huge.stderr).toMatch(/^connected-accounts validate: stack file stacks\/Pulumi\.huge\.yaml is \d+ bytes; stack files are limited to 1048576 bytes; nothing was read from it\. Fix: keep credentials in SOPS files/);
    expect(runBounded(["validate", "--stack", "linked"], repo.dir)).toMatchObject({ code: 0, stdout: "1 account file valid\n" });
  });
});

describe("the program refuses a stack file that is a FIFO", () => {
  // The program reads the stack file of the project it runs in: a FIFO under a name of this run's own.
  const stack = `fifo-${process.pid}`;
  const fifo = path.join(PROJECT_ROOT, "stacks", `Pulumi.${stack}.yaml`);
  let ws: Workspace;
  beforeAll(() => {
    execFileSync("mkfifo", [fifo]);
    ws = new Workspace("stack-fifo");
  });
  afterAll(() => {
    fs.rmSync(fifo, { force: true });
    ws.cleanup();
  });

  it("stops with the file and the reason before registering anything, in bounded time", async () => {
    ws.write("a.yaml", { id: "ca_a", toolkit: "github", userId: "u", authScheme: "API_KEY" });
    const engine = new Engine(PROJECT_ROOT, path.join(ws.dir, "state.json"), stack);
    const started = Date.now();
    const d = await engine.preview({ config: { "connected-accounts:accountsDir": ws.accountsDir } });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(d.ok).toBe(false);
    expect(d.programError).toContain(`stack file ${path.relative(PROJECT_ROOT, fifo)} is a named pipe (FIFO), not a regular file; nothing was read from it.`);
    expect(d.steps).toEqual([]);
  }, 60_000);
});
