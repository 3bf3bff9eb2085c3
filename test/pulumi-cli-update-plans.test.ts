/**
 * Applying exactly what was reviewed, under the real Pulumi CLI: the preview is saved as an update
 * plan (`scripts/ci/update-plan.js save`, which the workflows run), and the apply runs
 * `pulumi up --plan` with it (`update-plan.js apply`). Asserted on what Composio receives (the
 * sandbox's request log) and on the job summary a person reads: the reviewed PATCHes and nothing
 * else; a refusal with no write, naming the account and the field, when a secret (env, file, SOPS)
 * or an account file changed after the review, or another account's change sits in the tree
 * unapplied; the plan still applying after another account's change or adoption was applied in
 * between, and refused after a release was; no planted value in a saved plan. And at a terminal:
 * `pulumi up --strict` refuses, after "yes", a `file:` secret that changed while the prompt waited,
 * which a plain `pulumi up` sends (and so does one with PULUMI_EXPERIMENTAL=true but no --strict,
 * under the pinned CLI).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir } from "./support/pulumi-cli";
import { encodedForms } from "./support/secret-scan";
import { newAgeKey, setSopsValue, sopsBinDir, writeSopsFile, type AgeKey } from "./support/sops";
import { API_KEY, FINGERPRINT_KEY } from "./support/stack";
import { PROJECT_ROOT } from "./support/workspace";

const ENV_KEY = "sk_plan_env_first_Vb7Qa2";
const ENV_KEY_ROTATED = "sk_plan_env_rotated_Lm3Xc9";
const FILE_KEY = "sk_plan_file_first_Tq8Wn4";
const FILE_KEY_ROTATED = "sk_plan_file_rotated_Gh5Pz1";
const FILE_KEY_UNREVIEWED = "sk_plan_file_unreviewed_Jk2Rd6";
const FILE_KEY_EXPERIMENTAL = "sk_plan_file_experimental_Qa7Mt5";
const FILE_KEY_PLAIN = "sk_plan_file_plain_Wd3Bh8";
const SOPS_KEY = "sk_plan_sops_first_Zc4Ny8";
const SOPS_KEY_ROTATED = "sk_plan_sops_rotated_Ew9Ks3";
const PLANTED = [ENV_KEY, ENV_KEY_ROTATED, FILE_KEY, FILE_KEY_ROTATED, FILE_KEY_UNREVIEWED, FILE_KEY_EXPERIMENTAL, FILE_KEY_PLAIN, SOPS_KEY, SOPS_KEY_ROTATED, API_KEY, FINGERPRINT_KEY];

const ENV = "ca_plan_env";
const FILE = "ca_plan_file";
const SOPS = "ca_plan_sops";
const EXTRA = "ca_plan_extra";
const SEEDS = [ENV, FILE, SOPS, EXTRA].map((id) => ({ id, toolkit: "openai", userId: "team", authScheme: "API_KEY" as const }));
const SCRIPT = path.join(PROJECT_ROOT, "scripts/ci/update-plan.js");
const val = (v: Record<string, unknown>) => ({ connection: { state: { authScheme: "API_KEY", val: v } } });
const at = (id: string) => `/api/v3/connected_accounts/${id}`;
/** Each test runs several CLI commands (a preview and an `up` are a program, an engine and a provider each). */
const TEST_MS = 600_000;

describe("Applying exactly the reviewed preview (update plans) under the real Pulumi CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  let key: AgeKey;
  let bin: string;
  let plans = 0;
  const savedPlans: string[] = [];
  const summaries: string[] = [];

  const writeEnvAccount = (alias: string) =>
    stack.ws.write("openai/env.yaml", { id: ENV, toolkit: "openai", userId: "team", alias, authScheme: "API_KEY", credentials: { api_key: { env: "PLAN_ENV_KEY" } } });
  const writeFileAccount = (alias: string) =>
    stack.ws.write("openai/file.yaml", { id: FILE, toolkit: "openai", userId: "team", alias, authScheme: "API_KEY", credentials: { api_key: { file: "../../secrets/plan-file.key" } } });
  const writeSopsAccount = (alias: string) =>
    stack.ws.write("openai/sops.yaml", { id: SOPS, toolkit: "openai", userId: "team", alias, authScheme: "API_KEY", credentials: { api_key: { sops: "../../secrets/plan.sops.yaml", key: "plan.key" } } });
  const writeSecretFile = (value: string) => stack.ws.writeRaw("secrets/plan-file.key", value);
  const sopsFile = () => stack.ws.path("secrets/plan.sops.yaml");
  const writes = () => sandbox.requests.filter((r) => r.method !== "GET").map((r) => ({ method: r.method, path: r.path, body: r.body }));

  /**
   * Runs scripts/ci/update-plan.js as a workflow step does: the project as working directory, the
   * job's environment. Asynchronously: the sandbox answers from this process.
   */
  async function runScript(args: string[]): Promise<{ code: number | null; output: string; summary: string }> {
    const summaryFile = path.join(stack.ws.dir, `summary-${++plans}.md`);
    const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: stack.ws.dir, env: { ...stack.commandEnv(), GITHUB_STEP_SUMMARY: summaryFile }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (output += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    clearTimeout(timer);
    const summary = fs.existsSync(summaryFile) ? fs.readFileSync(summaryFile, "utf8") : "";
    summaries.push(summary, output);
    return { code, output, summary };
  }

  /** The review: the preview saved as a plan for a (made-up) head commit. */
  async function review(): Promise<string> {
    const dir = path.join(stack.ws.dir, `plan-${plans + 1}`);
    const saved = await runScript(["save", "--stack", stack.stack, "--sha", "a".repeat(40), "--dir", dir]);
    expect(saved.code, saved.output).toBe(0);
    expect(saved.summary).toContain("preview saved as the update plan");
    const file = path.join(dir, "update-plan.json");
    savedPlans.push(fs.readFileSync(file, "utf8"));
    return file;
  }

  const applyPlan = (plan: string) => runScript(["apply", "--stack", stack.stack, "--plan", plan, "--reviewed", "pull request #12 at aaaaaaa"]);

  beforeAll(async () => {
    bin = await pulumiBinDir();
    key = newAgeKey();
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
    stack = new CliStack("cli-update-plans", bin);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-cli-plans-home-"));
    Object.assign(stack.env, { HOME: home, PLAN_ENV_KEY: ENV_KEY, SOPS_AGE_KEY: key.identity, PATH: [sopsBinDir(), bin, process.env.PATH].join(path.delimiter) });
    writeSecretFile(FILE_KEY);
    writeSopsFile(sopsFile(), { plan: { key: SOPS_KEY } }, [key]);
    writeEnvAccount("env-one");
    writeFileAccount("file-one");
    writeSopsAccount("sops-one");
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    const adopt = await stack.up();
    expect(adopt.ok, adopt.text).toBe(true);
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("sends exactly the PATCHes the saved preview showed", async () => {
    writeEnvAccount("env-two");
    writeSecretFile(FILE_KEY_ROTATED);
    const plan = await review();
    sandbox.clearRequests();
    const applied = await applyPlan(plan);
    expect(applied.code, applied.output).toBe(0);
    expect(applied.summary).toContain("applied the reviewed plan");
    expect(writes().sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { method: "PATCH", path: at(ENV), body: { alias: "env-two" } },
      { method: "PATCH", path: at(FILE), body: val({ api_key: FILE_KEY_ROTATED }) },
    ]);
  }, TEST_MS);

  const refusals: { name: string; perturb: () => void; restore: () => void; account: string; field: string; file: string }[] = [
    {
      name: "an env secret rotated after the review",
      perturb: () => void (stack.env.PLAN_ENV_KEY = ENV_KEY_ROTATED),
      restore: () => void (stack.env.PLAN_ENV_KEY = ENV_KEY),
      account: ENV, field: "credentials.api_key", file: "accounts/openai/env.yaml",
    },
    {
      name: "a SOPS value changed after the review",
      perturb: () => setSopsValue(sopsFile(), ["plan", "key"], SOPS_KEY_ROTATED, key),
      restore: () => setSopsValue(sopsFile(), ["plan", "key"], SOPS_KEY, key),
      account: SOPS, field: "credentials.api_key", file: "accounts/openai/sops.yaml",
    },
    {
      name: "a file: secret changed after the review",
      perturb: () => writeSecretFile(FILE_KEY_UNREVIEWED),
      restore: () => writeSecretFile(FILE_KEY_ROTATED),
      account: FILE, field: "credentials.api_key", file: "accounts/openai/file.yaml",
    },
    {
      name: "the reviewed account's file edited after the review",
      perturb: () => writeEnvAccount("env-edited-later"),
      restore: () => writeEnvAccount("env-three"),
      account: ENV, field: "alias", file: "accounts/openai/env.yaml",
    },
    {
      name: "another account's change in the tree, not applied yet",
      perturb: () => writeFileAccount("file-unreviewed"),
      restore: () => writeFileAccount("file-one"),
      account: FILE, field: "alias", file: "accounts/openai/file.yaml",
    },
  ];

  it("refuses with no write, naming the account and the field, when what it would send is not what was reviewed", async () => {
    // The reviewed change: account env renamed. Each perturbation comes after the review.
    writeEnvAccount("env-three");
    const plan = await review();
    for (const r of refusals) {
      r.perturb();
      sandbox.clearRequests();
      const refused = await applyPlan(plan);
      r.restore();
      expect(refused.code, `${r.name}\n${refused.output}`).not.toBe(0);
      expect(writes(), r.name).toEqual([]);
      expect(refused.summary, r.name).toContain("not applied, the apply differs from the reviewed preview");
      const row = refused.summary.split("\n").find((line) => line.startsWith(`| \`${r.account}\` |`) && line.includes(`| \`${r.field}\` |`));
      expect(row, `${r.name}: a row for ${r.account} ${r.field} in\n${refused.summary}`).toBeDefined();
      expect(row).toContain(`\`${r.file}\``);
      expect(refused.summary).toContain("update the pull request's branch");
      expect(refused.output).toContain(`::error::stack ${stack.stack}: account ${r.account} (${r.file}) ${r.field}: `);
    }
    // Nothing perturbed any more: the same plan applies the reviewed rename, and only it.
    sandbox.clearRequests();
    const applied = await applyPlan(plan);
    expect(applied.code, applied.output).toBe(0);
    expect(writes()).toEqual([{ method: "PATCH", path: at(ENV), body: { alias: "env-three" } }]);
  }, TEST_MS);

  it("still applies exactly the reviewed change after another account's change was applied in between", async () => {
    // Pull request A renames account env and is reviewed; pull request B renames account sops and is applied first.
    writeEnvAccount("env-four");
    const planA = await review();
    writeEnvAccount("env-three");
    writeSopsAccount("sops-two");
    sandbox.clearRequests();
    const b = await stack.up();
    expect(b.ok, b.text).toBe(true);
    expect(writes()).toEqual([{ method: "PATCH", path: at(SOPS), body: { alias: "sops-two" } }]);
    // A merges: the tree holds both changes.
    writeEnvAccount("env-four");
    sandbox.clearRequests();
    const applied = await applyPlan(planA);
    expect(applied.code, applied.output).toBe(0);
    expect(writes()).toEqual([{ method: "PATCH", path: at(ENV), body: { alias: "env-four" } }]);
  }, TEST_MS);

  it("still applies after another account was adopted in between; refuses, with no write, after one was released in between", async () => {
    writeEnvAccount("env-base");
    expect((await stack.up()).ok).toBe(true);
    // Reviewed: a rename. Meanwhile another change adopts a new account and is applied.
    writeEnvAccount("env-five");
    const renameAfterAdoption = await review();
    writeEnvAccount("env-base");
    stack.ws.write("openai/extra.yaml", { id: EXTRA, toolkit: "openai", userId: "team", alias: "extra-one", authScheme: "API_KEY" });
    const adopt = await stack.up();
    expect(adopt.ok, adopt.text).toBe(true);
    writeEnvAccount("env-five");
    sandbox.clearRequests();
    const applied = await applyPlan(renameAfterAdoption);
    expect(applied.code, applied.output).toBe(0);
    expect(writes()).toEqual([{ method: "PATCH", path: at(ENV), body: { alias: "env-five" } }]);

    // Reviewed: another rename. Meanwhile another change releases an account and is applied.
    writeEnvAccount("env-six");
    const renameBeforeRelease = await review();
    writeEnvAccount("env-five");
    stack.ws.remove("openai/extra.yaml");
    const release = await stack.up();
    expect(release.ok, release.text).toBe(true);
    writeEnvAccount("env-six");
    sandbox.clearRequests();
    const refused = await applyPlan(renameBeforeRelease);
    expect(refused.code, refused.output).not.toBe(0);
    expect(writes()).toEqual([]);
    expect(refused.output).toContain(`expected resource operations for urn:pulumi:${stack.stack}::connected-accounts::pulumi-nodejs:dynamic/composio:ConnectedAccount::${EXTRA} but none were seen`);
    expect(refused.summary).toMatch(new RegExp(`\\| \`${EXTRA}\` \\|`));
    writeEnvAccount("env-five");
  }, TEST_MS);

  it("refuses to run without a saved plan, and runs nothing", async () => {
    sandbox.clearRequests();
    const missing = await applyPlan(path.join(stack.ws.dir, "no-such-plan.json"));
    expect(missing.code).toBe(1);
    expect(missing.summary).toContain("not applied, no reviewed plan");
    expect(missing.summary).toContain("Nothing was run.");
    expect(sandbox.requests).toEqual([]);
  });

  it("keeps every planted value out of the saved plans and the job summaries, in any encoding", () => {
    expect(savedPlans.length).toBeGreaterThanOrEqual(3);
    const text = [...savedPlans, ...summaries].join("\n");
    for (const value of PLANTED) for (const form of encodedForms(value)) expect(text.includes(form), `${value.slice(0, 12)}… as ${form.slice(0, 16)}…`).toBe(false);
    // The plan records what was reviewed: references and keyed fingerprints.
    expect(savedPlans[0]).toContain('"fingerprints"');
    expect(savedPlans[0]).toContain('"env": "PLAN_ENV_KEY"');
  });

  describe("at a terminal: the approval binds the update to the preview shown", () => {
    /**
     * `pulumi up` in a pty (util-linux `script`): waits for the confirmation prompt, changes the
     * `file:` secret as someone could while the prompt waits, then types "yes".
     */
    async function upAtTerminal(flags: string[], changeWhilePrompting: () => void): Promise<string> {
      const cmd = [path.join(bin, "pulumi"), "up", "--stack", stack.stack, ...flags].map((a) => `'${a}'`).join(" ");
      const child = spawn("script", ["-qec", cmd, "/dev/null"], { cwd: stack.ws.dir, env: { ...stack.commandEnv(), TERM: "xterm" }, stdio: ["pipe", "pipe", "pipe"] });
      let text = "";
      let answered = false;
      return await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`no end within 240 s:\n${text}`));
        }, 240_000);
        const onData = (c: Buffer) => {
          text += c.toString("utf8");
          if (!answered && text.includes("Do you want to perform this update?")) {
            answered = true;
            changeWhilePrompting();
            child.stdin.write("yes");
            setTimeout(() => child.stdin.write("\r"), 300);
          }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("close", () => {
          clearTimeout(timer);
          child.stdin.destroy();
          resolve(text);
        });
      });
    }

    it("`pulumi up --strict` refuses a file: secret changed after the preview was shown, and sends nothing", async () => {
      writeFileAccount("file-two");
      writeSecretFile(FILE_KEY_ROTATED);
      sandbox.clearRequests();
      const text = await upAtTerminal(["--strict"], () => writeSecretFile(FILE_KEY_UNREVIEWED));
      expect(text).toContain(`ConnectedAccount::${FILE} violates plan: properties changed: `);
      expect(text).toMatch(/fingerprints\[/);
      expect(writes()).toEqual([]);
      // Restored, the reviewed rename is what the next approved update sends.
      writeSecretFile(FILE_KEY_ROTATED);
      const again = await upAtTerminal(["--strict"], () => undefined);
      expect(again).toMatch(/1 updated/);
      expect(writes()).toEqual([{ method: "PATCH", path: at(FILE), body: { alias: "file-two" } }]);
    }, TEST_MS);

    it("PULUMI_EXPERIMENTAL=true without --strict does not bind either (the pinned CLI constrains the update only under --strict)", async () => {
      writeFileAccount("file-four");
      writeSecretFile(FILE_KEY_ROTATED);
      stack.env.PULUMI_EXPERIMENTAL = "true";
      sandbox.clearRequests();
      try {
        const text = await upAtTerminal([], () => writeSecretFile(FILE_KEY_EXPERIMENTAL));
        expect(text).toMatch(/1 updated/);
      } finally {
        delete stack.env.PULUMI_EXPERIMENTAL;
      }
      expect(writes()).toEqual([{ method: "PATCH", path: at(FILE), body: { alias: "file-four", ...val({ api_key: FILE_KEY_EXPERIMENTAL }) } }]);
    }, TEST_MS);

    it("a plain `pulumi up` sends the changed value the preview never showed (why the binding matters)", async () => {
      writeFileAccount("file-three");
      writeSecretFile(FILE_KEY_ROTATED);
      sandbox.clearRequests();
      const text = await upAtTerminal([], () => writeSecretFile(FILE_KEY_PLAIN));
      expect(text).toMatch(/1 updated/);
      expect(writes()).toEqual([{ method: "PATCH", path: at(FILE), body: { alias: "file-three", ...val({ api_key: FILE_KEY_PLAIN }) } }]);
    }, TEST_MS);
  });
});
