/**
 * `npm run demo` end to end: the compiled CLI as a child process in the project root, with a HOME and
 * PULUMI_HOME of its own and no usable `pulumi` (only the npm launcher, which cannot download here),
 * so the offline path runs as it does on a machine without the CLI. Where the demo's own handling of
 * the Pulumi steps is tested (failures, Ctrl-C), a fake `pulumi` that records its calls stands in;
 * the demo with the real CLI is in pulumi-cli.test.ts.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAccounts } from "../provider/accounts/load";
import { obtainPulumiCli } from "../provider/cli/demo/pulumi-cli";
import { candidatesOnPath } from "../provider/pulumi-cli/locate";
import { pinnedPulumiVersion } from "../provider/pulumi-cli/version";
import { CLI, PROJECT_ROOT } from "./support/git-repo";

const PINNED = pinnedPulumiVersion(PROJECT_ROOT);

/** A demo run takes about a second; past this it hangs, which is the failure being tested for. */
const RUN_BOUND_MS = 80_000;
const TEST_TIMEOUT_MS = 90_000;

const SANDBOX_STATE = path.join(PROJECT_ROOT, ".pulumi-state/sandbox-accounts.json");
const PEM = path.join(PROJECT_ROOT, "secrets/github-release-app.pem");
/** Planted in the parent's environment: the demo must replace it, never pass it on. */
const REAL_SHOPIFY_KEY = "shpat_REAL_key_must_never_reach_the_demo";

interface DemoRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

let home: string;
let fakeBin: string;
let fakeLog: string;
/** The parent's PATH without any folder holding a `pulumi`. */
let pathWithoutPulumi: string;
let savedSandboxState: string | undefined;
let stateDirExisted: boolean;

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-home-"));
  // As under `npm run demo`: node_modules/.bin first, holding the npm launcher, which cannot download here.
  pathWithoutPulumi = [path.join(PROJECT_ROOT, "node_modules/.bin"), ...(process.env.PATH ?? "").split(path.delimiter).filter((dir) => dir !== "" && candidatesOnPath("pulumi", dir).length === 0)].join(path.delimiter);
  fakeBin = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-bin-"));
  fakeLog = path.join(fakeBin, "calls.jsonl");
  fs.writeFileSync(path.join(fakeBin, "fake-pulumi.js"), FAKE_PULUMI);
  fs.writeFileSync(path.join(fakeBin, "pulumi"), `#!/bin/sh\nexec "${process.execPath}" "${path.join(fakeBin, "fake-pulumi.js")}" "$@"\n`, { mode: 0o755 });
  // A CLI is usable with its plugins beside it; the fake never runs them.
  for (const plugin of ["pulumi-language-nodejs", "pulumi-resource-pulumi-nodejs"]) fs.writeFileSync(path.join(fakeBin, plugin), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  // The demo keeps the sandbox's accounts in the project's .pulumi-state/; a test must not change a developer's.
  stateDirExisted = fs.existsSync(path.dirname(SANDBOX_STATE));
  savedSandboxState = fs.existsSync(SANDBOX_STATE) ? fs.readFileSync(SANDBOX_STATE, "utf8") : undefined;
});

afterAll(() => {
  if (savedSandboxState !== undefined) fs.writeFileSync(SANDBOX_STATE, savedSandboxState);
  else fs.rmSync(SANDBOX_STATE, { force: true });
  if (!stateDirExisted) fs.rmSync(path.dirname(SANDBOX_STATE), { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
  fs.rmSync(fakeBin, { recursive: true, force: true });
});

function demoEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("PULUMI_") || key.startsWith("CONNECTED_ACCOUNTS_DEMO_")) delete env[key];
  return {
    ...env,
    PATH: pathWithoutPulumi,
    HOME: home,
    PULUMI_HOME: home,
    XDG_CACHE_HOME: path.join(home, ".cache"),
    CONNECTED_ACCOUNTS_DEMO_PORT: "0",
    CONNECTED_ACCOUNTS_DEMO_PULUMI_TIMEOUT_MS: "5000",
    // A version that does not exist: the launcher cannot obtain a CLI even on a machine with internet.
    PULUMI_VERSION: "0.0.0-unavailable",
    SHOPIFY_ACME_API_KEY: REAL_SHOPIFY_KEY,
    ...overrides,
  };
}

/** Runs `connected-accounts demo`; `onStdout` sees the output as it arrives (to interrupt at a step). */
function runDemo(
  args: string[],
  env: Record<string, string> = {},
  onStdout?: (soFar: string, child: ReturnType<typeof spawn>) => void,
  cwd = PROJECT_ROOT,
): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "demo", ...args], { cwd, env: demoEnv(env), stdio: ["ignore", "pipe", "pipe"] });
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
      resolve({ code, signal, stdout, stderr });
    });
  });
}

function exampleAccounts() {
  const loaded = loadAccounts({ dir: path.join(PROJECT_ROOT, "accounts"), repoRoot: PROJECT_ROOT, displayBase: PROJECT_ROOT });
  expect(loaded.problems).toEqual([]);
  return loaded.accounts;
}

/** Every line of the throwaway key file long enough to be telling (the random part is 64 characters). */
function pemSecrets(): string[] {
  return fs.readFileSync(PEM, "utf8").split("\n").filter((line) => line.length >= 32 && !line.includes(" "));
}

function expectNoSecrets(run: DemoRun, extra: string[] = []): void {
  const output = run.stdout + run.stderr;
  for (const secret of [...pemSecrets(), REAL_SHOPIFY_KEY, ...extra]) expect(output).not.toContain(secret);
  expect(output).not.toMatch(/demo-[A-Za-z0-9_-]{24}/);
}

function fakeCalls(): { args: string[]; cwd: string; env: Record<string, string | undefined> }[] {
  return fs.existsSync(fakeLog) ? fs.readFileSync(fakeLog, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function portIsFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const free = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (free) await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

describe("npm run demo without the Pulumi CLI", () => {
  it("runs the sandbox, validate and plan, says in one line why Pulumi was skipped, and exits 3", async () => {
    const accounts = exampleAccounts();
    const started = Date.now();
    const run = await runDemo([]);
    expect(run.signal).toBeNull();
    expect(Date.now() - started).toBeLessThan(RUN_BOUND_MS);
    expect(run.code, run.stderr).toBe(3);

    expect(run.stdout).toContain(`${accounts.length} account files valid`);
    for (const account of accounts) expect(run.stdout).toMatch(new RegExp(`^adopt +${account.id} +${account.file}`, "m"));
    expect(run.stdout).toMatch(new RegExp(`^Plan \\(\\w+ → working tree\\): ${accounts.length} to adopt, 0 to update, 0 to release, 0 unchanged\\.$`, "m"));

    const skipped = run.stdout.split("\n").filter((line) => line.startsWith("pulumi CLI not available"));
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(
      /^pulumi CLI not available \(.+\): skipped pulumi preview\/up; validate and plan ran above\. Install it from https:\/\/www\.pulumi\.com\/docs\/install\/ \(or build it: npm run pulumi:cli\) and run npm run demo again\.$/,
    );
    // Nothing was installed into the isolated PULUMI_HOME.
    expect(fs.existsSync(path.join(home, "versions"))).toBe(false);

    const table = run.stdout.slice(run.stdout.indexOf("==> Sandbox accounts"));
    expect(table).toMatch(/^id +toolkit +user +alias +status +credentials$/m);
    for (const account of accounts) expect(table).toMatch(new RegExp(`^${account.id} +${account.toolkit} +${account.userId} +\\S+ +ACTIVE `, "m"));
    expect(run.stdout.trimEnd().endsWith("==> Sandbox stopped")).toBe(true);

    expect(fs.existsSync(PEM)).toBe(true);
    expectNoSecrets(run);
  }, TEST_TIMEOUT_MS);

  it("with --skip-pulumi runs the sandbox, validate and plan only, and exits 0", async () => {
    const run = await runDemo(["--skip-pulumi"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/account files valid/);
    expect(run.stdout).toMatch(/^Plan \(.*\): \d+ to adopt, 0 to update/m);
    expect(run.stdout).toContain("==> pulumi: skipped (--skip-pulumi)");
    expect(run.stdout).not.toContain("pulumi CLI not available");
    expect(run.stdout).toContain("==> Sandbox accounts");
    expectNoSecrets(run);
  }, TEST_TIMEOUT_MS);

  it("outside a git checkout skips plan with one line saying why", async () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-nogit-"));
    try {
      for (const item of ["Pulumi.yaml", "accounts", "stacks", "examples"]) fs.cpSync(path.join(PROJECT_ROOT, item), path.join(copy, item), { recursive: true });
      const run = await runDemo(["--skip-pulumi"], {}, undefined, copy);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toMatch(/account files valid/);
      expect(run.stdout).toMatch(/^==> connected-accounts plan: skipped, .* is not a git checkout \(plan compares git revisions\)$/m);
      expect(run.stdout).not.toMatch(/^Plan /m);
      expect(fs.existsSync(path.join(copy, "secrets/github-release-app.pem"))).toBe(true);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
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
      expect(run.stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`^port ${port} is already in use .*lsof -i :${port}.*npm run demo again$`))]);
      expect(run.stdout).not.toContain("validate");
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  }, TEST_TIMEOUT_MS);
});

describe("npm run demo with a pulumi on PATH (a fake that records its calls)", () => {
  const withFake = async (env: Record<string, string> = {}, onStdout?: Parameters<typeof runDemo>[2]) => {
    fs.rmSync(fakeLog, { force: true });
    const port = await freePort();
    const run = await runDemo([], {
      PATH: [fakeBin, pathWithoutPulumi].join(path.delimiter),
      CONNECTED_ACCOUNTS_DEMO_PORT: String(port),
      FAKE_PULUMI_LOG: fakeLog,
      FAKE_PULUMI_SANDBOX: `http://127.0.0.1:${port}`,
      ...env,
    }, onStdout);
    return { run, port, calls: fakeCalls() };
  };

  it("runs stack select, preview and up in the project root with the demo environment", async () => {
    const { run, calls } = await withFake();
    expect(run.code, run.stderr).toBe(0);
    expect(calls.map((c) => c.args)).toEqual([
      ["version"],
      ["stack", "select", "--create", "dev", "--non-interactive"],
      ["preview", "--diff", "--stack", "dev", "--non-interactive"],
      ["up", "--yes", "--skip-preview", "--stack", "dev", "--non-interactive"],
    ]);
    const shopifyKey = calls[1].env.SHOPIFY_ACME_API_KEY ?? "";
    for (const call of calls.slice(1)) {
      expect(fs.realpathSync(call.cwd)).toBe(fs.realpathSync(PROJECT_ROOT));
      expect(call.env).toMatchObject({
        PULUMI_BACKEND_URL: `file://${path.join(fs.realpathSync(PROJECT_ROOT), ".pulumi-state")}`,
        PULUMI_CONFIG_PASSPHRASE: "dev-demo",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        SHOPIFY_ACME_API_KEY: shopifyKey,
      });
    }
    expect(shopifyKey).toMatch(/^demo-/);
    expect(shopifyKey).not.toBe(REAL_SHOPIFY_KEY);
    expect(run.stdout.indexOf("==> Sandbox accounts")).toBeGreaterThan(run.stdout.indexOf("==> pulumi up"));
    expectNoSecrets(run, [shopifyKey]);
  }, TEST_TIMEOUT_MS);

  it("stops at the first failing pulumi command with exit code 1, and still stops the sandbox", async () => {
    const { run, port, calls } = await withFake({ FAKE_PULUMI_FAIL_ON: "preview" });
    expect(run.code).toBe(1);
    expect(calls.map((c) => c.args[0])).toEqual(["version", "stack", "preview"]);
    expect(run.stderr).toContain("pulumi preview failed (exit code 7): stopping the demo");
    expect(run.stdout).not.toContain("==> Sandbox accounts");
    expect(run.stdout.trimEnd().endsWith("==> Sandbox stopped")).toBe(true);
    expect(await portIsFree(port)).toBe(true);
  }, TEST_TIMEOUT_MS);

  it("on Ctrl-C lets the running step finish, starts no other, stops the sandbox and exits 130", async () => {
    let interrupted = false;
    const { run, port, calls } = await withFake({ FAKE_PULUMI_SLEEP_ON: "preview" }, (soFar, child) => {
      if (!interrupted && soFar.includes("==> pulumi preview")) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    expect(interrupted).toBe(true);
    expect(run.code).toBe(130);
    expect(calls.map((c) => c.args[0])).toEqual(["version", "stack", "preview"]);
    expect(run.stderr).toContain("Ctrl-C: stopping after the current step");
    expect(run.stdout.trimEnd().endsWith("==> Sandbox stopped")).toBe(true);
    expect(await portIsFree(port)).toBe(true);
  }, TEST_TIMEOUT_MS);
});

describe("obtaining the Pulumi CLI", () => {
  it("gives up after the timeout and kills the download with everything it started", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-launcher-"));
    const pidFile = path.join(dir, "grandchild.pid");
    const launcher = path.join(dir, "hanging-launcher.js");
    // Like the real launcher: the install script runs through execFileSync, blocking the child's event loop.
    fs.writeFileSync(launcher, `exports.resolve = async () => { require("node:child_process").execFileSync("/bin/sh", ["-c", 'echo $$ > "$0"; exec sleep 300', ${JSON.stringify(pidFile)}]); };\n`);
    try {
      const started = Date.now();
      const cli = await obtainPulumiCli({ env: { PATH: pathWithoutPulumi, HOME: home, XDG_CACHE_HOME: path.join(home, ".cache") }, pinned: "3.259.0", timeoutMs: 1500, signal: new AbortController().signal, launcher });
      expect(cli).toEqual({ unavailable: "no CLI after 2 s" });
      expect(Date.now() - started).toBeLessThan(10_000);
      const pid = Number(fs.readFileSync(pidFile, "utf8"));
      await new Promise((r) => setTimeout(r, 200));
      expect(isRunning(pid)).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, TEST_TIMEOUT_MS);
});

/** Alive and not a zombie (a container's init may be slow to reap). */
function isRunning(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * The fake `pulumi`: records each call (arguments, working directory, the environment the demo sets),
 * answers `version` with the pinned one, and fails or sleeps on request. It changes nothing.
 */
const FAKE_PULUMI = `
const fs = require("node:fs");
const args = process.argv.slice(2);
const env = process.env;
const pick = ["PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK", "SHOPIFY_ACME_API_KEY"];
fs.appendFileSync(env.FAKE_PULUMI_LOG, JSON.stringify({ args, cwd: process.cwd(), env: Object.fromEntries(pick.map((k) => [k, env[k]])) }) + "\\n");
(async () => {
  if (args[0] === "version") console.log("v${PINNED}");
  if (args[0] === env.FAKE_PULUMI_SLEEP_ON) await new Promise((r) => setTimeout(r, 1500));
  if (args[0] === env.FAKE_PULUMI_FAIL_ON) process.exit(7);
})();
`;
