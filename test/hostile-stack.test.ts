/**
 * The deployment's own secrets stay its own: account files cannot read
 * them, a stack can restrict which environment variables files read, and the fingerprint key must be
 * a long stack secret. Checked through the real program under the engine harness, and `validate`.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { apiSettings, REFUSED_REFERENCES } from "../provider/settings";
import { GitRepo, runCli } from "./support/git-repo";
import { API_KEY, TestStack } from "./support/stack";

let sandbox: Sandbox;
let stack: TestStack;
beforeAll(async () => {
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_st1", toolkit: "shopify", userId: "u", authScheme: "API_KEY" }] });
});
afterAll(async () => {
  stack?.cleanup();
  await sandbox.close();
});
beforeEach(() => {
  sandbox.clearRequests();
  stack?.cleanup();
  stack = new TestStack("hostile-stack", sandbox.url);
  stack.env = { SHOP_KEY: "shop-key-value-1234", OTHER_KEY: "other-value-5678" };
});

const shopAccount = (env: string) => ({ id: "ca_st1", toolkit: "shopify", userId: "u", authScheme: "API_KEY", credentials: { api_key: { env } } });

describe("references to the deployment's own secrets", () => {
  it("validate refuses the tool's and the CI's credentials, each with its line, field and a fix", () => {
    const repo = new GitRepo("refused-refs");
    try {
      repo.write(
        "accounts/a.yaml",
        "id: ca_a\ntoolkit: shopify\nuserId: u\nauthScheme: API_KEY\ncredentials:\n  api_key: { env: PULUMI_ACCESS_TOKEN }\n  token: { config: apiKey }\n" +
          "  bearer_token: { config: fingerprintKey }\n  password: { env: AWS_SECRET_ACCESS_KEY }\n  generic_api_key: { env: GITHUB_TOKEN }\n  basic_encoded: { env: COMPOSIO_API_KEY }\n  base_url: https://collector.example\n",
      );
      const r = runCli(["validate", "--format", "json"], { cwd: repo.dir });
      expect(r.code).toBe(1);
      const errors = JSON.parse(r.stdout).errors as { line: number; field: string; message: string; fix: string }[];
      expect(errors.map((e) => [e.line, e.field, e.message])).toEqual([
        [6, "credentials.api_key.env", "environment variable PULUMI_ACCESS_TOKEN holds this deployment's own or the CI's credentials and cannot be sent to Composio"],
        [7, "credentials.token.config", "stack config connected-accounts:apiKey is a setting of this tool and cannot be sent to Composio"],
        [8, "credentials.bearer_token.config", "stack config connected-accounts:fingerprintKey is a setting of this tool and cannot be sent to Composio"],
        [9, "credentials.password.env", "environment variable AWS_SECRET_ACCESS_KEY holds this deployment's own or the CI's credentials and cannot be sent to Composio"],
        [10, "credentials.generic_api_key.env", "environment variable GITHUB_TOKEN holds this deployment's own or the CI's credentials and cannot be sent to Composio"],
        [11, "credentials.basic_encoded.env", "environment variable COMPOSIO_API_KEY holds this deployment's own or the CI's credentials and cannot be sent to Composio"],
      ]);
      expect(errors[0].fix).toBe("reference a variable that holds only this account's credential, e.g. { env: SHOPIFY_API_KEY }");
      expect(errors[1].fix).toBe("store the credential under its own key: pulumi config set --secret connected-accounts:shopify_token <value>, and reference it");
    } finally {
      repo.cleanup();
    }
  });

  it("the program refuses them too, and sends nothing", async () => {
    stack.env.PULUMI_ACCESS_TOKEN = "pul-token-should-never-leave";
    stack.ws.write("a.yaml", shopAccount("PULUMI_ACCESS_TOKEN"));
    const d = await stack.up();
    expect(d.ok).toBe(false);
    expect(d.programError).toContain("credentials.api_key.env: environment variable PULUMI_ACCESS_TOKEN holds this deployment's own or the CI's credentials and cannot be sent to Composio");
    expect(sandbox.requests).toEqual([]);
  });

  it("stack setting allowedEnv restricts which environment variables files may read", async () => {
    stack.config["connected-accounts:allowedEnv"] = "SHOP_*, JIRA_*";
    stack.ws.write("a.yaml", shopAccount("OTHER_KEY"));
    const refused = await stack.up();
    expect(refused.ok).toBe(false);
    expect(refused.programError).toContain("credentials.api_key: environment variable OTHER_KEY is not allowed by stack config connected-accounts:allowedEnv (SHOP_*, JIRA_*)");
    expect(sandbox.requests).toEqual([]);
    stack.ws.write("a.yaml", shopAccount("SHOP_KEY"));
    expect((await stack.up()).ok).toBe(true);
    expect(sandbox.requests.filter((q) => q.method === "PATCH").map((q) => q.body)).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: "shop-key-value-1234" } } } }]);
  });
});

describe("the fingerprint key", () => {
  it("a key shorter than 32 characters is refused with a fix, before anything is sent", async () => {
    stack.config["connected-accounts:fingerprintKey"] = "short-key-123";
    stack.ws.write("a.yaml", shopAccount("SHOP_KEY"));
    const d = await stack.up();
    expect(d.ok).toBe(false);
    // The stack file is where the fix goes (this stack keeps its config outside a file: line 1), not an account file.
    expect(d.programError).toContain("stacks/Pulumi.test.yaml:1:1 connected-accounts:fingerprintKey: stack config connected-accounts:fingerprintKey is 13 characters long; at least 32 are needed so that it cannot be guessed");
    expect(d.programError).not.toMatch(/a\.yaml:\d+/);
    expect(d.programError).toContain('fix: pulumi config set --secret connected-accounts:fingerprintKey "$(openssl rand -hex 32)"');
    expect(sandbox.requests).toEqual([]);
  });

  it("a key that is not a stack secret is refused", async () => {
    stack.secretKeys = stack.secretKeys.filter((k) => k !== "connected-accounts:fingerprintKey");
    stack.ws.write("a.yaml", shopAccount("SHOP_KEY"));
    const d = await stack.up();
    expect(d.ok).toBe(false);
    expect(d.programError).toContain("stack config connected-accounts:fingerprintKey is not a stack secret");
    expect(sandbox.requests).toEqual([]);
  });
});

describe("secret files on the wire", () => {
  it("a key file with a byte-order mark is sent without it; a binary one is refused and nothing is sent", async () => {
    const pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----";
    stack.ws.writeRaw("secrets/app.pem", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${pem}\n`)]));
    stack.ws.write("a.yaml", { id: "ca_st1", toolkit: "shopify", userId: "u", authScheme: "API_KEY", credentials: { private_key: { file: "../secrets/app.pem" } } });
    expect((await stack.up()).ok).toBe(true);
    expect(sandbox.requests.filter((q) => q.method === "PATCH").map((q) => q.body)).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { private_key: pem } } } }]);

    sandbox.clearRequests();
    stack.ws.writeRaw("secrets/app.pem", Buffer.from([0x30, 0x82, 0x01, 0x0a, 0xff, 0xfe, 0x00]));
    const d = await stack.up();
    expect(d.ok).toBe(false);
    // Only the provider reads the file: its Check fails for this account, naming the line in the account file.
    expect(d.programError).toBeUndefined();
    expect(d.steps[0].error).toMatch(/accounts\/a\.yaml:7:5 credentials\.private_key\.file: file \S*secrets\/app\.pem is not UTF-8 text; credentials are sent as text; nothing is sent for this account/);
    expect(sandbox.requests).toEqual([]);
  });
});

describe("file: references in the program", () => {
  it("a link to /dev/zero is refused once, before it is opened, and nothing is sent", async () => {
    fs.mkdirSync(stack.ws.path("secrets"), { recursive: true });
    fs.symlinkSync("/dev/zero", stack.ws.path("secrets/zero.pem"));
    stack.ws.write("a.yaml", { id: "ca_st1", toolkit: "shopify", userId: "u", authScheme: "API_KEY", credentials: { private_key: { file: "../secrets/zero.pem" } } });
    const d = await stack.up();
    expect(d.ok).toBe(false);
    const message = "credentials.private_key.file: file ../secrets/zero.pem links outside the repository";
    expect(d.programError?.split(message)).toHaveLength(2);
    expect(d.programError).toContain("1 problem in the account files; nothing was sent to Composio.");
    expect(sandbox.requests).toEqual([]);
  });
});

describe("numeric settings are range-checked at load", () => {
  it("a retry budget at or past Node's timer limit (2^31, 2^32 ms) stops the program with the range and a fix, and sends nothing", async () => {
    stack.ws.write("a.yaml", shopAccount("SHOP_KEY"));
    for (const raw of ["2147483648", "4294967296"]) {
      stack.config["connected-accounts:retryBudgetMs"] = raw;
      const d = await stack.up();
      expect(d.ok).toBe(false);
      expect(d.programError).toContain(
        `connected-accounts:retryBudgetMs: stack config connected-accounts:retryBudgetMs must be a whole number from 1 to 3600000 (ms), not "${raw}"\n    fix: pulumi config set connected-accounts:retryBudgetMs 120000 (the default), or pulumi config rm connected-accounts:retryBudgetMs`,
      );
      expect(d.programError).not.toMatch(/RangeError|gave up after/);
    }
    expect(sandbox.requests).toEqual([]);
  });

  it("the provider refuses them too (a refresh configures it with the recorded config, without the program)", () => {
    const lookup = (values: Record<string, string>) => (key: string) => values[key.replace("connected-accounts:", "")];
    for (const [key, raw, range] of [["requestTimeoutMs", "2147483647", "1 to 600000 (ms)"], ["maxRetries", "1.5", "0 to 20 (retries)"], ["maxConcurrency", "1e9", "1 to 100 (requests)"], ["refreshBatchSize", "5000", "1 to 1000 (accounts)"]] as const) {
      expect(() => apiSettings(lookup({ [key]: raw }), {})).toThrow(`stack config connected-accounts:${key} must be a whole number from ${range}, not "${raw}"`);
    }
    expect(apiSettings(lookup({ retryBudgetMs: "3600000", maxRetries: "0" }), {})).toMatchObject({ retryBudgetMs: 3_600_000, maxRetries: 0 });
  });
});

describe("more of the build machine's credentials are refused", () => {
  const NAMES = ["GH_TOKEN", "VAULT_TOKEN", "GITLAB_TOKEN", "DOCKER_PASSWORD", "SOPS_AGE_KEY", "GH_ENTERPRISE_TOKEN", "CI_REGISTRY_PASSWORD", "TF_TOKEN_app_terraform_io", "KUBECONFIG"];

  it("validate refuses each, with its line and field", () => {
    const repo = new GitRepo("refused-more");
    try {
      const fields = NAMES.map((name, i) => `  field_${i}: { env: ${name} }\n`).join("");
      repo.write("accounts/a.yaml", `id: ca_a\ntoolkit: shopify\nuserId: u\nauthScheme: API_KEY\ncredentials:\n${fields}`);
      const r = runCli(["validate", "--format", "json"], { cwd: repo.dir });
      expect(r.code).toBe(1);
      const errors = JSON.parse(r.stdout).errors as { line: number; field: string; message: string }[];
      expect(errors.map((e) => [e.line, e.field, e.message])).toEqual(
        NAMES.map((name, i) => [6 + i, `credentials.field_${i}.env`, `environment variable ${name} holds this deployment's own or the CI's credentials and cannot be sent to Composio`]),
      );
    } finally {
      repo.cleanup();
    }
  });

  it("the settings reference lists every refused name", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "docs", "settings.md"), "utf8").replace(/\s+/g, " ");
    const listed = /\*\*Refused references\.\*\*(.*?)The stack setting `allowedEnv`/.exec(readme)?.[1] ?? "";
    for (const name of REFUSED_REFERENCES.env) expect(listed, name).toContain(`\`${name}\``);
  });
});

describe("a stack config too large to reach the program", () => {
  const setup = (values: number, size: number) => {
    const repo = new GitRepo("big-config");
    repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\nstackConfigDir: stacks\n");
    repo.write("accounts/a.yaml", "id: ca_a\ntoolkit: slack\nuserId: u\nauthScheme: OAUTH2\n");
    const secrets = Array.from({ length: values }, (_, i) => `  connected-accounts:cred_${i}:\n    secure: v1:${"A".repeat(12)}:${"c".repeat(size)}\n`).join("");
    repo.write("stacks/Pulumi.big.yaml", `config:\n  connected-accounts:baseUrl: https://backend.composio.dev\n${secrets}`);
    return repo;
  };

  it("is what Linux refuses: one environment variable past 128 KiB cannot be passed to a process", () => {
    const r = spawnSync(process.execPath, ["-e", "0"], { env: { PULUMI_CONFIG: "x".repeat(128 * 1024) } });
    expect((r.error as NodeJS.ErrnoException | undefined)?.code).toBe("E2BIG");
  });

  it("validate --stack warns with the size and the fix, and still checks the files", () => {
    const repo = setup(20, 7 * 1024);
    try {
      const r = runCli(["validate", "--stack", "big"], { cwd: repo.dir });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("1 account file valid\n");
      expect(r.stderr).toMatch(/^warning: the config in stacks\/Pulumi\.big\.yaml is about 141 KiB \(\d+ bytes, secrets counted encrypted\); Pulumi passes it to the program in one environment variable, which Linux limits to 128 KiB: past that every preview and up fails with "spawn E2BIG"\. Move credentials out of stack config into SOPS files or \{ env: NAME \} references\n$/);
    } finally {
      repo.cleanup();
    }
  });

  it("a stack of ordinary size gets no warning", () => {
    const repo = setup(20, 1024);
    try {
      expect(runCli(["validate", "--stack", "big"], { cwd: repo.dir })).toEqual({ code: 0, stdout: "1 account file valid\n", stderr: "" });
    } finally {
      repo.cleanup();
    }
  });
});
