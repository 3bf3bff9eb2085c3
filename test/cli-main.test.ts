/**
 * The command line as a whole: help, version, one wording for usage mistakes across commands.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitRepo, PROJECT_ROOT, runCli } from "./support/git-repo";

const VERSION = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;

describe("connected-accounts", () => {
  let repo: GitRepo;
  const run = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: repo.dir, env: { PULUMI_STACK: "", ...env } });

  beforeAll(() => {
    repo = new GitRepo("main");
    repo.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: OAUTH2\n");
    repo.commit("base");
  });
  afterAll(() => repo.cleanup());

  it("help lists the commands; help <command> shows that command's options; --version prints the version", () => {
    const help = run(["help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: connected-accounts <command> \[options\]\n\ncommands:\n {2}validate {3}/);
    expect(run(["--help"]).stdout).toBe(help.stdout);
    const plan = run(["help", "plan"]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/^usage: connected-accounts plan --base <rev>/);
    for (const flag of ["--version", "-V"]) expect(run([flag])).toEqual({ code: 0, stdout: `connected-accounts ${VERSION}\n`, stderr: "" });
    const unknown = run(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^connected-accounts: unknown command "frobnicate"\n\nusage: connected-accounts <command>/);
  });

  it("with no command prints the usage to stderr and exits 2, so a script missing its command fails", () => {
    const none = run([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe("");
    expect(none.stderr).toMatch(/^usage: connected-accounts <command> \[options\]\n\ncommands:\n/);
  });

  it("words an unknown option the same way in every command", () => {
    const cases: [string, string[]][] = [["validate", []], ["plan", ["--base", "base"]], ["import", []], ["sandbox", []]];
    for (const [command, args] of cases) {
      const r = run([command, ...args, "--nope"], { COMPOSIO_API_KEY: "unused" });
      expect({ command, code: r.code, first: r.stderr.split("\n")[0], stdout: r.stdout }).toEqual({
        command, code: 2, first: `connected-accounts ${command}: unknown option "--nope"`, stdout: "",
      });
      expect(r.stderr).toContain(`usage: connected-accounts ${command}`);
    }
  });

  it("validate --dir to a missing folder: exit 2, no invented position", () => {
    const r = run(["validate", "--dir", "nope"]);
    expect(r).toEqual({
      code: 2,
      stdout: "",
      stderr: "connected-accounts validate: the accounts folder nope (given with --dir) does not exist: create it, or name the folder holding your account files with --dir or --stack\n",
    });
  });

  it("the Markdown cut note's command keeps the options the user gave", () => {
    const big = new GitRepo("main-big");
    try {
      big.commit("base");
      for (let i = 0; i < 900; i++) {
        const n = String(i).padStart(4, "0");
        big.write(`fleet/team/account-${n}.yaml`, `id: ca_${n}\ntoolkit: github\nuserId: u\nalias: alias-${n}\nauthScheme: OAUTH2\n`);
      }
      const r = runCli(["plan", "--base", "base", "--dir", "fleet", "--format", "markdown"], { cwd: big.dir, env: { PULUMI_STACK: "" } });
      expect(r.code).toBe(0);
      expect(r.stdout.length).toBeLessThanOrEqual(65_536);
      expect(r.stdout).toMatch(/[\d,]+ adoptions not shown \(every update and release is\)\. Run `npx connected-accounts plan --base base --dir fleet` for the full plan\._/);
    } finally {
      big.cleanup();
    }
  });
});
