/**
 * `--stack` (or PULUMI_STACK): validate, plan, import and sandbox find the account files where the
 * stack's `connected-accounts:accountsDir` puts them, as the Pulumi program does.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stackSettingPosition } from "../provider/project/stack";
import { CLI, GitRepo, runCli } from "./support/git-repo";

const ACCOUNT = (id: string) => `id: ${id}\ntoolkit: github\nuserId: u\nalias: ${id}-alias\nauthScheme: OAUTH2\n`;

describe("commands for a stack", () => {
  let repo: GitRepo;
  /** No PULUMI_STACK from the machine running the tests. */
  const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: repo.dir, env: { PULUMI_STACK: "", ...env } });

  beforeAll(() => {
    repo = new GitRepo("stack");
    repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\nstackConfigDir: stacks\n");
    repo.write("stacks/Pulumi.prod.yaml", "config:\n  connected-accounts:baseUrl: https://backend.composio.dev\n");
    repo.write("accounts/a.yaml", ACCOUNT("ca_a"));
    repo.write("accounts/b.yaml", ACCOUNT("ca_b"));
    repo.commit("base");
    // The change under review: the folder moves, and the stack says where to.
    repo.move("accounts", "fleet");
    repo.write("stacks/Pulumi.prod.yaml", "config:\n  connected-accounts:baseUrl: https://backend.composio.dev\n  connected-accounts:accountsDir: fleet\n");
  });
  afterAll(() => repo.cleanup());

  it("validate reads accountsDir from --stack, from PULUMI_STACK (org/stack), and --dir still wins", () => {
    expect(run(["validate", "--stack", "prod"])).toEqual({ code: 0, stdout: "2 account files valid\n", stderr: "" });
    expect(run(["validate"], { PULUMI_STACK: "my-org/prod" })).toEqual({ code: 0, stdout: "2 account files valid\n", stderr: "" });
    const dir = run(["validate", "--stack", "prod", "--dir", "elsewhere"]);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toBe("connected-accounts validate: the accounts folder elsewhere (given with --dir) does not exist: create it, or name the folder holding your account files with --dir or --stack\n");
  });

  it("without a stack, a missing accounts/ while a stack file sets accountsDir is a usage error suggesting --stack", () => {
    const hint = "there is no accounts folder, and stacks/Pulumi.prod.yaml sets accountsDir: fleet: name the stack with --stack prod (or PULUMI_STACK=prod), or give the folder with --dir\n";
    const v = run(["validate"]);
    expect(v).toEqual({ code: 2, stdout: "", stderr: `connected-accounts validate: ${hint}` });
    const p = run(["plan", "--base", "base"]);
    expect(p).toEqual({ code: 2, stdout: "", stderr: `connected-accounts plan: ${hint}` });
  });

  it("refuses a --stack without a stack file, naming the stacks there are", () => {
    const r = run(["validate", "--stack", "staging"]);
    expect(r).toEqual({ code: 2, stdout: "", stderr: "connected-accounts validate: no stack file for --stack staging: stacks/Pulumi.staging.yaml does not exist (stacks here: prod)\n" });
    expect(run(["validate", "--stack", "my-org/.."]).stderr).toBe('connected-accounts validate: "my-org/.." is not a stack name (letters, digits, "-", "_" and "." only, optionally after "org/")\n');
  });

  it("plan reads each revision's own stack setting: moving the folder with its setting is a move, not releases", () => {
    const r = run(["plan", "--base", "base", "--stack", "prod", "--format", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.summary).toEqual({ adopt: 0, update: 0, release: 0, unchanged: 2 });
    expect(out.accounts.map((a: { file: string; movedFrom: string }) => [a.file, a.movedFrom])).toEqual([["fleet/a.yaml", "accounts/a.yaml"], ["fleet/b.yaml", "accounts/b.yaml"]]);
  });

  it("sandbox seeds from the stack's accountsDir", async () => {
    const child = spawn(process.execPath, [CLI, "sandbox", "--port", "0", "--stack", "prod"], { cwd: repo.dir, env: { ...process.env, PULUMI_STACK: "" } });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /sandbox listening on .*\n/.exec(out);
          if (m) resolve(m[0]);
        });
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.once("exit", (code) => reject(new Error(`sandbox exited ${code}: ${out}${err}`)));
      });
      expect(line).toMatch(/\(api key: sandbox-demo-key, 2 accounts seeded\)/);
    } finally {
      child.kill("SIGTERM");
    }
  });
});

describe("where a stack setting sits", () => {
  it("names the stack file Pulumi reads, with the line of the setting, or 1:1 when it is not there", () => {
    const repo = new GitRepo("setting-position");
    try {
      repo.write("Pulumi.yaml", "name: p\nruntime: nodejs\nstackConfigDir: stacks\n");
      repo.write("stacks/Pulumi.prod.yaml", "# prod\nconfig:\n  connected-accounts:baseUrl: https://example.test\n  connected-accounts:fingerprintKey:\n    secure: v1:abc\n");
      expect(stackSettingPosition(repo.dir, "my-org/prod", "connected-accounts:fingerprintKey", repo.dir)).toEqual({ file: "stacks/Pulumi.prod.yaml", line: 4, column: 3 });
      expect(stackSettingPosition(repo.dir, "prod", "connected-accounts:apiKey", repo.dir)).toEqual({ file: "stacks/Pulumi.prod.yaml", line: 1, column: 1 });
      expect(stackSettingPosition(repo.dir, "staging", "connected-accounts:apiKey", repo.dir)).toEqual({ file: "stacks/Pulumi.staging.yaml", line: 1, column: 1 });
    } finally {
      repo.cleanup();
    }
  });
});
