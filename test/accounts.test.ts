import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NON_SECRET_FIELDS, PATCHABLE_SCHEMES, AUTH_SCHEMES } from "../provider/accounts/fields";
import { loadAccounts, MAX_ACCOUNT_FILE_BYTES } from "../provider/accounts/load";
import { formatProblem } from "../provider/accounts/problem";
import { resolveCredentials } from "./support/references";
import schema from "../provider/schema/account.schema.json";
import { PROJECT_ROOT, Workspace } from "./support/workspace";

let ws: Workspace;
beforeEach(() => {
  ws = new Workspace("accounts");
});
afterEach(() => ws.cleanup());

const load = () => loadAccounts({ dir: ws.accountsDir, repoRoot: PROJECT_ROOT, displayBase: ws.dir });
const valid = (extra: string) => `id: ca_abc123\ntoolkit: github\nuserId: team-a\nauthScheme: API_KEY\n${extra}`;

describe("account files: one problem per mistake, with file, line, field and fix", () => {
  it("accepts the bundled example accounts", () => {
    const loaded = loadAccounts({ dir: path.join(PROJECT_ROOT, "accounts"), repoRoot: PROJECT_ROOT, displayBase: PROJECT_ROOT });
    expect(loaded.problems).toEqual([]);
    expect(loaded.accounts.map((a) => a.authScheme).sort()).toEqual(
      ["API_KEY", "BASIC", "BASIC_WITH_JWT", "BEARER_TOKEN", "GOOGLE_SERVICE_ACCOUNT", "OAUTH2", "SERVICE_ACCOUNT"],
    );
  });

  it("rejects a literal secret, naming the line of the field and how to fix it", () => {
    ws.write("gh.yaml", valid("credentials:\n  base_url: https://api.github.com\n  api_key: ghp_literalToken123\n"));
    const { problems, accounts } = load();
    expect(accounts).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "accounts/gh.yaml", line: 7, column: 3, field: "credentials.api_key" });
    expect(problems[0].message).toBe('"api_key" is a literal secret: secrets must never be written in an account file');
    expect(problems[0].fix).toContain("{ env: API_KEY }");
    expect(formatProblem(problems[0])).toMatch(/^accounts\/gh\.yaml:7:3 credentials\.api_key: "api_key" is a literal secret/);
  });

  it("treats unknown credential fields as secrets", () => {
    ws.write("gh.yaml", valid("credentials:\n  my_custom_field: plain\n"));
    expect(load().problems[0]).toMatchObject({ line: 6, field: "credentials.my_custom_field" });
    expect(load().problems[0].message).toContain("literal secret");
  });

  it("reports unknown fields, missing fields, wrong types and bad schemes together", () => {
    ws.write("a.yaml", "id: ca_a1\ntoolkit: github\nauthScheme: API_KEY\nalais: typo\n");
    ws.write("b.yaml", "id: ca_b1\ntoolkit: github\nuserId: 42\nauthScheme: API_KEYS\n");
    const { problems } = load();
    expect(problems.map((p) => [p.file, p.line, p.field, p.message])).toEqual([
      ["accounts/a.yaml", 1, "userId", 'missing required field "userId"'],
      ["accounts/a.yaml", 4, "alais", 'unknown field "alais"'],
      ["accounts/b.yaml", 3, "userId", "userId must be a string, not number"],
      ["accounts/b.yaml", 4, "authScheme", 'unknown auth scheme "API_KEYS"'],
    ]);
  });

  it("reads enabled as true, false or absent, and names a quoted or misspelled value with its fix", () => {
    ws.write("on.yaml", valid("enabled: true\n"));
    ws.write("off.yaml", valid("enabled: false\n").replace("ca_abc123", "ca_off1"));
    ws.write("none.yaml", valid("").replace("ca_abc123", "ca_none1"));
    ws.write("bad.yaml", valid('enabled: "no"\n').replace("ca_abc123", "ca_bad1"));
    const { accounts, problems } = load();
    expect(Object.fromEntries(accounts.map((a) => [a.id, a.enabled]))).toEqual({ ca_abc123: true, ca_off1: false, ca_none1: undefined });
    expect(accounts.find((a) => a.id === "ca_none1")).not.toHaveProperty("enabled");
    expect(problems.map((p) => [p.file, p.line, p.field, p.message, p.fix])).toEqual([
      ["accounts/bad.yaml", 5, "enabled", 'enabled must be true or false, not "no"', "write enabled: true or enabled: false, unquoted (or remove the line to leave it unmanaged)"],
    ]);
  });

  it("rejects an empty credentials map, non-string values and malformed references", () => {
    ws.write("a.yaml", valid("credentials: {}\n"));
    ws.write("b.yaml", valid("credentials:\n  api_key: 12345\n  subdomain: 7\n  token: { env: A, file: b }\n  password: { vault: x }\n").replace("ca_abc123", "ca_b"));
    const byField = Object.fromEntries(load().problems.map((p) => [`${p.file}#${p.field}`, p]));
    expect(byField["accounts/a.yaml#credentials"].message).toBe("credentials is empty");
    expect(byField["accounts/b.yaml#credentials.api_key"].message).toContain("is a number; credential values must be strings, references or null");
    expect(byField["accounts/b.yaml#credentials.subdomain"].fix).toBe('quote the value: subdomain: "7"');
    expect(byField["accounts/b.yaml#credentials.token"].message).toContain("use exactly one of { env: NAME }");
    expect(byField["accounts/b.yaml#credentials.password"].line).toBe(9);
  });

  it("refuses credentials for schemes PATCH does not accept, but allows their alias", () => {
    ws.write("oauth.yaml", "id: ca_o1\ntoolkit: slack\nuserId: u\nauthScheme: OAUTH2\nalias: main\ncredentials:\n  token: { env: SLACK_TOKEN }\n");
    ws.write("oauth-alias.yaml", "id: ca_o2\ntoolkit: slack\nuserId: u\nauthScheme: OAUTH2\nalias: second\n");
    const { problems, accounts } = load();
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "accounts/oauth.yaml", line: 4, field: "authScheme" });
    expect(problems[0].message).toContain("does not accept credentials for OAUTH2 accounts");
    expect(accounts.map((a) => a.id)).toEqual(["ca_o2"]);
  });

  it("finds duplicate ids and aliases reused within one user and toolkit, across files", () => {
    ws.write("one.yaml", valid("alias: prod\n"));
    ws.write("two.yaml", valid("alias: other\n"));
    ws.write("three.yaml", valid("alias: prod\n").replace("ca_abc123", "ca_three"));
    ws.write("four.yaml", valid("alias: prod\n").replace("ca_abc123", "ca_four").replace("toolkit: github", "toolkit: gitlab"));
    const messages = load().problems.map((p) => `${p.file}:${p.line} ${p.field}: ${p.message}`);
    expect(messages).toEqual([
      "accounts/three.yaml:5 alias: alias \"prod\" is already used by ca_abc123 (accounts/one.yaml) for user team-a and toolkit github",
      "accounts/two.yaml:1 id: account ca_abc123 is already declared in accounts/one.yaml",
    ]);
  });

  it("reports YAML syntax errors and duplicate keys at their position", () => {
    ws.write("dup.yaml", valid("alias: a\nalias: b\n"));
    ws.write("syntax.yaml", "id: ca_x\n  toolkit: [unclosed\n");
    const { problems } = load();
    expect(problems[0]).toMatchObject({ file: "accounts/dup.yaml", line: 6, fix: "remove or rename the repeated key" });
    expect(problems[0].message).toMatch(/^invalid YAML: Map keys must be unique/);
    expect(problems[1].file).toBe("accounts/syntax.yaml");
    expect(problems[1].message).toMatch(/^invalid YAML/);
  });

  it("refuses huge files, non-UTF-8 files and symlinks leaving the accounts folder", () => {
    ws.write("huge.yaml", valid("alias: x\n") + "#".repeat(MAX_ACCOUNT_FILE_BYTES));
    ws.write("latin1.yaml", Buffer.from("id: ca_l\ntoolkit: github\nuserId: Jos\xe9\nauthScheme: API_KEY\n", "latin1").toString("binary"));
    fs.writeFileSync(path.join(ws.accountsDir, "latin1.yaml"), Buffer.from("id: ca_l\ntoolkit: github\nuserId: Jos\xe9\nauthScheme: API_KEY\n", "latin1"));
    const outside = ws.writeRaw("outside/other.yaml", valid(""));
    fs.symlinkSync(outside, path.join(ws.accountsDir, "link.yaml"));
    const messages = load().problems.map((p) => `${p.file}: ${p.message}`);
    expect(messages).toEqual([
      expect.stringMatching(/^accounts\/huge\.yaml: is \d+ bytes; account files are limited to 262144 bytes$/),
      "accounts/latin1.yaml: is not valid UTF-8 text",
      expect.stringMatching(/^accounts\/link\.yaml: is a symbolic link to .*outside\/other\.yaml, outside the accounts folder$/),
    ]);
  });

  it("reports a link to a missing file instead of failing the whole load", () => {
    fs.symlinkSync(ws.path("nowhere.yaml"), path.join(ws.accountsDir, "dangling.yaml"));
    ws.write("ok.yaml", valid(""));
    const { problems, accounts } = load();
    expect(problems.map((p) => `${p.file}: ${p.message}`)).toEqual(["accounts/dangling.yaml: is a symbolic link to a file that does not exist"]);
    expect(accounts.map((a) => a.id)).toEqual(["ca_abc123"]);
  });

  it("refuses file references that leave the repository", () => {
    ws.write("a.yaml", valid("credentials:\n  api_key: { file: ../../../../../etc/passwd }\n"));
    const [p] = load().problems;
    expect(p).toMatchObject({ field: "credentials.api_key.file", line: 6 });
    expect(p.message).toBe('file reference "../../../../../etc/passwd" points outside the repository');
  });

  it("keeps the shipped JSON Schema in step with the field lists", () => {
    expect(Object.keys(schema.properties.credentials.properties).sort()).toEqual([...NON_SECRET_FIELDS].sort());
    expect(schema.properties.authScheme.enum).toEqual([...AUTH_SCHEMES]);
    expect(PATCHABLE_SCHEMES.every((s) => AUTH_SCHEMES.includes(s))).toBe(true);
  });
});

describe("references", () => {
  const sources = (env: Record<string, string>, config: Record<string, string> = {}) => ({
    env,
    config: (k: string) => config[k],
    repoRoot: PROJECT_ROOT,
  });

  it("resolves env, config and file references, trims one trailing newline, and lists removals", async () => {
    ws.writeRaw("keys/app.pem", "PEM-CONTENT\n");
    ws.write("a.yaml", valid("credentials:\n  api_key: { env: K }\n  token: { config: tok }\n  private_key: { file: ../keys/app.pem }\n  shop: s1\n  password: null\n"));
    const [account] = load().accounts;
    const { resolved, problems } = await resolveCredentials(account, sources({ K: "env-value" }, { tok: "config-value" }));
    expect(problems).toEqual([]);
    expect(resolved).toEqual({ values: { api_key: "env-value", token: "config-value", private_key: "PEM-CONTENT", shop: "s1" }, removed: ["password"] });
  });

  it("reports every unresolvable reference with its line and a fix", async () => {
    ws.write("a.yaml", valid("credentials:\n  api_key: { env: UNSET_VAR }\n  token: { config: missingKey }\n  private_key: { file: nope.pem }\n  bearer_token: { env: EMPTY_VAR }\n"));
    const [account] = load().accounts;
    const { problems } = await resolveCredentials(account, sources({ EMPTY_VAR: "" }));
    expect(problems.map((p) => [p.line, p.field, p.message, p.fix])).toEqual([
      [6, "credentials.api_key", "environment variable UNSET_VAR is not set", "export UNSET_VAR=... before running pulumi (in CI, map it from a repository secret)"],
      [7, "credentials.token", "stack config connected-accounts:missingKey is not set", "pulumi config set --secret connected-accounts:missingKey <value>"],
      [8, "credentials.private_key.file", expect.stringMatching(/^file nope\.pem does not exist/), "create the file, or correct the path (it is relative to the account file)"],
      [9, "credentials.bearer_token", "environment variable EMPTY_VAR is empty", "set EMPTY_VAR to the credential value; an empty value is never sent"],
    ]);
  });

  it("refuses a secret file that links outside the repository", async () => {
    fs.symlinkSync("/etc/hostname", ws.path("leak.pem"));
    ws.write("a.yaml", valid("credentials:\n  private_key: { file: ../leak.pem }\n"));
    const [account] = load().accounts;
    const { problems } = await resolveCredentials(account, sources({}));
    expect(problems[0].message).toBe("file ../leak.pem links outside the repository");
  });
});
