/**
 * Stack settings are read once, the same way everywhere: `connected-accounts validate --stack`
 * refuses exactly what the Pulumi program refuses, setting by setting, each at its line in the stack
 * file with a fix; the commands that cannot list problems (import, sandbox) refuse to start.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { GitRepo, runCli } from "./support/git-repo";
import { CliStack, pulumiBinDir } from "./support/pulumi-cli";
import { API_KEY, TestStack } from "./support/stack";

const ACCOUNT = { id: "ca_set1", toolkit: "shopify", userId: "u", authScheme: "API_KEY", credentials: { api_key: { env: "SHOP_KEY" } } };
const ACCOUNT_YAML = "id: ca_set1\ntoolkit: shopify\nuserId: u\nauthScheme: API_KEY\ncredentials:\n  api_key: { env: SHOP_KEY }\n";

/** Each numeric setting with a value it may not take, and the range a user is told. */
const OUT_OF_RANGE: [string, string, string, string][] = [
  ["connectTimeoutMs", "0", "1 to 600000 (ms)", "10000"],
  ["requestTimeoutMs", "soon", "1 to 600000 (ms)", "30000"],
  ["maxRetries", "1.5", "0 to 20 (retries)", "6"],
  ["retryBudgetMs", "99999999999", "1 to 3600000 (ms)", "120000"],
  ["retryBaseMs", "60001", "1 to 60000 (ms)", "500"],
  ["maxConcurrency", "-3", "1 to 100 (requests)", "8"],
  ["refreshBatchSize", "5000", "1 to 1000 (accounts)", "100"],
  ["refreshBatchWindowMs", "10001", "0 to 10000 (ms)", "25"],
];

const rangeMessage = (key: string, raw: string, range: string) => `stack config connected-accounts:${key} must be a whole number from ${range}, not "${raw}"`;
const rangeFix = (key: string, def: string) => `fix: pulumi config set connected-accounts:${key} ${def} (the default), or pulumi config rm connected-accounts:${key}`;
const plainMessage = (key: string) => `stack config connected-accounts:${key} is not a stack secret`;

describe("validate --stack refuses what the program refuses", () => {
  let sandbox: Sandbox;
  let repo: GitRepo;
  const stacks: TestStack[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_set1", toolkit: "shopify", userId: "u", authScheme: "API_KEY" }] });
    repo = new GitRepo("stack-settings");
    repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\nstackConfigDir: stacks\n");
    repo.write("accounts/a.yaml", ACCOUNT_YAML);
  });
  afterAll(async () => {
    for (const s of stacks) s.cleanup();
    repo.cleanup();
    await sandbox.close();
  });

  /** `validate --stack prod` for a stack file whose config holds `lines` (after baseUrl). */
  const validate = (lines: string) => {
    repo.write("stacks/Pulumi.prod.yaml", `config:\n  connected-accounts:baseUrl: https://backend.composio.dev\n${lines}`);
    return runCli(["validate", "--stack", "prod"], { cwd: repo.dir, env: { PULUMI_STACK: "" } });
  };
  /** The program under the engine harness with `config` on top of a working stack's. */
  const program = async (config: Record<string, string>, plainKeys: string[] = []) => {
    const stack = new TestStack("stack-settings", sandbox.url);
    stacks.push(stack);
    stack.env = { SHOP_KEY: "shop-key-value-1234" };
    stack.ws.write("a.yaml", ACCOUNT);
    Object.assign(stack.config, config);
    stack.secretKeys = stack.secretKeys.filter((k) => !plainKeys.includes(k));
    return stack.preview();
  };

  it.each(OUT_OF_RANGE)("%s: %s is refused by both, at its line, with the range and the default", async (key, raw, range, def) => {
    sandbox.clearRequests();
    const v = validate(`  connected-accounts:${key}: "${raw}"\n`);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`stacks/Pulumi.prod.yaml:3:3 connected-accounts:${key}: ${rangeMessage(key, raw, range)}\n    ${rangeFix(key, def)}`);
    expect(v.stdout).toContain("1 error in 1 file");
    const d = await program({ [`connected-accounts:${key}`]: raw });
    expect(d.ok).toBe(false);
    expect(d.programError).toContain(`connected-accounts:${key}: ${rangeMessage(key, raw, range)}\n    ${rangeFix(key, def)}`);
    expect(sandbox.requests).toEqual([]);
  });

  it.each([["apiKey"], ["fingerprintKey"]])("%s in plain text is refused by both", async (key) => {
    const v = validate(`  connected-accounts:${key}: plain-value-0123456789abcdef0123456789abcdef\n`);
    expect(v.code).toBe(1);
    expect(v.stdout).toContain(`stacks/Pulumi.prod.yaml:3:3 connected-accounts:${key}: ${plainMessage(key)}`);
    const d = await program({}, [`connected-accounts:${key}`]);
    expect(d.ok).toBe(false);
    expect(d.programError).toContain(`connected-accounts:${key}: ${plainMessage(key)}`);
  });

  it("every setting at its limit is accepted by both", async () => {
    const limits = { connectTimeoutMs: "600000", requestTimeoutMs: "1", maxRetries: "0", retryBudgetMs: "3600000", retryBaseMs: "60000", maxConcurrency: "100", refreshBatchSize: "1000", refreshBatchWindowMs: "0" };
    const v = validate(Object.entries(limits).map(([k, raw]) => `  connected-accounts:${k}: "${raw}"\n`).join(""));
    expect(v).toMatchObject({ code: 0, stdout: "1 account file valid\n" });
    const d = await program(Object.fromEntries(Object.entries(limits).map(([k, raw]) => [`connected-accounts:${k}`, raw])));
    expect(d.programError).toBeUndefined();
    expect(d.ok).toBe(true);
  });

  it("check-env lists the stack's bad settings with the files' problems", () => {
    repo.write("stacks/Pulumi.prod.yaml", 'config:\n  connected-accounts:maxConcurrency: "-3"\n');
    repo.write(".github/workflows/apply.yml", "on: push\njobs:\n  up:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: pulumi/actions@v6\n        env:\n          SHOP_KEY: ${{ secrets.SHOP_KEY }}\n");
    const r = runCli(["check-env", "--stack", "prod", "--workflow", ".github/workflows/apply.yml"], { cwd: repo.dir, env: { PULUMI_STACK: "" } });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`stacks/Pulumi.prod.yaml:2:3 connected-accounts:maxConcurrency: ${rangeMessage("maxConcurrency", "-3", "1 to 100 (requests)")}`);
  });

  it("import and sandbox refuse to start for a stack with a bad setting, naming it", () => {
    repo.write("stacks/Pulumi.prod.yaml", 'config:\n  connected-accounts:requestTimeoutMs: "soon"\n');
    for (const args of [["import", "--stack", "prod"], ["sandbox", "--stack", "prod", "--port", "0"]]) {
      const r = runCli(args, { cwd: repo.dir, env: { PULUMI_STACK: "", COMPOSIO_API_KEY: API_KEY, COMPOSIO_BASE_URL: sandbox.url } });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`stacks/Pulumi.prod.yaml:2:3 connected-accounts:requestTimeoutMs: ${rangeMessage("requestTimeoutMs", "soon", "1 to 600000 (ms)")}`);
    }
  });
});

describe("a bad setting under the real Pulumi CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;

  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_set1", toolkit: "shopify", userId: "u", authScheme: "API_KEY" }] });
    stack = new CliStack("stack-settings-cli", await pulumiBinDir());
    stack.env = { SHOP_KEY: "shop-key-value-1234" };
    stack.ws.write("a.yaml", ACCOUNT);
    await stack.init({ baseUrl: sandbox.url, maxConcurrency: "-3" }, { apiKey: API_KEY, fingerprintKey: "f".repeat(64) });
  });
  afterAll(async () => {
    stack?.ws.cleanup();
    await sandbox?.close();
  });

  it("pulumi preview and validate --stack refuse maxConcurrency: -3 with the same words, and nothing is sent", async () => {
    const preview = await stack.preview();
    expect(preview.ok).toBe(false);
    const v = runCli(["validate", "--stack", "test"], { cwd: stack.ws.dir, env: { PULUMI_STACK: "" } });
    expect(v.code).toBe(1);
    const said = `connected-accounts:maxConcurrency: ${rangeMessage("maxConcurrency", "-3", "1 to 100 (requests)")}\n    ${rangeFix("maxConcurrency", "8")}`;
    expect(v.stdout).toContain(said);
    expect(preview.text).toContain(said);
    expect(sandbox.requests).toEqual([]);
  });
});
