/**
 * The deployment's own secrets stay its own (issue 15 points 3 and 4): account files cannot read
 * them, a stack can restrict which environment variables files read, and the fingerprint key must be
 * a long stack secret. Checked through the real program under the engine harness, and `validate`.
 */
import * as fs from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
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

describe("3. references to the deployment's own secrets", () => {
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
    expect(sandbox.requests.map((q) => q.body)).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: "shop-key-value-1234" } } } }]);
  });
});

describe("4. the fingerprint key", () => {
  it("a key shorter than 32 characters is refused with a fix, before anything is sent", async () => {
    stack.config["connected-accounts:fingerprintKey"] = "short-key-123";
    stack.ws.write("a.yaml", shopAccount("SHOP_KEY"));
    const d = await stack.up();
    expect(d.ok).toBe(false);
    expect(d.programError).toContain("stack config connected-accounts:fingerprintKey is 13 characters long; at least 32 are needed so that it cannot be guessed");
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

describe("2. secret files on the wire", () => {
  it("a key file with a byte-order mark is sent without it; a binary one is refused and nothing is sent", async () => {
    const pem = "-----BEGIN KEY-----\nabc\n-----END KEY-----";
    stack.ws.writeRaw("secrets/app.pem", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`${pem}\n`)]));
    stack.ws.write("a.yaml", { id: "ca_st1", toolkit: "shopify", userId: "u", authScheme: "API_KEY", credentials: { private_key: { file: "../secrets/app.pem" } } });
    expect((await stack.up()).ok).toBe(true);
    expect(sandbox.requests.map((q) => q.body)).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { private_key: pem } } } }]);

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

describe("5. file: references in the program", () => {
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
