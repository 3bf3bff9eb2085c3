/**
 * `connected-accounts validate` end to end: fixture repositories, the compiled CLI as a child process.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitRepo, runCli, type CliResult } from "./support/git-repo";

const LITERAL_SECRET = "ghp_LITERALsecret999";
const ENV_SECRET = "shpat_ENVsecret888";
const FILE_SECRET = "file-SECRET-777";

const VALID: Record<string, string> = {
  "accounts/github/bot.yaml": "id: ca_bot\ntoolkit: github\nuserId: team\nalias: bot\nauthScheme: BEARER_TOKEN\ncredentials:\n  token: { env: GH_BOT_TOKEN }\n  base_url: https://api.github.com\n",
  "accounts/github/app.yaml": "id: ca_app\ntoolkit: github\nuserId: release\nauthScheme: SERVICE_ACCOUNT\ncredentials:\n  private_key: { file: ../../secrets/app.pem }\n",
  "accounts/slack.yml": "id: ca_slack\ntoolkit: slack\nuserId: team\nalias: main\nauthScheme: OAUTH2\n",
};

const INVALID: Record<string, string> = {
  "accounts/broken.yaml": "id: ca_broken\ntoolkit: [unclosed\n",
  "accounts/dup.yaml": "id: ca_two\ntoolkit: slack\nuserId: team\nauthScheme: OAUTH2\n",
  "accounts/leak.yaml": `id: ca_leak\ntoolkit: github\nuserId: team\nauthScheme: BEARER_TOKEN\ncredentials:\n  token: ${LITERAL_SECRET}\n`,
  "accounts/one.yaml": "id: ca_one\ntoolkit: github\nuserId: team\nalias: shared\nauthScheme: API_KEY\ncredentials:\n  api_key: { env: SHOP_KEY }\n",
  "accounts/outside.yaml": "id: ca_out\ntoolkit: github\nuserId: team\nauthScheme: API_KEY\ncredentials:\n  api_key: { file: ../../outside.txt }\n",
  "accounts/two.yaml": "id: ca_two\ntoolkit: github\nuserId: team\nalias: shared\nauthScheme: OAUTH2\n",
  "accounts/unknown.yaml": "id: ca_unknown\ntoolkit: github\nuserId: team\nauthScheme: OAUTH2\ncolour: blue\n",
};

const EXPECTED_ERRORS = [
  // Where the list that is never closed opens, not the end of the file.
  { file: "accounts/broken.yaml", line: 2, column: 10, field: "", message: expect.stringMatching(/^invalid YAML: /) },
  { file: "accounts/leak.yaml", line: 6, column: 3, field: "credentials.token", message: expect.stringContaining('"token" is a literal secret') },
  { file: "accounts/outside.yaml", line: 6, column: 14, field: "credentials.api_key.file", message: expect.stringContaining("points outside the repository") },
  { file: "accounts/two.yaml", line: 1, column: 1, field: "id", message: "account ca_two is already declared in accounts/dup.yaml" },
  { file: "accounts/two.yaml", line: 4, column: 1, field: "alias", message: expect.stringContaining('alias "shared" is already used by ca_one') },
  { file: "accounts/unknown.yaml", line: 5, column: 1, field: "colour", message: 'unknown field "colour"' },
].map((e) => ({ ...e, fix: expect.any(String) }));

describe("connected-accounts validate", () => {
  let valid: GitRepo;
  let invalid: GitRepo;
  const outputs: CliResult[] = [];
  const validate = (args: string[], cwd: string): CliResult => {
    const result = runCli(["validate", ...args], { cwd, env: { GH_BOT_TOKEN: ENV_SECRET, SHOP_KEY: ENV_SECRET } });
    outputs.push(result);
    return result;
  };

  beforeAll(() => {
    valid = new GitRepo("validate-ok");
    for (const [file, text] of Object.entries(VALID)) valid.write(file, text);
    valid.write("secrets/app.pem", FILE_SECRET);
    valid.write(".gitignore", "secrets/\n");
    valid.write("docs/deep/README.md", "a folder far from accounts/\n");
    valid.commit("v1");
    invalid = new GitRepo("validate-bad");
    for (const [file, text] of Object.entries(INVALID)) invalid.write(file, text);
  });
  afterAll(() => {
    valid.cleanup();
    invalid.cleanup();
  });

  it("exits 0 and counts the files when every file is valid", () => {
    const text = validate([], valid.dir);
    expect(text).toEqual({ code: 0, stdout: "3 account files valid\n", stderr: "" });
    const json = validate(["--format", "json"], valid.dir);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, files: 3, errors: [] });
  });

  it("finds accounts/ at the repository root from any folder inside it", () => {
    const r = validate(["--format=json"], path.join(valid.dir, "docs/deep"));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, files: 3, errors: [] });
  });

  it("in a larger repository, uses the accounts/ and the bounds of the project holding Pulumi.yaml", () => {
    const mono = new GitRepo("validate-mono");
    try {
      mono.write("infra/ca/Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\n");
      for (const [file, text] of Object.entries(VALID)) mono.write(`infra/ca/${file}`, text);
      mono.write("infra/ca/secrets/app.pem", FILE_SECRET);
      mono.write(".gitignore", "secrets/\n");
      // Inside the repository but outside the project: as `pulumi up` would, validate refuses it.
      mono.write("infra/ca/accounts/shared.yaml", "id: ca_shared\ntoolkit: jira\nuserId: team\nauthScheme: API_KEY\ncredentials:\n  api_key: { file: ../../../shared.key }\n");
      mono.commit("v1");
      const r = validate(["--format", "json"], path.join(mono.dir, "infra/ca/accounts/github"));
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: false, files: 4,
        errors: [{ file: "../shared.yaml", field: "credentials.api_key.file", message: 'file reference "../../../shared.key" points outside the repository' }],
      });
    } finally {
      mono.cleanup();
    }
  });

  it("takes --dir relative to the working directory", () => {
    const r = validate(["--dir", "github"], path.join(valid.dir, "accounts"));
    expect(r).toEqual({ code: 0, stdout: "2 account files valid\n", stderr: "" });
  });

  it("reports every problem with file, line, column, field, message and fix (JSON)", () => {
    const r = validate(["--format", "json"], invalid.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(["ok", "files", "errors"]);
    expect(out).toEqual({ ok: false, files: 7, errors: EXPECTED_ERRORS });
    for (const e of out.errors) expect(Object.keys(e)).toEqual(["file", "line", "column", "field", "message", "fix"]);
  });

  it("prints each problem, then a summary line (text), with paths relative to the working directory", () => {
    const r = validate([], path.join(invalid.dir, "accounts"));
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[lines.length - 1]).toBe("6 errors in 7 files");
    expect(lines.filter((l) => l.startsWith("    fix: "))).toHaveLength(6);
    expect(lines).toContain('leak.yaml:6:3 credentials.token: "token" is a literal secret: secrets must never be written in an account file');
    expect(lines).toContain("two.yaml:1:1 id: account ca_two is already declared in dup.yaml");
  });

  it("exits 2 when the accounts folder does not exist, saying where it was looked for", () => {
    const r = validate(["--dir", "nowhere"], valid.dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("connected-accounts validate: the accounts folder nowhere (given with --dir) does not exist: create it, or name the folder holding your account files with --dir or --stack\n");
  });

  it("reports every problem in one round: cross-file rules also run on a file with other problems", () => {
    const repo = new GitRepo("validate-round");
    try {
      repo.write("accounts/first.yaml", "id: ca_one\ntoolkit: github\nuserId: team\nalias: shared\nauthScheme: OAUTH2\n");
      // A literal secret, and the alias of first.yaml.
      repo.write("accounts/second.yaml", `id: ca_two\ntoolkit: github\nuserId: team\nalias: shared\nauthScheme: BEARER_TOKEN\ncredentials:\n  token: ${LITERAL_SECRET}\n`);
      // An unknown field, and the id of first.yaml.
      repo.write("accounts/third.yaml", "id: ca_one\ntoolkit: slack\nuserId: team\nauthScheme: OAUTH2\ncolour: blue\n");
      const r = validate(["--format", "json"], repo.dir);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).errors.map((e: { file: string; line: number; field: string }) => [e.file, e.line, e.field])).toEqual([
        ["accounts/second.yaml", 4, "alias"],
        ["accounts/second.yaml", 7, "credentials.token"],
        ["accounts/third.yaml", 1, "id"],
        ["accounts/third.yaml", 5, "colour"],
      ]);
    } finally {
      repo.cleanup();
    }
  });

  it("bounds file references by the working directory outside a git repository", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-nogit-"));
    try {
      fs.mkdirSync(path.join(dir, "accounts"));
      fs.writeFileSync(path.join(dir, "accounts/out.yaml"), INVALID["accounts/outside.yaml"].replace("../../outside.txt", "../../x"));
      fs.writeFileSync(path.join(dir, "accounts/in.yaml"), INVALID["accounts/outside.yaml"].replace("ca_out", "ca_in").replace("../../outside.txt", "../x"));
      const r = runCli(["validate", "--format", "json"], { cwd: dir, env: { GIT_CEILING_DIRECTORIES: path.dirname(dir) } });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).errors).toEqual([expect.objectContaining({ file: "accounts/out.yaml", field: "credentials.api_key.file" })]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 on usage errors", () => {
    for (const args of [["--format", "yaml"], ["--strict"], ["--dir"], ["accounts"], ["--format="]]) {
      const r = validate(args, valid.dir);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/usage: connected-accounts validate/);
    }
    expect(validate(["--format", "yaml"], valid.dir).stderr).toMatch(/^connected-accounts validate: unknown format "yaml" \(use text, json\)/);
  });

  it("never prints a secret: not a literal one from a file, not one a reference points to", () => {
    expect(outputs.length).toBeGreaterThan(5);
    const printed = outputs.map((o) => o.stdout + o.stderr).join("\n");
    for (const secret of [LITERAL_SECRET, ENV_SECRET, FILE_SECRET]) expect(printed).not.toContain(secret);
  });
});
