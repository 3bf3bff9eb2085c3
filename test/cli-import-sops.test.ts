/**
 * `connected-accounts import --secrets sops:<file>`: the sandbox on loopback, the compiled CLI as a
 * child process, the real sops and age keys. One key per account and field, empty until filled in,
 * encrypted at once when a recipient is known.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../provider/sandbox/server";
import { PROJECT_ROOT, runCli, runCliAsync, type CliResult } from "./support/git-repo";
import { newAgeKey, setSopsValue, sopsBinDir, sopsEnv, type AgeKey } from "./support/sops";

const API_KEY = "import-sops-key-7Tq1";
const SECRET = "ghp_IMPORTsopsSecret9191";
const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_gh1", toolkit: "github", userId: "team-a", authScheme: "BEARER_TOKEN", alias: "bot.main", status: "ACTIVE", val: { token: SECRET, base_url: SECRET } },
  // Its alias reads the same once made a key: the second account's key is named by its id.
  { id: "ca_gh2", toolkit: "github", userId: "team-b", authScheme: "BEARER_TOKEN", alias: "bot_main", status: "ACTIVE", val: { token: SECRET } },
  { id: "ca_shop", toolkit: "shopify", userId: "team-b", authScheme: "API_KEY", alias: null, status: "ACTIVE", val: { api_key: SECRET, shop: SECRET } },
  { id: "ca_slack", toolkit: "slack", userId: "team-a", authScheme: "OAUTH2", alias: "ws", status: "ACTIVE", val: { access_token: SECRET } },
];
const WORK = path.join(PROJECT_ROOT, "test/.work");

describe("connected-accounts import --secrets sops:...", () => {
  let sandbox: Sandbox;
  let cwd: string;
  let key: AgeKey;
  const outputs: CliResult[] = [];
  const PATH = `${sopsBinDir()}${path.delimiter}${process.env.PATH}`;

  const importCli = async (args: string[], env: Record<string, string> = {}): Promise<CliResult> => {
    const result = await runCliAsync(["import", "--dir", "accounts", ...args], { cwd, env: { ...process.env, PATH, COMPOSIO_API_KEY: API_KEY, COMPOSIO_BASE_URL: sandbox.url, ...env } });
    outputs.push(result);
    return result;
  };
  const read = (rel: string) => fs.readFileSync(path.join(cwd, rel), "utf8");
  /** What a user does with the configuration fields import cannot know (base_url, shop): writes them. */
  const fillTodos = () => {
    for (const rel of ["accounts/github/ca_gh1.yaml", "accounts/shopify/ca_shop.yaml"]) {
      fs.writeFileSync(path.join(cwd, rel), read(rel).replace(/\{ todo: .* \}$/m, "example-config-value"));
    }
  };
  const validate = () => {
    const r = runCli(["validate", "--dir", "accounts", "--format", "json"], { cwd, env: { PATH, ...sopsEnv() } });
    outputs.push(r);
    return JSON.parse(r.stdout) as { ok: boolean; errors: { file: string; field: string; message: string }[] };
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
    fs.mkdirSync(WORK, { recursive: true });
    key = newAgeKey();
  });
  afterAll(async () => {
    await sandbox.close();
    for (const out of outputs) expect(out.stdout + out.stderr).not.toContain(SECRET);
  });
  beforeEach(() => {
    cwd = fs.mkdtempSync(path.join(WORK, "import-sops-"));
  });
  afterEach(() => fs.rmSync(cwd, { recursive: true, force: true }));

  it("without a recipient: one empty key per account and field, unencrypted beside an example rule, and says to encrypt before filling in", async () => {
    const r = await importCli(["--secrets", "sops:secrets/imported.sops.yaml"]);
    expect(r.code).toBe(0);
    expect(read("accounts/github/ca_gh1.yaml")).toContain("  base_url: { todo: ");
    expect(read("accounts/github/ca_gh1.yaml")).toContain("  token: { sops: ../../secrets/imported.sops.yaml, key: github_bot_main_token }\n");
    expect(read("accounts/github/ca_gh2.yaml")).toContain("  token: { sops: ../../secrets/imported.sops.yaml, key: github_ca_gh2_token }\n");
    expect(read("accounts/shopify/ca_shop.yaml")).toContain("  api_key: { sops: ../../secrets/imported.sops.yaml, key: shopify_ca_shop_api_key }\n");
    expect(read("accounts/shopify/ca_shop.yaml")).toContain("Replace each todo with the value (or delete the line), fill in its secrets in the SOPS file with sops edit");
    const doc = read("secrets/imported.sops.yaml");
    expect(parse(doc)).toEqual({ github_bot_main_token: "", github_ca_gh2_token: "", shopify_ca_shop_api_key: "" });
    expect(doc).toContain("# github ca_gh1 (bot.main): token\n");
    expect(read("secrets/.sops.yaml.example")).toMatch(/^ {2}- path_regex: test\/\\\.work\/import-sops-[^/]+\/secrets\/\.\*\\\.sops\\\.\(yaml\|json\)\$$/m);
    expect(r.stdout).toContain("wrote secrets/imported.sops.yaml: 3 empty values, one per account and secret field, not encrypted (no .sops.yaml creation rule and no SOPS_AGE_RECIPIENTS say whom to encrypt it for)\n");
    expect(r.stdout).toContain("next: encrypt it before filling in any value: copy secrets/.sops.yaml.example to .sops.yaml at the repository root with your public keys, then sops --encrypt --in-place secrets/imported.sops.yaml\n");
    // Not encrypted yet: validate says so for every reference into it.
    fillTodos();
    const v = validate();
    expect(v.errors.filter((e) => e.field.endsWith(".sops")).map((e) => e.message)).toEqual(Array(3).fill("file ../../secrets/imported.sops.yaml is not SOPS-encrypted (it has no sops metadata)"));

    // A second run adds the accounts the first did not write, and keeps the keys already there.
    fs.rmSync(path.join(cwd, "accounts/shopify"), { recursive: true });
    const again = await importCli(["--secrets", "sops:secrets/imported.sops.yaml"]);
    expect(again.code).toBe(0);
    expect(Object.keys(parse(read("secrets/imported.sops.yaml")))).toEqual(["github_bot_main_token", "github_ca_gh2_token", "shopify_ca_shop_api_key", "shopify_ca_shop_api_key_2"]);
  });

  it("with a recipient: encrypted at once; validate lists the empty values without a key until each is set", async () => {
    const r = await importCli(["--secrets", "sops:secrets/imported.sops.yaml"], { SOPS_AGE_RECIPIENTS: key.recipient });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("wrote secrets/imported.sops.yaml: 3 empty values, one per account and secret field, encrypted\n");
    expect(r.stdout).toContain("next: fill in each value with sops edit secrets/imported.sops.yaml; connected-accounts validate lists the ones still empty. Commit it encrypted.\n");
    expect(fs.existsSync(path.join(cwd, "secrets/.sops.yaml.example"))).toBe(false);
    expect(read("secrets/imported.sops.yaml")).toContain(`recipient: ${key.recipient}`);
    fillTodos();
    const empty = validate().errors.filter((e) => e.field.endsWith(".key"));
    expect(empty.map((e) => [e.file, e.message])).toEqual([
      ["accounts/github/ca_gh1.yaml", "key github_bot_main_token in SOPS file ../../secrets/imported.sops.yaml is empty; an empty value is never sent"],
      ["accounts/github/ca_gh2.yaml", "key github_ca_gh2_token in SOPS file ../../secrets/imported.sops.yaml is empty; an empty value is never sent"],
      ["accounts/shopify/ca_shop.yaml", "key shopify_ca_shop_api_key in SOPS file ../../secrets/imported.sops.yaml is empty; an empty value is never sent"],
    ]);
    for (const k of ["github_bot_main_token", "github_ca_gh2_token", "shopify_ca_shop_api_key"]) setSopsValue(path.join(cwd, "secrets/imported.sops.yaml"), [k], `${k}-value`, key);
    expect(validate()).toEqual({ ok: true, files: 4, errors: [] });

    // An encrypted file is not added to: that would need its key.
    const again = await importCli(["--secrets", "sops:secrets/imported.sops.yaml"]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("secrets/imported.sops.yaml is already encrypted; import adds keys only to a new or not yet encrypted file: name another one (--secrets sops:secrets/imported-2.sops.yaml)");
  });

  it("refuses a --secrets it cannot use before asking the API anything", async () => {
    sandbox.clearRequests();
    for (const [args, message] of [
      [["--secrets", "vault:x"], "--secrets must be sops:<file>"],
      [["--secrets", "sops:secrets/x.json"], "name the file *.sops.yaml"],
      [["--secrets", "sops:/tmp/x.sops.yaml"], "is outside the project"],
      [["--secrets", "sops:x.sops.yaml", "--observe"], "--secrets and --observe do not go together"],
    ] as const) {
      const r = await importCli([...args]);
      expect(r.code, message).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(sandbox.requests).toEqual([]);
  });
});
