/**
 * `npm run demo` end to end: the compiled CLI as a child process in the project root, with a HOME, a
 * cache folder and a PULUMI_HOME of its own and no usable `pulumi` on PATH (only the npm launcher,
 * which the demo never takes for a CLI). Without Go, and with Go but no module proxy, the demo
 * goes through provisionTools (what npm run pulumi:cli and npm test run) to its build step and
 * exits 3 with the reason; with a pulumi on PATH it still provides sops and age-keygen. Where the demo's own handling of the Pulumi steps is tested (failures, Ctrl-C), a fake
 * `pulumi` that records its calls stands in; the demo with the real CLI is in pulumi-cli.test.ts.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAccounts } from "../provider/project/account-files";
import { cacheBinDir, candidatesOnPath } from "../provider/pulumi-cli/locate";
import { locateGoTool, SECRET_TOOLS } from "../provider/pulumi-cli/secret-tools";
import { pinnedPulumiVersion } from "../provider/pulumi-cli/version";
import { CLI, PROJECT_ROOT } from "./support/git-repo";
import { portIsFree } from "./support/ports";

const PINNED = pinnedPulumiVersion(PROJECT_ROOT);

/** A demo run without Pulumi takes a few seconds; past this it hangs, which is the failure being tested for. */
const RUN_BOUND_MS = 80_000;
const TEST_TIMEOUT_MS = 90_000;

/** Planted in the parent's environment: the demo must replace it, never pass it on. */
const REAL_SHOPIFY_KEY = "shpat_REAL_key_must_never_reach_the_demo";

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The demo's throwaway project, from the line after its heading. */
  projectDir: string;
}

let home: string;
let fakeBin: string;
/** sops and age-keygen as npm run pulumi:cli provided them to this machine, linked into a folder of their own. */
let toolsBin: string;
let fakeLog: string;
/** The parent's PATH without any folder holding a `pulumi` or a `go`. */
let barePath: string;
const pathDirs = (process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== "");
/** The folder of a Go toolchain (on PATH, or where this machine kind ships it), if any. */
const goDir = [...pathDirs, "/usr/local/go/bin"].find((dir) => candidatesOnPath("go", dir).length > 0);
let checkoutBefore: string;

/** What the demo must leave as it found it in the engineer's checkout. */
function checkoutSnapshot(): string {
  const tracked = execFileSync("git", ["ls-files", "-s", "accounts", "stacks"], { cwd: PROJECT_ROOT, encoding: "utf8" });
  const list = (dir: string) => (fs.existsSync(path.join(PROJECT_ROOT, dir)) ? fs.readdirSync(path.join(PROJECT_ROOT, dir)).sort().join(",") : "-");
  const contents = ["accounts", "stacks"].flatMap((dir) => listFiles(path.join(PROJECT_ROOT, dir)).map((f) => `${f}:${fs.readFileSync(f, "utf8").length}`));
  return [tracked, list("secrets"), list(".pulumi-state"), ...contents].join("\n");
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)])).sort();
}

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-home-"));
  // As under `npm run demo`: node_modules/.bin first, holding the npm launcher, which is never taken for a CLI.
  barePath = [path.join(PROJECT_ROOT, "node_modules/.bin"), ...pathDirs.filter((dir) => candidatesOnPath("pulumi", dir).length === 0 && candidatesOnPath("go", dir).length === 0)].join(path.delimiter);
  fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-bin-"));
  fakeLog = path.join(fakeBin, "calls.jsonl");
  fs.writeFileSync(path.join(fakeBin, "fake-pulumi.js"), FAKE_PULUMI);
  fs.writeFileSync(path.join(fakeBin, "pulumi"), `#!/bin/sh\nexec "${process.execPath}" "${path.join(fakeBin, "fake-pulumi.js")}" "$@"\n`, { mode: 0o755 });
  // A CLI is usable with its plugins beside it; the fake never runs them.
  for (const plugin of ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) fs.writeFileSync(path.join(fakeBin, plugin), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  toolsBin = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-tools-"));
  for (const tool of SECRET_TOOLS) {
    const found = locateGoTool(tool, cacheBinDir(PINNED, process.env), process.env.PATH);
    if (found) fs.symlinkSync(found.file, path.join(toolsBin, tool.command));
  }
  checkoutBefore = checkoutSnapshot();
});

afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(fakeBin, { recursive: true, force: true });
  fs.rmSync(toolsBin, { recursive: true, force: true });
});

function demoEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("PULUMI_") || key.startsWith("CONNECTED_ACCOUNTS_DEMO_") || key.startsWith("GO")) delete env[key];
  return {
    ...env,
    PATH: barePath,
    HOME: home,
    PULUMI_HOME: path.join(home, ".pulumi"),
    // An empty cache folder: no CLI built earlier, as on a fresh machine.
    XDG_CACHE_HOME: path.join(home, ".cache"),
    // No Go either, not even where its archive installs it (the machine may have one there).
    CONNECTED_ACCOUNTS_GO: path.join(home, "no-go"),
    SHOPIFY_ACME_API_KEY: REAL_SHOPIFY_KEY,
    ...overrides,
  };
}

/** Runs `connected-accounts demo`; `onStdout` sees the output as it arrives (to interrupt at a step). */
function runDemo(args: string[], env: Record<string, string> = {}, onStdout?: (soFar: string, child: ReturnType<typeof spawn>) => void): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "demo", ...args], { cwd: PROJECT_ROOT, env: demoEnv(env), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const bound = setTimeout(() => child.kill("SIGKILL"), RUN_BOUND_MS);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
      onStdout?.(stdout, child);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(bound);
      const projectDir = /^==> Demo project: .*\n(\S+)/m.exec(stdout)?.[1] ?? "";
      resolve({ code, signal, stdout, stderr, projectDir });
    });
  });
}

function exampleAccounts() {
  const loaded = loadAccounts({ dir: path.join(PROJECT_ROOT, "accounts"), repoRoot: PROJECT_ROOT, displayBase: PROJECT_ROOT });
  expect(loaded.problems).toEqual([]);
  return loaded.accounts;
}

function expectNoSecrets(run: DemoRun, extra: string[] = []): void {
  const output = run.stdout + run.stderr;
  for (const secret of [REAL_SHOPIFY_KEY, ...extra]) expect(output).not.toContain(secret);
  expect(output).not.toMatch(/demo-[A-Za-z0-9_-]{24}/);
}

/** The throwaway project is gone, and the engineer's checkout is as it was. */
function expectCleanedUp(run: DemoRun): void {
  expect(run.projectDir).toMatch(/connected-accounts-demo-/);
  expect(fs.existsSync(run.projectDir)).toBe(false);
  expect(checkoutSnapshot()).toBe(checkoutBefore);
}

function fakeCalls(): { args: string[]; cwd: string; env: Record<string, string | undefined> }[] {
  return fs.existsSync(fakeLog) ? fs.readFileSync(fakeLog, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
}

const sandboxPort = (run: DemoRun) => Number(/^==> Sandbox API on http:\/\/127\.0\.0\.1:(\d+)$/m.exec(run.stdout)?.[1]);

describe("npm run demo on a machine without a Pulumi CLI", () => {
  it("without Go: runs the sandbox, validate and plan, says why no CLI could be had, exits 3 and leaves nothing behind", async () => {
    const accounts = exampleAccounts();
    const started = Date.now();
    const run = await runDemo([]);
    expect(run.signal).toBeNull();
    expect(Date.now() - started).toBeLessThan(RUN_BOUND_MS);
    expect(run.code, run.stderr).toBe(3);

    expect(run.stdout).toContain(`${accounts.length} account files valid`);
    for (const account of accounts) expect(run.stdout).toMatch(new RegExp(`^adopt +${account.id} +${account.file}`, "m"));
    expect(run.stdout).toMatch(new RegExp(`^Plan \\(\\w+ → working tree\\): ${accounts.length} to adopt, 0 to update, 0 to release, 0 unchanged\\.$`, "m"));
    expect(run.stdout).toContain(`not every tool is available: no Pulumi CLI v${PINNED} found and Go is not installed to build one (CONNECTED_ACCOUNTS_GO=${path.join(home, "no-go")} is not an executable): install Pulumi (https://www.pulumi.com/docs/install/), or Go 1.25 or newer`);
    expect(run.stdout).toMatch(/^skipped pulumi preview\/up; validate and plan ran above\. Install what is missing \(Pulumi: https:\/\/www\.pulumi\.com\/docs\/install\/\), or Go to build it, and run npm run demo again\.$/m);
    // The npm launcher on PATH was not taken for a CLI: nothing was downloaded or installed.
    expect(fs.existsSync(path.join(home, ".pulumi"))).toBe(false);

    const table = run.stdout.slice(run.stdout.indexOf("==> Sandbox accounts"));
    expect(table).toMatch(/^id +toolkit +user +alias +status +credentials$/m);
    for (const account of accounts) expect(table).toMatch(new RegExp(`^${account.id} +${account.toolkit} +${account.userId} +\\S+ +ACTIVE `, "m"));
    expect(run.stdout.trimEnd().endsWith("==> Sandbox stopped")).toBe(true);
    expectNoSecrets(run);
    expectCleanedUp(run);
  }, TEST_TIMEOUT_MS);

  // A fresh machine of this kind has Go: the demo must reach the very build npm test runs. With the
  // module proxy turned off and an empty module cache, that build fails at its first download, as
  // it would offline, instead of taking minutes; what it ran and why it stopped is in the output.
  it.runIf(goDir !== undefined)("with Go but no module proxy: goes through the same provisioning to the Go build, says why it failed, exits 3", async () => {
    const goHome = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-go-"));
    try {
      const run = await runDemo([], {
        // Go where a fresh machine of this kind has it, maybe not on PATH.
        CONNECTED_ACCOUNTS_GO: path.join(goDir!, "go"),
        GOPROXY: "off",
        GOMODCACHE: path.join(goHome, "mod"),
        GOCACHE: path.join(goHome, "build"),
        GOPATH: path.join(goHome, "path"),
      });
      expect(run.code, run.stdout + run.stderr).toBe(3);
      const cacheBin = path.join(home, `.cache/connected-accounts-gitops/pulumi/v${PINNED}/bin`);
      expect(run.stdout).toMatch(new RegExp(`^building the Pulumi CLI v${PINNED.replace(/\./g, "\\.")} from Go modules into ${cacheBin}: about \\d+m\\d\\ds from empty Go caches on this \\d+-core machine`, "m"));
      expect(run.stdout).toContain(`  go: downloading github.com/pulumi/pulumi/pkg/v3@v${PINNED}`);
      expect(run.stdout).toMatch(/^not every tool is available: go mod download github\.com\/pulumi\/pulumi\/pkg\/v3@v[\d.]+ failed \(exit code 1\):$/m);
      expect(run.stdout).toContain("GOPROXY=off");
      // Nothing half-built is left where the next run would look.
      expect(fs.existsSync(cacheBin)).toBe(false);
      expect(fs.readdirSync(path.dirname(path.dirname(cacheBin)))).toEqual([]);
      expectCleanedUp(run);
    } finally {
      fs.rmSync(goHome, { recursive: true, force: true });
    }
  }, TEST_TIMEOUT_MS);

  it("with --skip-pulumi runs the sandbox, validate and plan only, and exits 0", async () => {
    const run = await runDemo(["--skip-pulumi"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/account files valid/);
    expect(run.stdout).toMatch(/^Plan \(.*\): \d+ to adopt, 0 to update/m);
    expect(run.stdout).toContain("==> pulumi: skipped (--skip-pulumi)");
    expect(run.stdout).not.toContain("not every tool is available");
    expect(run.stdout).toContain("==> Sandbox accounts");
    expectNoSecrets(run);
    expectCleanedUp(run);
  }, TEST_TIMEOUT_MS);

  it("with --keep leaves its project for a look around: a git checkout with the demo's throwaway secret file", async () => {
    const run = await runDemo(["--skip-pulumi", "--keep"]);
    try {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(`${run.projectDir} (kept: --keep)`);
      const pem = fs.readFileSync(path.join(run.projectDir, "secrets/github-release-app.pem"), "utf8");
      expect(pem).toContain("throwaway value written by npm run demo");
      for (const line of pem.split("\n").filter((l) => l.length >= 32 && !l.includes(" "))) expect(run.stdout + run.stderr).not.toContain(line);
      expect(execFileSync("git", ["status", "--porcelain"], { cwd: run.projectDir, encoding: "utf8" })).toBe("");
      expect(checkoutSnapshot()).toBe(checkoutBefore);
    } finally {
      fs.rmSync(run.projectDir, { recursive: true, force: true });
    }
  }, TEST_TIMEOUT_MS);

  it("refuses an unknown flag with the usage and exit code 2, before starting anything", async () => {
    const run = await runDemo(["--nope"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Unknown option '--nope'`);
    expect(run.stderr).toContain("usage: connected-accounts demo");
    expect(run.stdout).toBe("");
  }, TEST_TIMEOUT_MS);

  it("fails with one line naming the port when the sandbox's port is taken", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const { port } = blocker.address() as net.AddressInfo;
    try {
      const run = await runDemo([], { CONNECTED_ACCOUNTS_DEMO_PORT: String(port) });
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split("\n")).toEqual([`port ${port} is already in use: choose another with CONNECTED_ACCOUNTS_DEMO_PORT, or leave it unset for a free one`]);
      expect(run.stdout).not.toContain("validate");
      expectCleanedUp(run);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  }, TEST_TIMEOUT_MS);
});

describe("npm run demo with a pulumi on PATH (a fake that records its calls)", () => {
  const withFake = async (env: Record<string, string> = {}, onStdout?: Parameters<typeof runDemo>[2]) => {
    fs.rmSync(fakeLog, { force: true });
    const run = await runDemo([], { PATH: [fakeBin, toolsBin, barePath].join(path.delimiter), FAKE_PULUMI_LOG: fakeLog, ...env }, onStdout);
    return { run, calls: fakeCalls() };
  };

  it("still provides sops and age-keygen as npm run pulumi:cli does, and says so; without them and without Go, says which is missing", async () => {
    const { run } = await withFake();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`==> Tools: pulumi, sops, age-keygen (Pulumi CLI v${PINNED}), provided as npm run pulumi:cli does: on PATH, else built earlier, else built from Go modules now`);
    expect(run.stdout).toContain(`using pulumi v${PINNED} on PATH (${fakeBin})`);
    expect(run.stdout).toMatch(/^using sops v\d+\.\d+\.\d+ on PATH/m);
    expect(run.stdout).toContain(`on PATH for the commands below: ${fakeBin}:${toolsBin}`);

    fs.rmSync(fakeLog, { force: true });
    const bare = await runDemo([], { PATH: [fakeBin, barePath].join(path.delimiter), FAKE_PULUMI_LOG: fakeLog });
    expect(bare.code).toBe(3);
    expect(bare.stdout).toContain("not every tool is available: no sops v");
    // Not one pulumi command ran without the sops it may need.
    expect(fakeCalls().map((c) => c.args[0])).toEqual(["version"]);
    expectCleanedUp(bare);
  }, 2 * TEST_TIMEOUT_MS);

  it("adopts, then previews and applies the change, all in its own project with the demo environment", async () => {
    const { run, calls } = await withFake();
    expect(run.code, run.stderr).toBe(0);
    const port = sandboxPort(run);
    expect(calls.map((c) => c.args)).toEqual([
      ["version"],
      ["stack", "select", "--create", "dev", "--non-interactive"],
      ["config", "set", "connected-accounts:baseUrl", `http://127.0.0.1:${port}`, "--stack", "dev", "--non-interactive"],
      ["preview", "--diff", "--stack", "dev", "--non-interactive"],
      ["up", "--yes", "--skip-preview", "--stack", "dev", "--non-interactive"],
      ["preview", "--diff", "--stack", "dev", "--non-interactive"],
      ["up", "--yes", "--skip-preview", "--stack", "dev", "--non-interactive"],
    ]);
    const adoptKey = calls[1].env.SHOPIFY_ACME_API_KEY ?? "";
    const rotatedKey = calls[5].env.SHOPIFY_ACME_API_KEY ?? "";
    for (const call of calls.slice(1)) {
      expect(call.cwd).toBe(run.projectDir);
      expect(call.env).toMatchObject({
        PULUMI_BACKEND_URL: `file://${path.join(run.projectDir, ".pulumi-state")}`,
        PULUMI_HOME: path.join(run.projectDir, ".pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE: "dev-demo",
        PULUMI_SKIP_UPDATE_CHECK: "true",
      });
    }
    // The rotation: a new throwaway value from the change on, never the one in the parent's environment.
    expect(calls.slice(1, 5).every((c) => c.env.SHOPIFY_ACME_API_KEY === adoptKey)).toBe(true);
    expect(calls.slice(5).every((c) => c.env.SHOPIFY_ACME_API_KEY === rotatedKey)).toBe(true);
    expect(adoptKey).toMatch(/^demo-/);
    expect(rotatedKey).toMatch(/^demo-/);
    expect(rotatedKey).not.toBe(adoptKey);
    expect(run.stdout).toContain("==> A change, made as a user makes one");
    expect(run.stdout).toContain("==> connected-accounts plan --format markdown: the comment a pull request gets");
    expect(run.stdout).toMatch(/What pulumi up sent: .*\n\(none\)\n/);
    expectNoSecrets(run, [adoptKey, rotatedKey]);
    expectCleanedUp(run);
  }, TEST_TIMEOUT_MS);

  it("stops at the first failing pulumi command with exit code 1, and still stops the sandbox", async () => {
    const { run, calls } = await withFake({ FAKE_PULUMI_FAIL_ON: "preview" });
    expect(run.code).toBe(1);
    expect(calls.map((c) => c.args[0])).toEqual(["version", "stack", "config", "preview"]);
    expect(run.stderr).toContain("pulumi preview failed (exit code 7): stopping the demo");
    expect(run.stdout).not.toContain("==> A change");
    expect(run.stdout.trimEnd().endsWith("==> Sandbox stopped")).toBe(true);
    expect(await portIsFree(sandboxPort(run))).toBe(true);
    expectCleanedUp(run);
  }, TEST_TIMEOUT_MS);

  it("on Ctrl-C lets the running step finish, starts no other, stops the sandbox and exits 130", async () => {
    let interrupted = false;
    const { run, calls } = await withFake({ FAKE_PULUMI_SLEEP_ON: "preview" }, (soFar, child) => {
      if (!interrupted && soFar.includes("==> pulumi preview")) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    expect(interrupted).toBe(true);
    expect(run.code).toBe(130);
    expect(calls.map((c) => c.args[0])).toEqual(["version", "stack", "config", "preview"]);
    expect(run.stderr).toContain("Ctrl-C: stopping after the current step");
    expect(run.stdout.trimEnd().endsWith("==> Sandbox stopped")).toBe(true);
    expect(await portIsFree(sandboxPort(run))).toBe(true);
    expectCleanedUp(run);
  }, TEST_TIMEOUT_MS);
});

/**
 * The fake `pulumi`: records each call (arguments, working directory, the environment the demo sets),
 * answers `version` with the pinned one, and fails or sleeps on request. It changes nothing.
 */
const FAKE_PULUMI = `
const fs = require("node:fs");
const args = process.argv.slice(2);
const env = process.env;
const pick = ["PULUMI_BACKEND_URL", "PULUMI_HOME", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK", "SHOPIFY_ACME_API_KEY"];
fs.appendFileSync(env.FAKE_PULUMI_LOG, JSON.stringify({ args, cwd: process.cwd(), env: Object.fromEntries(pick.map((k) => [k, env[k]])) }) + "\\n");
(async () => {
  if (args[0] === "version") console.log("v${PINNED}");
  if (args[0] === env.FAKE_PULUMI_SLEEP_ON) await new Promise((r) => setTimeout(r, 1500));
  if (args[0] === env.FAKE_PULUMI_FAIL_ON) process.exit(7);
})();
`;
