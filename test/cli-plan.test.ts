/**
 * `connected-accounts plan` end to end: real git repositories, the compiled CLI as a child process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitRepo, runCli, type CliResult } from "./support/git-repo";

/** Values the references point to: none may ever appear in what the CLI prints. */
const SECRETS = {
  GH_BOT_TOKEN: "ghp_SECRETbotToken111",
  SHOP_KEY_A: "shpat_SECRET_A_222",
  SHOP_KEY_B: "shpat_SECRET_B_333",
  PROXY_PW: "proxy-SECRET-444",
  newToken: "file-SECRET-555",
  bigquery: '{"private_key":"bq-SECRET-666"}',
};

const BASE_FILES: Record<string, string> = {
  "accounts/github/bot.yaml": `id: ca_bot
toolkit: github
userId: team-platform
alias: bot-old
authScheme: BEARER_TOKEN
credentials:
  token: { env: GH_BOT_TOKEN }
  base_url: https://api.github.com
`,
  "accounts/shopify/store.yaml": `id: ca_shop
toolkit: shopify
userId: acme
alias: acme-store
authScheme: API_KEY
credentials:
  api_key: { env: SHOP_KEY_A }
  shop: acme
`,
  "accounts/jira/desk.yaml": `id: ca_jira
toolkit: jira
userId: support
authScheme: BASIC
credentials:
  username: bot@example.com
  password: { config: jiraPassword }
  proxy_password: { env: PROXY_PW }
  subdomain: example
`,
  "accounts/legacy/old.yaml": `id: ca_old
toolkit: notion
userId: team-docs
alias: old-notion
authScheme: OAUTH2
`,
  "accounts/slack/ws.yaml": `id: ca_slack
toolkit: slack
userId: team-platform
alias: slack-main
authScheme: OAUTH2
`,
  "accounts/google/bq.yaml": `id: ca_bq
toolkit: googlebigquery
userId: team-data
authScheme: GOOGLE_SERVICE_ACCOUNT
credentials:
  credentials_json: { file: ../../secrets/bq.json }
`,
};

const NEW_ACCOUNT = `# adopted in this change
id: ca_new
toolkit: github
userId: team-release
alias: release-app
authScheme: SERVICE_ACCOUNT
credentials:
  application_id: "412233"
  private_key: { file: ../../secrets/new-token.txt }
  proxy_password: null
`;

/** base: BASE_FILES; head: one account of each kind of change. */
function buildRepo(): GitRepo {
  const repo = new GitRepo("plan");
  repo.write(".gitignore", "secrets/\n");
  repo.write("secrets/new-token.txt", SECRETS.newToken);
  repo.write("secrets/bq.json", SECRETS.bigquery);
  for (const [file, text] of Object.entries(BASE_FILES)) repo.write(file, text);
  repo.commit("base");
  // adopt
  repo.write("accounts/github/app.yaml", NEW_ACCOUNT);
  // alias change
  repo.write("accounts/github/bot.yaml", BASE_FILES["accounts/github/bot.yaml"].replace("alias: bot-old", "alias: bot-new"));
  // reference change, and a non-secret literal change
  repo.write("accounts/shopify/store.yaml", BASE_FILES["accounts/shopify/store.yaml"].replace("SHOP_KEY_A", "SHOP_KEY_B").replace("shop: acme", "shop: acme-outdoor"));
  // key set to null, and a key dropped
  repo.write("accounts/jira/desk.yaml", BASE_FILES["accounts/jira/desk.yaml"].replace("password: { config: jiraPassword }", "password: null").replace("  proxy_password: { env: PROXY_PW }\n", ""));
  // release
  repo.remove("accounts/legacy/old.yaml");
  // rename without content change
  repo.move("accounts/slack/ws.yaml", "accounts/slack/workspace.yaml");
  repo.commit("head");
  return repo;
}

const EXPECTED_ACCOUNTS = [
  {
    id: "ca_new", file: "accounts/github/app.yaml", action: "adopt",
    alias: { from: null, to: "release-app" },
    credentials: { added: ["application_id", "private_key"], changed: [], removed: ["proxy_password"] },
  },
  {
    id: "ca_bot", file: "accounts/github/bot.yaml", action: "update",
    alias: { from: "bot-old", to: "bot-new" },
    credentials: { added: [], changed: [], removed: [] },
  },
  { id: "ca_bq", file: "accounts/google/bq.yaml", action: "unchanged", credentials: { added: [], changed: [], removed: [] } },
  { id: "ca_jira", file: "accounts/jira/desk.yaml", action: "update", credentials: { added: [], changed: [], removed: ["password", "proxy_password"] } },
  { id: "ca_old", file: "accounts/legacy/old.yaml", action: "release", credentials: { added: [], changed: [], removed: [] } },
  { id: "ca_shop", file: "accounts/shopify/store.yaml", action: "update", credentials: { added: [], changed: ["api_key", "shop"], removed: [] } },
  {
    id: "ca_slack", file: "accounts/slack/workspace.yaml", action: "unchanged", movedFrom: "accounts/slack/ws.yaml",
    credentials: { added: [], changed: [], removed: [] },
  },
];
const EXPECTED_SUMMARY = { adopt: 1, update: 3, release: 1, unchanged: 2 };

const EXPECTED_MARKDOWN = `<!-- connected-accounts-plan -->
### Connected accounts plan

**1 to adopt, 3 to update, 1 to release, 2 unchanged** (\`base\` → working tree)

| Account | File | Action | Alias | Credentials |
| --- | --- | --- | --- | --- |
| \`ca_new\` | \`accounts/github/app.yaml\` | adopt | _unmanaged_ → \`release-app\` | added \`application_id\`, \`private_key\`; removed \`proxy_password\` |
| \`ca_bot\` | \`accounts/github/bot.yaml\` | update | \`bot-old\` → \`bot-new\` |  |
| \`ca_jira\` | \`accounts/jira/desk.yaml\` | update |  | removed \`password\`, \`proxy_password\` |
| \`ca_old\` | \`accounts/legacy/old.yaml\` | release |  |  |
| \`ca_shop\` | \`accounts/shopify/store.yaml\` | update |  | changed \`api_key\`, \`shop\` |

<details>
<summary>References and settings</summary>

- \`ca_new\` adopt
  - \`application_id\` added: \`"412233"\`
  - \`private_key\` added: \`file ../../secrets/new-token.txt\`
  - \`proxy_password\` removed: \`null\`
- \`ca_jira\` update
  - \`password\` removed: \`config jiraPassword\` → \`null\`
  - \`proxy_password\` removed: \`env PROXY_PW\`
- \`ca_shop\` update
  - \`api_key\` changed: \`env SHOP_KEY_A\` → \`env SHOP_KEY_B\`
  - \`shop\` changed: \`"acme"\` → \`"acme-outdoor"\`

</details>

_Releasing an account only stops managing it: the account is never deleted from Composio. References are compared as written, and values in SOPS files by their ciphertext; no secret was read._
`;

const EXPECTED_TEXT = `adopt     ca_new   accounts/github/app.yaml: alias unmanaged → "release-app"; added application_id ("412233"), private_key (file ../../secrets/new-token.txt); removed proxy_password (null)
update    ca_bot   accounts/github/bot.yaml: alias "bot-old" → "bot-new"
update    ca_jira  accounts/jira/desk.yaml: removed password (config jiraPassword → null), proxy_password (env PROXY_PW)
release   ca_old   accounts/legacy/old.yaml: no longer managed (the account is kept in Composio)
update    ca_shop  accounts/shopify/store.yaml: changed api_key (env SHOP_KEY_A → env SHOP_KEY_B), shop ("acme" → "acme-outdoor")
Plan (base → working tree): 1 to adopt, 3 to update, 1 to release, 2 unchanged.
`;

describe("connected-accounts plan", () => {
  let repo: GitRepo;
  const outputs: CliResult[] = [];
  /** Every run gets the secrets the references point to, as CI would. */
  const plan = (args: string[], cwd = repo.dir): CliResult => {
    const result = runCli(["plan", ...args], { cwd, env: { GH_BOT_TOKEN: SECRETS.GH_BOT_TOKEN, SHOP_KEY_A: SECRETS.SHOP_KEY_A, SHOP_KEY_B: SECRETS.SHOP_KEY_B, PROXY_PW: SECRETS.PROXY_PW } });
    outputs.push(result);
    return result;
  };

  beforeAll(() => {
    repo = buildRepo();
  });
  afterAll(() => repo.cleanup());

  it("says per account what the change intends (JSON, working tree as head)", () => {
    const r = plan(["--base", "base", "--format", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ summary: EXPECTED_SUMMARY, accounts: EXPECTED_ACCOUNTS });
  });

  it("reads --head from git exactly like the working tree", () => {
    const r = plan(["--base", "base", "--head", "head", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ summary: EXPECTED_SUMMARY, accounts: EXPECTED_ACCOUNTS });
  });

  it("renders the pull-request comment (golden)", () => {
    const r = plan(["--base", "base", "--format", "markdown"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(EXPECTED_MARKDOWN);
  });

  it("prints one line per changed account and the summary", () => {
    const r = plan(["--base", "base"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(EXPECTED_TEXT);
  });

  it("works from a subfolder, with paths relative to it", () => {
    const r = plan(["--base", "base", "--format", "json"], path.join(repo.dir, "accounts/github"));
    expect(r.code).toBe(0);
    const rel = (file: string) => path.relative("accounts/github", file);
    const expected = EXPECTED_ACCOUNTS.map((a) => ({ ...a, file: rel(a.file), ...(a.movedFrom && { movedFrom: rel(a.movedFrom) }) }));
    const byId = (list: { id: string }[]) => [...list].sort((x, y) => x.id.localeCompare(y.id));
    const out = JSON.parse(r.stdout);
    expect(out.summary).toEqual(EXPECTED_SUMMARY);
    expect(byId(out.accounts)).toEqual(byId(expected));
    expect(out.accounts.find((a: { id: string }) => a.id === "ca_bq").file).toBe("../google/bq.yaml");
  });

  it("takes --dir relative to the working directory", () => {
    const r = plan(["--base", "base", "--head", "head", "--dir", "shopify", "--format", "json"], path.join(repo.dir, "accounts"));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      summary: { adopt: 0, update: 1, release: 0, unchanged: 0 },
      accounts: [{ ...EXPECTED_ACCOUNTS.find((a) => a.id === "ca_shop"), file: "shopify/store.yaml" }],
    });
  });

  it("reports no change between a revision and itself", () => {
    const r = plan(["--base", "head", "--format", "markdown"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`<!-- connected-accounts-plan -->
### Connected accounts plan

**0 to adopt, 0 to update, 0 to release, 6 unchanged** (\`head\` → working tree)

No account changes.

_Releasing an account only stops managing it: the account is never deleted from Composio. References are compared as written, and values in SOPS files by their ciphertext; no secret was read._
`);
  });

  it("takes a tree as the base: against git's empty tree every account is adopted", () => {
    const r = plan(["--base", "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "--format", "json"]);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.summary).toEqual({ adopt: 6, update: 0, release: 0, unchanged: 0 });
    expect(json.accounts.every((a: { action: string }) => a.action === "adopt")).toBe(true);
  });

  it("exits 2 on usage errors and names the revision it could not read", () => {
    const missing = plan(["--format", "json"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing --base/);
    expect(missing.stdout).toBe("");

    const badBase = plan(["--base", "no-such-branch"]);
    expect(badBase.code).toBe(2);
    expect(badBase.stderr).toMatch(/cannot read --base no-such-branch/);

    const badHead = plan(["--base", "base", "--head", "origin/nowhere"]);
    expect(badHead.code).toBe(2);
    expect(badHead.stderr).toMatch(/cannot read --head origin\/nowhere/);

    expect(plan(["--base", "base", "--format", "yaml"]).code).toBe(2);
    expect(plan(["--base", "base", "--verbose"]).code).toBe(2);
    expect(plan(["--base", "base", "extra"]).code).toBe(2);
    expect(plan(["--base", "-x"]).code).toBe(2);
  });

  it("with --detailed-exitcode exits 2 when an account changes, 0 when none does, 1 on any error", () => {
    const changes = plan(["--base", "base", "--detailed-exitcode"]);
    expect(changes.code).toBe(2);
    expect(changes.stdout).toBe(EXPECTED_TEXT);
    expect(plan(["--base", "base", "--format", "json", "--detailed-exitcode"]).code).toBe(2);

    const none = plan(["--base", "head", "--head", "head", "--detailed-exitcode"]);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/0 to adopt, 0 to update, 0 to release, 6 unchanged/);

    // A usage error must not read as "changes".
    const usage = plan(["--base", "no-such-branch", "--detailed-exitcode"]);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/cannot read --base no-such-branch/);
    expect(plan(["--detailed-exitcode"]).code).toBe(1);
    expect(plan(["--base", "base", "--detailed-exitcode=yes"]).code).toBe(1);
  });

  it("prints help and exits 0", () => {
    const r = plan(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: connected-accounts plan --base <rev>/);
  });

  it("exits 1 when a file is invalid at the head, naming the file, line and field", () => {
    repo.write("accounts/github/leak.yaml", `id: ca_leak
toolkit: github
userId: team-platform
authScheme: BEARER_TOKEN
credentials:
  token: ${SECRETS.GH_BOT_TOKEN}
`);
    try {
      const text = plan(["--base", "base"]);
      expect(text.code).toBe(1);
      expect(text.stdout).toBe("");
      expect(text.stderr).toContain("accounts/github/leak.yaml:6:3 credentials.token: \"token\" is a literal secret");

      const json = plan(["--base", "base", "--format", "json"]);
      expect(json.code).toBe(1);
      const out = JSON.parse(json.stdout);
      expect(out.ok).toBe(false);
      expect(out.errors).toEqual([
        expect.objectContaining({ file: "accounts/github/leak.yaml", line: 6, column: 3, field: "credentials.token" }),
      ]);
    } finally {
      repo.remove("accounts/github/leak.yaml");
    }
  });

  it("intends nothing for what an observed account declares, until it is managed in full", () => {
    const seen = new GitRepo("plan-observe");
    try {
      const file = (extra: string) => `id: ca_o\ntoolkit: github\nuserId: u\nauthScheme: API_KEY\nalias: a1\n${extra}`;
      seen.write("accounts/o.yaml", file("manage: observe\ncredentials:\n  api_key: { env: A }\n"));
      seen.commit("base");
      seen.write("accounts/o.yaml", file("manage: observe\ncredentials:\n  api_key: { env: B }\n"));
      let r = runCli(["plan", "--base", "base", "--format", "json"], { cwd: seen.dir });
      expect(JSON.parse(r.stdout).accounts).toEqual([expect.objectContaining({ id: "ca_o", action: "unchanged" })]);
      seen.write("accounts/o.yaml", file("credentials:\n  api_key: { env: B }\n"));
      r = runCli(["plan", "--base", "base", "--format", "json"], { cwd: seen.dir });
      expect(JSON.parse(r.stdout).accounts).toEqual([
        expect.objectContaining({ id: "ca_o", action: "update", alias: { from: null, to: "a1" }, credentials: { added: ["api_key"], changed: [], removed: [] } }),
      ]);
    } finally {
      seen.cleanup();
    }
  });

  it("releases every account when a change deletes the whole accounts folder", () => {
    const gone = new GitRepo("plan-gone");
    try {
      gone.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: OAUTH2\n");
      gone.write("accounts/b.yaml", "id: ca_b\ntoolkit: github\nuserId: u\nauthScheme: OAUTH2\n");
      gone.commit("base");
      gone.remove("accounts");
      const r = runCli(["plan", "--base", "base", "--format", "json"], { cwd: gone.dir });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).summary).toEqual({ adopt: 0, update: 0, release: 2, unchanged: 0 });
    } finally {
      gone.cleanup();
    }
  });

  it("plans over a broken base: lists the base's problems as fixed or still present, and only the head decides the exit code", () => {
    const broken = new GitRepo("plan-broken");
    try {
      broken.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: NOT_A_SCHEME\n");
      broken.write("accounts/b.yaml", "id: ca_b\ntoolkit: github\nuserId: u\nalias: b1\nauthScheme: OAUTH2\n");
      broken.commit("base");
      broken.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: OAUTH2\n");
      broken.write("accounts/b.yaml", "id: ca_b\ntoolkit: github\nuserId: u\nalias: b2\nauthScheme: OAUTH2\n");
      const json = runCli(["plan", "--base", "base", "--format", "json"], { cwd: broken.dir });
      expect(json.code).toBe(0);
      const out = JSON.parse(json.stdout);
      expect(out.summary).toEqual({ adopt: 1, update: 1, release: 0, unchanged: 0 });
      expect(out.baseProblems).toEqual([expect.objectContaining({ file: "base:accounts/a.yaml", line: 4, field: "authScheme", status: "fixed" })]);

      const text = runCli(["plan", "--base", "base"], { cwd: broken.dir });
      expect(text.code).toBe(0);
      expect(text.stdout).toContain('fixed at the base: base:accounts/a.yaml:4:1 authScheme: unknown auth scheme "NOT_A_SCHEME"\n');
      expect(text.stdout).toMatch(/Plan \(base → working tree\): 1 to adopt, 1 to update, 0 to release, 0 unchanged; 1 problem of the base: 1 fixed by this change, 0 still present\.\n$/);

      const md = runCli(["plan", "--base", "base", "--format", "markdown"], { cwd: broken.dir });
      expect(md.code).toBe(0);
      expect(md.stdout).toContain("**1 problem of the base: 1 fixed by this change, 0 still present.**");

      // Still broken at the head: exit 1 from the head's problem, which was already at the base.
      broken.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: NOT_A_SCHEME\n");
      const still = runCli(["plan", "--base", "base", "--format", "json"], { cwd: broken.dir });
      expect(still.code).toBe(1);
      const stillOut = JSON.parse(still.stdout);
      expect(stillOut.errors).toEqual([expect.objectContaining({ file: "accounts/a.yaml", field: "authScheme" })]);
      expect(stillOut.baseProblems).toEqual([expect.objectContaining({ file: "base:accounts/a.yaml", status: "still present" })]);
    } finally {
      broken.cleanup();
    }
  });

  it("flags an authScheme change on the same id as an error in every format, with the provider's fix", () => {
    const repo = new GitRepo("plan-scheme");
    try {
      repo.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: API_KEY\ncredentials:\n  api_key: { env: A }\n");
      repo.commit("base");
      repo.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: BEARER_TOKEN\ncredentials:\n  token: { env: A }\n");
      const message = "connected account ca_a: authScheme cannot change from API_KEY to BEARER_TOKEN; Composio keeps the scheme an account was connected with";
      const fix = "put back the recorded scheme, or connect a new account with the new scheme and point the file at its id";
      const json = runCli(["plan", "--base", "base", "--format", "json"], { cwd: repo.dir });
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout).errors).toEqual([{ file: "accounts/a.yaml", line: 4, column: 1, field: "authScheme", message, fix }]);
      const text = runCli(["plan", "--base", "base"], { cwd: repo.dir });
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`refused: accounts/a.yaml:4:1 authScheme: ${message}\n    fix: ${fix}\n`);
      expect(text.stdout).toContain("; 1 change pulumi will refuse.");
      const md = runCli(["plan", "--base", "base", "--format", "markdown"], { cwd: repo.dir });
      expect(md.code).toBe(1);
      expect(md.stdout).toContain("> [!CAUTION]\n> **1 change `pulumi preview` will refuse:**\n> - `accounts/a.yaml` line 4: connected account ca\\_a: authScheme cannot change from API\\_KEY to BEARER\\_TOKEN;");
    } finally {
      repo.cleanup();
    }
  });

  it("tells lifecycle changes honestly: observe stops writing, a paused account's changes wait, unpausing applies them", () => {
    const repo = new GitRepo("plan-lifecycle");
    try {
      const file = (id: string, extra: string) => `id: ${id}\ntoolkit: github\nuserId: u\nalias: ${id}-x\nauthScheme: API_KEY\n${extra}credentials:\n  api_key: { env: A }\n  base_url: https://api.github.com\n`;
      repo.write("accounts/o.yaml", file("ca_o", ""));
      repo.write("accounts/p.yaml", file("ca_p", "paused: true\n"));
      repo.write("accounts/u.yaml", file("ca_u", "paused: true\n"));
      repo.commit("base");
      repo.write("accounts/o.yaml", file("ca_o", "manage: observe\n"));
      repo.write("accounts/p.yaml", file("ca_p", "paused: true\n").replace("ca_p-x", "ca_p-y"));
      repo.write("accounts/u.yaml", file("ca_u", ""));
      const text = runCli(["plan", "--base", "base"], { cwd: repo.dir });
      expect(text.code).toBe(0);
      expect(text.stdout.split("\n").slice(0, 3)).toEqual([
        'update    ca_o  accounts/o.yaml: only read from now on: nothing is written, Composio is left as it is; manage "full" → "observe"',
        'update    ca_p  accounts/p.yaml: paused: nothing is sent; these changes wait until it is unpaused; alias "ca_p-x" → "ca_p-y"',
        "update    ca_u  accounts/u.yaml: unpausing applies these changes and any made while it was paused; paused true → false",
      ]);
      const json = JSON.parse(runCli(["plan", "--base", "base", "--format", "json"], { cwd: repo.dir }).stdout);
      expect(json.accounts.map((a: { id: string; lifecycle?: string; alias?: unknown; credentials: unknown }) => [a.id, a.lifecycle, a.alias, a.credentials])).toEqual([
        ["ca_o", "observe", undefined, { added: [], changed: [], removed: [] }],
        ["ca_p", "paused", { from: "ca_p-x", to: "ca_p-y" }, { added: [], changed: [], removed: [] }],
        ["ca_u", "unpaused", undefined, { added: [], changed: [], removed: [] }],
      ]);
      const md = runCli(["plan", "--base", "base", "--format", "markdown"], { cwd: repo.dir }).stdout;
      expect(md).toContain("| `ca_o` | `accounts/o.yaml` | update (observe only) |  |  |");
      expect(md).toContain("| `ca_p` | `accounts/p.yaml` | update (waits until unpaused) | `ca_p-x` → `ca_p-y` |  |");
    } finally {
      repo.cleanup();
    }
  });

  it("shows enabled changes: disabling goes first, enabling goes last and does not repair a broken connection", () => {
    const repo = new GitRepo("plan-enabled");
    try {
      const file = (id: string, extra: string) => `id: ${id}\ntoolkit: github\nuserId: u\nalias: ${id}-x\nauthScheme: API_KEY\n${extra}`;
      repo.write("accounts/d.yaml", file("ca_d", "enabled: true\n"));
      repo.write("accounts/e.yaml", file("ca_e", "enabled: false\n"));
      repo.write("accounts/o.yaml", file("ca_o", "manage: observe\n"));
      repo.write("accounts/u.yaml", file("ca_u", "enabled: false\n"));
      repo.commit("base");
      repo.write("accounts/d.yaml", file("ca_d", "enabled: false\n"));
      repo.write("accounts/e.yaml", file("ca_e", "enabled: true\n"));
      repo.write("accounts/n.yaml", file("ca_n", "enabled: false\n"));
      repo.write("accounts/o.yaml", file("ca_o", "manage: observe\nenabled: false\n"));
      repo.write("accounts/u.yaml", file("ca_u", ""));
      const text = runCli(["plan", "--base", "base"], { cwd: repo.dir });
      expect(text.code).toBe(0);
      expect(text.stdout).toBe([
        "update    ca_d  accounts/d.yaml: enabled true → false (disabled before anything else is sent)",
        "update    ca_e  accounts/e.yaml: enabled false → true (enabled after everything else is sent; enabling does not repair an EXPIRED or FAILED connection)",
        'adopt     ca_n  accounts/n.yaml: alias unmanaged → "ca_n-x"; enabled unmanaged → false (disabled before anything else is sent)',
        "update    ca_u  accounts/u.yaml: enabled false → unmanaged",
        "Plan (base → working tree): 1 to adopt, 3 to update, 0 to release, 1 unchanged.",
        "",
      ].join("\n"));
      const json = JSON.parse(runCli(["plan", "--base", "base", "--format", "json"], { cwd: repo.dir }).stdout);
      expect(json.accounts.map((a: { id: string; action: string; enabled?: unknown }) => [a.id, a.action, a.enabled])).toEqual([
        ["ca_d", "update", { from: true, to: false }],
        ["ca_e", "update", { from: false, to: true }],
        ["ca_n", "adopt", { from: null, to: false }],
        ["ca_o", "unchanged", undefined],
        ["ca_u", "update", { from: false, to: null }],
      ]);
      const md = runCli(["plan", "--base", "base", "--format", "markdown"], { cwd: repo.dir }).stdout;
      expect(md).toContain("| `ca_d` | `accounts/d.yaml` | update (disables) |  |  |");
      expect(md).toContain("| `ca_e` | `accounts/e.yaml` | update (enables) |  |  |");
      expect(md).toContain("  - enabled: `false` → `true` (enabled after everything else is sent; enabling does not repair an EXPIRED or FAILED connection)");
      expect(md).toContain("| `ca_u` | `accounts/u.yaml` | update |  |  |");
    } finally {
      repo.cleanup();
    }
  });

  it("escapes control characters from file names in text output, so a name cannot forge a plan line", () => {
    const repo = new GitRepo("plan-escape");
    try {
      repo.commit("base");
      const forged = "x.yaml\nrelease   ca_prod  accounts/prod.yaml\x1b[2K";
      repo.write(`accounts/${forged}.yaml`, "id: ca_e\ntoolkit: github\nuserId: u\nauthScheme: OAUTH2\n");
      const r = runCli(["plan", "--base", "base"], { cwd: repo.dir });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("adopt     ca_e  accounts/x.yaml\\x0arelease   ca_prod  accounts/prod.yaml\\x1b[2K.yaml\nPlan (base → working tree): 1 to adopt, 0 to update, 0 to release, 0 unchanged.\n");
      repo.write(`accounts/${forged}.yaml`, "id: ca_e\ntoolkit: github\nuserId: u\nauthScheme: OAUTH2\ncolour: blue\n");
      const v = runCli(["validate"], { cwd: repo.dir });
      expect(v.stdout.split("\n")[0]).toBe('accounts/x.yaml\\x0arelease   ca_prod  accounts/prod.yaml\\x1b[2K.yaml:5:1 colour: unknown field "colour"');
    } finally {
      repo.cleanup();
    }
  });

  it("exits 2 outside a git repository", () => {
    const dir = fs.mkdtempSync(path.join(repo.dir, "..", "ca-nogit-"));
    try {
      const r = runCli(["plan", "--base", "main"], { cwd: dir, env: { GIT_CEILING_DIRECTORIES: path.dirname(dir) } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/not inside a git repository/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("never prints a secret value the references point to", () => {
    expect(outputs.length).toBeGreaterThan(5);
    const printed = outputs.map((o) => o.stdout + o.stderr).join("\n");
    for (const secret of Object.values(SECRETS)) expect(printed).not.toContain(secret);
    expect(printed).not.toContain("bq-SECRET-666");
  });
});

describe("connected-accounts plan with many files", () => {
  it("reads hundreds of files through git quickly and stays quiet when stderr is not a terminal", () => {
    const repo = new GitRepo("plan-many");
    try {
      const account = (i: number, alias: string) => `id: ca_${i}\ntoolkit: github\nuserId: user-${i}\nalias: ${alias}\nauthScheme: OAUTH2\n`;
      for (let i = 0; i < 300; i++) repo.write(`accounts/team-${i % 7}/account-${i}.yaml`, account(i, `a-${i}`));
      repo.commit("base");
      for (let i = 0; i < 300; i += 3) repo.write(`accounts/team-${i % 7}/account-${i}.yaml`, account(i, `b-${i}`));
      repo.commit("head");
      for (const env of [{} as Record<string, string>, { CI: "true" }]) {
        const r = runCli(["plan", "--base", "base", "--head", "head", "--format", "json"], { cwd: repo.dir, env });
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).summary).toEqual({ adopt: 0, update: 100, release: 0, unchanged: 200 });
      }
      const md = runCli(["plan", "--base", "base", "--format", "markdown"], { cwd: repo.dir });
      expect(md.stderr).toBe("");
      expect(md.stdout.length).toBeLessThanOrEqual(65_536);
    } finally {
      repo.cleanup();
    }
  });
});
