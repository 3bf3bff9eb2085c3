/**
 * `connected-accounts import` end to end: the sandbox on loopback, the compiled CLI as a child process
 * working in a scratch folder inside the project (git-ignored), so the schema modeline resolves as it
 * does for a user.
 */
import { request } from "undici";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listAccountFiles, loadAccounts } from "../provider/accounts/load";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../provider/sandbox/server";
import { CLI, PROJECT_ROOT, runCliAsync, type CliResult } from "./support/git-repo";
import { json, startHostileApi } from "./support/hostile-api";

const KEY = "import-test-key-5Hq2vT";
/** Stored in the sandbox as every credential value (its API shows them as "REDACTED"); an API that answered them in plain is tested below. */
const SECRET = "ghp_IMPORTsecret4242";

const SECRET_TODO = '{ todo: "replace with { env: NAME }, { config: key } or { file: path }" }';
const CONFIG_TODO = '{ todo: "replace with the value (not a secret), or { env: NAME }, { config: key } or { file: path }" }';
const MODELINE = "# yaml-language-server: $schema=../../../../../provider/schema/account.schema.json";

/**
 * 45 accounts, by index: github (bearer token + base_url) for team-a, shopify (api key + shop) for
 * team-b, slack (OAuth) for team-a, in turn. Even indexes have an alias; every fourth is EXPIRED.
 */
const SEEDS: SandboxAccountSeed[] = Array.from({ length: 45 }, (_, i): SandboxAccountSeed => {
  const n = String(i).padStart(2, "0");
  const common = { id: `ca_imp${n}`, status: i % 4 === 0 ? "EXPIRED" : "ACTIVE" };
  if (i % 3 === 0) return { ...common, toolkit: "github", userId: "team-a", authScheme: "BEARER_TOKEN", alias: i % 2 === 0 ? `gh-${n}` : null, val: { token: SECRET, base_url: SECRET } };
  if (i % 3 === 1) return { ...common, toolkit: "shopify", userId: "team-b", authScheme: "API_KEY", alias: i % 2 === 0 ? `shop-${n}` : null, val: { api_key: SECRET, shop: SECRET } };
  return { ...common, toolkit: "slack", userId: "team-a", authScheme: "OAUTH2", alias: i % 2 === 0 ? `slack-${n}` : null, val: { access_token: SECRET } };
});

const GITHUB_00 = `${MODELINE}
# Imported by connected-accounts import. Replace each todo with where the value lives (or delete the line to leave that field unmanaged), then run connected-accounts validate.
id: ca_imp00
toolkit: github
userId: team-a
alias: gh-00
authScheme: BEARER_TOKEN
enabled: true
credentials:
  base_url: ${CONFIG_TODO}
  token: ${SECRET_TODO}
`;

const SLACK_05 = `${MODELINE}
# Imported by connected-accounts import. Composio does not accept OAUTH2 credentials through its API, so only the alias is managed here.
id: ca_imp05
toolkit: slack
userId: team-a
authScheme: OAUTH2
enabled: true
`;

const SHOPIFY_04_OBSERVED = `${MODELINE}
# Imported by connected-accounts import. Observed only: refreshed from Composio, never written; set manage: full to manage its alias and credentials.
id: ca_imp04
toolkit: shopify
userId: team-b
alias: shop-04
authScheme: API_KEY
enabled: true
manage: observe
`;

const WORK = path.join(PROJECT_ROOT, "test/.work");

describe("connected-accounts import", () => {
  let sandbox: Sandbox;
  let cwd: string;
  const outputs: CliResult[] = [];

  /** The environment a user would have: the key and the API in the environment, nothing else of ours. */
  const env = (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv => {
    const base: NodeJS.ProcessEnv = { ...process.env, COMPOSIO_API_KEY: KEY, COMPOSIO_BASE_URL: sandbox.url, ...overrides };
    for (const [name, value] of Object.entries(base)) if (value === undefined) delete base[name];
    return base;
  };

  /** Async, not spawnSync: the sandbox answers from this process's event loop. */
  const importCli = async (args: string[], envOverrides?: Record<string, string | undefined>): Promise<CliResult> => {
    // This scratch folder sits inside the project's repository, whose own accounts/ is the default: name ours.
    const dirArgs = args.includes("--dir") || args.includes("--stack") ? [] : ["--dir", "accounts"];
    const result = await runCliAsync(["import", ...dirArgs, ...args], { cwd, env: env(envOverrides) });
    outputs.push(result);
    return result;
  };

  const listRequests = () => sandbox.requests.filter((r) => r.method === "GET" && r.path.startsWith("/api/v3/connected_accounts?"));
  const query = (p: string) => Object.fromEntries(new URL(p, "http://sandbox").searchParams);
  const accountsDir = () => path.join(cwd, "accounts");
  const read = (rel: string) => fs.readFileSync(path.join(cwd, rel), "utf8");
  const writtenFiles = () => (fs.existsSync(accountsDir()) ? listAccountFiles(accountsDir()).map((f) => path.relative(cwd, f)) : []);
  const load = () => loadAccounts({ dir: accountsDir(), repoRoot: PROJECT_ROOT, displayBase: cwd });
  const seedsWhere = (keep: (s: SandboxAccountSeed) => boolean) => SEEDS.filter(keep).map((s) => `accounts/${s.toolkit}/${s.id}.yaml`).sort();

  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: KEY, accounts: SEEDS });
    fs.mkdirSync(WORK, { recursive: true });
  });
  afterAll(async () => {
    await sandbox.close();
    // Whatever a run printed, the API key (which every run sends) never appears in it.
    for (const out of outputs) expect(out.stdout + out.stderr).not.toContain(KEY);
  });
  beforeEach(() => {
    cwd = fs.mkdtempSync(path.join(WORK, "import-"));
    sandbox.clearRequests();
  });
  afterEach(() => {
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it("pages through every account and writes one file each, secrets as placeholders that validate flags until filled", async () => {
    const r = await importCli(["--page-size", "20"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);

    const pages = listRequests();
    expect(pages).toHaveLength(3);
    expect(pages.map((p) => query(p.path).limit)).toEqual(["20", "20", "20"]);
    expect(query(pages[0].path).cursor).toBeUndefined();
    expect(query(pages[1].path).cursor).toEqual(expect.any(String));
    expect(query(pages[2].path).cursor).toEqual(expect.any(String));
    expect(pages.every((p) => p.headers["x-api-key"] === KEY)).toBe(true);
    expect(sandbox.requests.filter((q) => q.method !== "GET")).toEqual([]);

    const all = seedsWhere(() => true);
    expect(writtenFiles()).toEqual(all);
    expect(r.stdout.split("\n")).toEqual([
      ...SEEDS.map((s) => `wrote accounts/${s.toolkit}/${s.id}.yaml`),
      "45 accounts listed: 45 written, 0 skipped",
      "next: replace each of the 60 todo placeholders with where its value lives (or delete its line), then run connected-accounts validate",
      "",
    ]);
    expect(read("accounts/github/ca_imp00.yaml")).toBe(GITHUB_00);
    expect(read("accounts/slack/ca_imp05.yaml")).toBe(SLACK_05);
    for (const file of all) {
      const text = read(file);
      expect(text).not.toContain("REDACTED");
      // OAuth accounts: Composio takes no credentials for them, so none are written.
      if (file.startsWith("accounts/slack/")) expect(text).not.toMatch(/^credentials:/m);
    }

    const before = load();
    const placeholderProblems = SEEDS.flatMap((s) =>
      s.toolkit === "slack" ? [] : Object.keys(s.val ?? {}).sort().map((key) => ({ file: `accounts/${s.toolkit}/${s.id}.yaml`, field: `credentials.${key}` })),
    );
    expect(before.problems.map(({ file, field }) => ({ file, field }))).toEqual(
      [...placeholderProblems].sort((a, b) => a.file.localeCompare(b.file)),
    );
    expect(before.problems).toHaveLength(60);
    for (const p of before.problems) expect(p.message).toBe(`"${p.field.split(".")[1]}" is still the placeholder written by import`);

    // What the user does next: say where each value lives.
    for (const file of all) {
      const full = path.join(cwd, file);
      const filled = fs.readFileSync(full, "utf8").replace(/^( {2})([a-z_]+): \{ todo: .*\}$/gm, (_m, indent: string, key: string) => `${indent}${key}: { env: ${key.toUpperCase()} }`);
      fs.writeFileSync(full, filled);
    }
    const after = load();
    expect(after.problems).toEqual([]);
    expect(after.accounts).toHaveLength(45);
    const gh = after.accounts.find((a) => a.id === "ca_imp00");
    expect(gh).toMatchObject({ toolkit: "github", userId: "team-a", alias: "gh-00", authScheme: "BEARER_TOKEN", manage: "full" });
    expect(gh?.credentials).toEqual({ base_url: { kind: "ref", ref: { env: "BASE_URL" } }, token: { kind: "ref", ref: { env: "TOKEN" } } });
    // No alias in Composio: no alias in the file, so the alias stays unmanaged.
    expect(after.accounts.find((a) => a.id === "ca_imp01")?.alias).toBeUndefined();
  });

  it("writes enabled as Composio reports it: false for a disabled account", async () => {
    const res = await request(`${sandbox.url}/api/v3/connected_accounts/ca_imp07/status`, { method: "PATCH", body: JSON.stringify({ enabled: false }), headers: { "x-api-key": KEY, "content-type": "application/json" } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    try {
      const r = await importCli(["--toolkit", "shopify"]);
      expect(r.code).toBe(0);
      expect(read("accounts/shopify/ca_imp07.yaml")).toMatch(/^authScheme: API_KEY\nenabled: false\n/m);
      expect(read("accounts/shopify/ca_imp10.yaml")).toMatch(/^authScheme: API_KEY\nenabled: true\n/m);
    } finally {
      const back = await request(`${sandbox.url}/api/v3/connected_accounts/ca_imp07/status`, { method: "PATCH", body: JSON.stringify({ enabled: true }), headers: { "x-api-key": KEY, "content-type": "application/json" } });
      await back.body.text();
    }
  });

  it("sends --toolkit, --user-id and --status to the API and writes only what matches", async () => {
    const r = await importCli(["--toolkit", "github,shopify", "--user-id", "team-a", "--status=EXPIRED,ACTIVE", "--status", "FAILED", "--format", "json"]);
    expect(r.code).toBe(0);
    const pages = listRequests();
    expect(pages).toHaveLength(1);
    expect(query(pages[0].path)).toEqual({ toolkit_slugs: "github,shopify", user_ids: "team-a", statuses: "EXPIRED,ACTIVE,FAILED", limit: "100" });
    const expected = seedsWhere((s) => s.toolkit === "github" && s.userId === "team-a");
    expect(JSON.parse(r.stdout)).toEqual({ written: expected, skipped: [], total: 15 });
    expect(writtenFiles()).toEqual(expected);

    fs.rmSync(accountsDir(), { recursive: true });
    const expired = await importCli(["--toolkit", "github", "--status", "EXPIRED", "--dir", "imported"]);
    expect(expired.code).toBe(0);
    expect(query(listRequests()[1].path)).toEqual({ toolkit_slugs: "github", statuses: "EXPIRED", limit: "100" });
    const files = listAccountFiles(path.join(cwd, "imported")).map((f) => path.relative(cwd, f));
    expect(files).toEqual(["imported/github/ca_imp00.yaml", "imported/github/ca_imp12.yaml", "imported/github/ca_imp24.yaml", "imported/github/ca_imp36.yaml"]);
  });

  it("--observe writes manage: observe without credentials, valid at once", async () => {
    const r = await importCli(["--observe", "--toolkit", "shopify", "--format", "json"]);
    expect(r.code).toBe(0);
    const expected = seedsWhere((s) => s.toolkit === "shopify");
    expect(JSON.parse(r.stdout)).toEqual({ written: expected, skipped: [], total: 15 });
    expect(read("accounts/shopify/ca_imp04.yaml")).toBe(SHOPIFY_04_OBSERVED);
    const loaded = load();
    expect(loaded.problems).toEqual([]);
    expect(loaded.accounts).toHaveLength(15);
    expect(loaded.accounts.every((a) => a.manage === "observe" && Object.keys(a.credentials).length === 0)).toBe(true);
  });

  it("mentions placeholders only when it wrote some", async () => {
    const r = await importCli(["--toolkit", "slack"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.slice(-2)).toEqual(["15 accounts listed: 15 written, 0 skipped", "next: run connected-accounts validate, then commit the files"]);
    expect(r.stdout).not.toContain("placeholder");
  });

  it("writes into the stack's accountsDir with --stack, the modeline relative to each file's depth", async () => {
    fs.writeFileSync(path.join(cwd, "Pulumi.yaml"), "name: connected-accounts\nruntime: nodejs\nstackConfigDir: stacks\n");
    fs.mkdirSync(path.join(cwd, "stacks"));
    fs.writeFileSync(path.join(cwd, "stacks/Pulumi.prod.yaml"), "config:\n  connected-accounts:accountsDir: infra/fleet\n");
    const r = await importCli(["--stack", "prod", "--toolkit", "slack", "--user-id", "team-a", "--status", "EXPIRED", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).written).toEqual(["infra/fleet/slack/ca_imp08.yaml", "infra/fleet/slack/ca_imp20.yaml", "infra/fleet/slack/ca_imp32.yaml", "infra/fleet/slack/ca_imp44.yaml"]);
    const modeline = read("infra/fleet/slack/ca_imp08.yaml").split("\n")[0];
    expect(modeline).toBe("# yaml-language-server: $schema=../../../../../../provider/schema/account.schema.json");
    const schema = path.resolve(cwd, "infra/fleet/slack", modeline.split("$schema=")[1]);
    expect(schema).toBe(path.join(PROJECT_ROOT, "provider/schema/account.schema.json"));
  });

  it("can be tried against `connected-accounts sandbox --seed examples/sandbox-seed.yaml`: writes the accounts no file declares", async () => {
    const child = spawn(process.execPath, [CLI, "sandbox", "--port", "0", "--seed", "examples/sandbox-seed.yaml"], { cwd: PROJECT_ROOT, env: { ...process.env, PULUMI_STACK: "" } });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /sandbox listening on (\S+) \(api key: sandbox-demo-key, 10 accounts seeded\)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once("exit", (code) => reject(new Error(`sandbox exited ${code}: ${out}`)));
      });
      const r = await importCli([], { COMPOSIO_BASE_URL: url, COMPOSIO_API_KEY: "sandbox-demo-key" });
      expect(r.code).toBe(0);
      const lines = r.stdout.trimEnd().split("\n");
      expect(lines.filter((l) => l.startsWith("wrote "))).toEqual([
        "wrote accounts/linear/ca_lin4Tk8Pz.yaml",
        "wrote accounts/notion/ca_ntn7Dc2Wk.yaml",
        "wrote accounts/zendesk/ca_zen2Hd6Qs.yaml",
      ]);
      expect(lines.filter((l) => l.startsWith("skipped ")).every((l) => / already declared in (\.\.\/)+accounts\//.test(l))).toBe(true);
      expect(lines.slice(-2)).toEqual([
        "10 accounts listed: 3 written, 7 skipped",
        "next: replace each of the 4 todo placeholders with where its value lives (or delete its line), then run connected-accounts validate",
      ]);
      expect(read("accounts/linear/ca_lin4Tk8Pz.yaml")).toContain('  api_key: { todo: "replace with { env: NAME }');
    } finally {
      child.kill("SIGTERM");
    }
  });

  it("leaves an existing file alone unless --force", async () => {
    const mine = "# my own notes\nid: ca_imp00\ntoolkit: github\nuserId: team-a\nalias: keep-me\nauthScheme: BEARER_TOKEN\n";
    fs.mkdirSync(path.join(accountsDir(), "github"), { recursive: true });
    fs.writeFileSync(path.join(accountsDir(), "github/ca_imp00.yaml"), mine);

    const kept = await importCli(["--toolkit", "github", "--format", "json"]);
    expect(kept.code).toBe(0);
    const report = JSON.parse(kept.stdout) as { written: string[]; skipped: unknown[]; total: number };
    expect(report.skipped).toEqual([{ id: "ca_imp00", reason: "accounts/github/ca_imp00.yaml exists (--force overwrites it)" }]);
    expect(report.written).toHaveLength(14);
    expect(report.total).toBe(15);
    expect(read("accounts/github/ca_imp00.yaml")).toBe(mine);

    const again = await importCli(["--toolkit", "github"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("skipped ca_imp03: accounts/github/ca_imp03.yaml exists (--force overwrites it)\n");
    expect(again.stdout).toContain("15 accounts listed: 0 written, 15 skipped\n");
    expect(again.stdout).not.toContain("wrote ");

    const forced = await importCli(["--toolkit", "github", "--force", "--format", "json"]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toEqual({ written: seedsWhere((s) => s.toolkit === "github"), skipped: [], total: 15 });
    expect(read("accounts/github/ca_imp00.yaml")).toBe(GITHUB_00);
  });

  it("skips an account another file already declares, valid or not, even with --force", async () => {
    // Valid, under another name.
    fs.mkdirSync(path.join(accountsDir(), "legacy"), { recursive: true });
    fs.writeFileSync(path.join(accountsDir(), "legacy/store.yaml"), "id: ca_imp01\ntoolkit: shopify\nuserId: team-b\nauthScheme: API_KEY\ncredentials:\n  api_key: { env: SHOP_KEY }\n");
    // A file from an earlier import, moved and still holding its placeholders (so it fails validation).
    const first = await importCli(["--toolkit", "shopify", "--user-id", "team-b"]);
    expect(first.code).toBe(0);
    fs.renameSync(path.join(accountsDir(), "shopify/ca_imp04.yaml"), path.join(accountsDir(), "legacy/moved.yaml"));

    const r = await importCli(["--toolkit", "shopify", "--force", "--format", "json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { written: string[]; skipped: unknown[]; total: number };
    expect(report.skipped).toEqual([
      { id: "ca_imp01", reason: "already declared in accounts/legacy/store.yaml" },
      { id: "ca_imp04", reason: "already declared in accounts/legacy/moved.yaml" },
    ]);
    expect(report.written).toEqual(seedsWhere((s) => s.toolkit === "shopify" && s.id !== "ca_imp01" && s.id !== "ca_imp04"));
    expect(fs.existsSync(path.join(accountsDir(), "shopify/ca_imp04.yaml"))).toBe(false);
    expect(load().problems.filter((p) => p.field === "id")).toEqual([]);
  });

  it("skips an account whose alias another file already declares for the same user and toolkit", async () => {
    fs.mkdirSync(path.join(accountsDir(), "legacy"), { recursive: true });
    fs.writeFileSync(path.join(accountsDir(), "legacy/other.yaml"), "id: ca_someone\ntoolkit: github\nuserId: team-a\nalias: gh-00\nauthScheme: OAUTH2\n");
    const r = await importCli(["--toolkit", "github", "--observe", "--format", "json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { skipped: { id: string; reason: string }[] };
    expect(report.skipped).toEqual([{ id: "ca_imp00", reason: 'its alias "gh-00" is already declared for user team-a and toolkit github in accounts/legacy/other.yaml' }]);
    expect(load().problems).toEqual([]);
  });

  it("without COMPOSIO_API_KEY: exit 2, says how to set it, asks nothing of the API", async () => {
    const r = await importCli([], { COMPOSIO_API_KEY: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("export COMPOSIO_API_KEY=");
    expect(r.stdout).toBe("");
    expect(sandbox.requests).toEqual([]);
    expect(fs.existsSync(accountsDir())).toBe(false);
  });

  it("writes key names only, even if the API ever answered credential values in clear", async () => {
    const leaked = "sk_leaked_by_api_Wq71";
    sandbox.inject({
      method: "GET",
      status: 200,
      body: { items: [{ id: "ca_leaky", alias: null, status: "ACTIVE", toolkit: { slug: "github" }, user_id: "team-a", state: { authScheme: "API_KEY", val: { api_key: leaked, subdomain: leaked } } }], next_cursor: null },
    });
    const r = await importCli(["--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).written).toEqual(["accounts/github/ca_leaky.yaml"]);
    const text = fs.readFileSync(path.join(accountsDir(), "github/ca_leaky.yaml"), "utf8");
    expect(text).toContain("api_key:");
    expect(text).not.toContain(leaked);
    expect(r.stdout + r.stderr).not.toContain(leaked);
  });

  it("with a wrong key: exit 1 with the API's slug and request_id, nothing written", async () => {
    const r = await importCli([], { COMPOSIO_API_KEY: "not-the-key-31Zp" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid API key/);
    expect(r.stderr).toMatch(/slug: Unauthorized, HTTP 401, request_id: req_[A-Za-z0-9_-]+/);
    // import reads the key from the environment only: the hint names that, not a stack setting.
    expect(r.stderr).toContain("  check COMPOSIO_API_KEY: the key was refused");
    expect(r.stderr).not.toContain("connected-accounts:apiKey");
    expect(r.stderr).not.toContain("not-the-key-31Zp");
    expect(r.stdout).toBe("");
    expect(writtenFiles()).toEqual([]);
  });

  it("refuses usage mistakes with exit 2, including a key on the command line", async () => {
    for (const args of [["--api-key", KEY], ["--status", "ACTIV"], ["--page-size", "0"], ["--format", "yaml"], ["stray"], ["--dir"]]) {
      const r = await importCli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain("usage: connected-accounts import");
    }
    expect(sandbox.requests).toEqual([]);
  });

  it("writes placeholders, never values, when an API answers credential values in plain", async () => {
    const PLAIN = "ghp_answeredInPlain7731";
    const api = await startHostileApi((req, res) =>
      json(res, 200, {
        items: [{
          id: "ca_plain", alias: "gh-plain", status: "ACTIVE", is_disabled: false, toolkit: { slug: "github" }, user_id: "team-a",
          auth_config: { id: "ac_1", is_composio_managed: false, is_disabled: false },
          state: { authScheme: "BEARER_TOKEN", val: { token: PLAIN, base_url: PLAIN } },
        }],
        next_cursor: null,
        total_items: 1,
      }),
    );
    try {
      const r = await importCli([], { COMPOSIO_BASE_URL: api.url });
      expect(r.code, r.stderr).toBe(0);
      expect(api.requests).toHaveLength(1);
      const text = read("accounts/github/ca_plain.yaml");
      expect(text).toContain(`token: ${SECRET_TODO}`);
      expect(text + r.stdout + r.stderr).not.toContain(PLAIN);
    } finally {
      await api.close();
    }
  });
});
