/**
 * Hostile account files and `file:` references: each gets a
 * problem naming the file, line and field, in `validate` and in the program's reference resolution
 * alike, and nothing is read before its target has been checked.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadAccounts } from "../provider/project/account-files";
import { planPatch } from "../provider/plan/patch-plan";
import { resolveCredentials } from "./support/references";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { startSandbox } from "../provider/sandbox/server";
import { GitRepo, runCli } from "./support/git-repo";
import { runCliAsync } from "./support/hostile-api";

const account = (ref: string, id = `ca_${ref.replace(/[^a-z]/g, "")}`) =>
  `id: ${id}\ntoolkit: github\nuserId: team\nauthScheme: SERVICE_ACCOUNT\ncredentials:\n  application_id: "1"\n  private_key: { file: ${ref} }\n`;

/** Loads one account file as the program does and resolves its references. */
async function resolveIn(repo: GitRepo, file: string) {
  const loaded = loadAccounts({ dir: path.join(repo.dir, "accounts"), repoRoot: repo.dir, displayBase: repo.dir });
  const acct = loaded.accounts.find((a) => a.file === file)!;
  return { loaded, ...(await resolveCredentials(acct, { env: {}, config: () => undefined, repoRoot: repo.dir })) };
}

describe("file: references are checked before they are opened", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("hostile-files");
    repo.write(".gitignore", "secrets/\n");
    repo.write("accounts/zero.yaml", account("../secrets/zero.pem"));
    repo.write("accounts/fifo.yaml", account("../secrets/pipe.pem"));
    repo.write("accounts/dir.yaml", account("../secrets/folder"));
    repo.write("accounts/big.yaml", account("../secrets/big.pem"));
    repo.write("accounts/out.yaml", account("../secrets/out.pem"));
    repo.write("secrets/folder/x", "x");
    repo.write("secrets/big.pem", "k".repeat(64 * 1024 + 1));
    fs.symlinkSync("/dev/zero", path.join(repo.dir, "secrets/zero.pem"));
    fs.symlinkSync("/etc/hostname", path.join(repo.dir, "secrets/out.pem"));
    execFileSync("mkfifo", [path.join(repo.dir, "secrets/pipe.pem")]);
    repo.commit("v1");
  });
  afterAll(() => repo.cleanup());

  const expected = [
    ["accounts/big.yaml", "file ../secrets/big.pem is 65537 bytes; secret files are limited to 65536 bytes"],
    ["accounts/dir.yaml", "file ../secrets/folder is a folder, not a regular file"],
    ["accounts/fifo.yaml", "file ../secrets/pipe.pem is a named pipe (FIFO), not a regular file"],
    ["accounts/out.yaml", "file ../secrets/out.pem links outside the repository"],
    ["accounts/zero.yaml", "file ../secrets/zero.pem links outside the repository"],
  ];

  it("validate reports each, with file, line and field, and exits 1 (a FIFO does not hang it)", () => {
    const r = runCli(["validate", "--format", "json"], { cwd: repo.dir });
    expect(r.code).toBe(1);
    const errors = JSON.parse(r.stdout).errors as { file: string; line: number; field: string; message: string; fix: string }[];
    expect(errors.map((e) => [e.file, e.message])).toEqual(expected);
    for (const e of errors) expect(e).toMatchObject({ line: 7, field: "credentials.private_key.file", fix: expect.any(String) });
  });

  it("the program's resolution refuses the same targets, without reading them", async () => {
    for (const [file, message] of expected) {
      const { problems } = await resolveIn(repo, file);
      expect(problems.map((p) => [p.field, p.line, p.message])).toEqual([["credentials.private_key.file", 7, message]]);
    }
  });
});

describe("secret files are sent exactly, or refused", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("secret-text");
    repo.write(".gitignore", "secrets/\n");
    repo.write("accounts/bom.yaml", account("../secrets/bom.pem"));
    repo.write("accounts/der.yaml", account("../secrets/key.der"));
    repo.write("accounts/nul.yaml", account("../secrets/nul.txt"));
    fs.mkdirSync(path.join(repo.dir, "secrets"));
    fs.writeFileSync(path.join(repo.dir, "secrets/bom.pem"), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("-----BEGIN KEY-----\nabc\n-----END KEY-----\n")]));
    fs.writeFileSync(path.join(repo.dir, "secrets/key.der"), Buffer.from([0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00, 0xc3, 0xff, 0xfe]));
    fs.writeFileSync(path.join(repo.dir, "secrets/nul.txt"), "abc\0def");
  });
  afterAll(() => repo.cleanup());

  it("drops one leading byte-order mark and one trailing newline", async () => {
    const { resolved, problems } = await resolveIn(repo, "accounts/bom.yaml");
    expect(problems).toEqual([]);
    expect(resolved.values.private_key).toBe("-----BEGIN KEY-----\nabc\n-----END KEY-----");
  });

  it("refuses a binary file (not UTF-8, or with NUL bytes) with a fix, instead of sending it altered", async () => {
    const der = (await resolveIn(repo, "accounts/der.yaml")).problems;
    expect(der.map((p) => [p.file, p.line, p.field, p.message])).toEqual([["accounts/der.yaml", 7, "credentials.private_key.file", "file secrets/key.der is not UTF-8 text; credentials are sent as text"]]);
    expect(der[0].fix).toBe("base64-encode it (base64 -w0 key.der > key.der.b64), reference the encoded file, and make sure the toolkit expects base64");
    expect((await resolveIn(repo, "accounts/nul.yaml")).problems.map((p) => p.message)).toEqual(["file secrets/nul.txt holds NUL bytes: it is binary, not text; credentials are sent as text"]);
  });
});

describe("a file: reference to a file git tracks is a committed secret", () => {
  it("validate refuses it (directly or through a link), naming file, line, field, and the fix", () => {
    const repo = new GitRepo("committed-secret");
    try {
      repo.write("accounts/a.yaml", account("../keys/app.pem"));
      repo.write("accounts/b.yaml", account("../secrets/link.pem"));
      repo.write("keys/app.pem", "committed-key");
      repo.write(".gitignore", "secrets/\n");
      fs.mkdirSync(path.join(repo.dir, "secrets"));
      fs.symlinkSync("../keys/app.pem", path.join(repo.dir, "secrets/link.pem"));
      repo.commit("v1");
      const r = runCli(["validate"], { cwd: repo.dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe(
        "accounts/a.yaml:7:18 credentials.private_key.file: file ../keys/app.pem is tracked by git (keys/app.pem): the secret is committed\n" +
          "    fix: untrack it (git rm --cached keys/app.pem), ignore it (keep secret files in a git-ignored folder such as secrets/), and rotate the credential: it stays in the history\n" +
          "accounts/b.yaml:7:18 credentials.private_key.file: file ../secrets/link.pem is tracked by git (keys/app.pem): the secret is committed\n" +
          "    fix: untrack it (git rm --cached keys/app.pem), ignore it (keep secret files in a git-ignored folder such as secrets/), and rotate the credential: it stays in the history\n" +
          "2 errors in 2 files\n",
      );
      repo.git("rm", "--cached", "--quiet", "keys/app.pem");
      repo.write(".gitignore", "secrets/\nkeys/\n");
      expect(runCli(["validate"], { cwd: repo.dir })).toMatchObject({ code: 0, stdout: "2 account files valid\n" });
    } finally {
      repo.cleanup();
    }
  });
});

const ok = (extra = "", id = "ca_ok1") => `id: ${id}\ntoolkit: github\nuserId: team\nauthScheme: API_KEY\n${extra}`;

describe("hostile YAML is a problem of its file; the other files are still checked", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("hostile-yaml");
    repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\n");
    repo.write("accounts/a-valid.yaml", ok());
    repo.write("accounts/b-bomb.yaml", `${ok("", "ca_bomb")}alias: x\nnote: &a [1, 2]\nmore: [${Array(60).fill("*a").join(", ")}]\n`);
    repo.write("accounts/c-unresolved.yaml", "id: ca_unres\ntoolkit: github\nuserId: *nobody\nauthScheme: API_KEY\n");
    repo.write("accounts/d-tag.yaml", "id: ca_tag\ntoolkit: github\nuserId: team\nalias: !!js/function 'function () {}'\nauthScheme: !custom API_KEY\n");
    repo.write("accounts/e-control.yaml", 'id: ca_ctl\ntoolkit: github\nuserId: "team\\e[31m"\nalias: "a\\0b"\nauthScheme: API_KEY\n');
    repo.write("accounts/f-literal.yaml", ok("credentials:\n  api_key: sk_literal_0001\n", "ca_lit"));
    repo.write("accounts/folder/inner.yaml", ok("", "ca_inner"));
    fs.symlinkSync("folder", path.join(repo.dir, "accounts/g-dir.yaml"));
    execFileSync("mkfifo", [path.join(repo.dir, "accounts/pipe")]);
    fs.symlinkSync("pipe", path.join(repo.dir, "accounts/h-fifo.yaml"));
  });
  afterAll(() => repo.cleanup());

  it("validate --format json stays JSON and lists every file's problem with its line and field", () => {
    const r = runCli(["validate", "--format", "json"], { cwd: repo.dir });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { files: number; errors: { file: string; line: number; field: string; message: string }[] };
    expect(out.files).toBe(9);
    expect(out.errors.map(({ file, line, field, message }) => [file, line, field, message])).toEqual([
      ["accounts/b-bomb.yaml", 7, "more", "YAML aliases are used too often (more than 50 expansions)"],
      ["accounts/c-unresolved.yaml", 3, "userId", "a YAML alias (*name) here has no anchor (&name) before it"],
      ["accounts/d-tag.yaml", 4, "alias", 'YAML tag "tag:yaml.org,2002:js/function" is not allowed'],
      ["accounts/d-tag.yaml", 5, "authScheme", 'YAML tag "!custom" is not allowed'],
      ["accounts/e-control.yaml", 3, "userId", 'userId "team\\u001b[31m" holds control characters'],
      ["accounts/e-control.yaml", 4, "alias", 'alias "a\\u0000b" holds control characters'],
      ["accounts/f-literal.yaml", 6, "credentials.api_key", '"api_key" is a literal secret: secrets must never be written in an account file'],
      ["accounts/g-dir.yaml", 1, "", "is a symbolic link to a folder, not an account file"],
      ["accounts/h-fifo.yaml", 1, "", "is not a regular file (a named pipe, device or socket)"],
    ]);
  });

  it("the program's loader and the sandbox's seeding go on past them", () => {
    const loaded = loadAccounts({ dir: path.join(repo.dir, "accounts"), repoRoot: repo.dir, displayBase: repo.dir });
    expect(loaded.accounts.map((a) => a.id)).toEqual(["ca_ok1", "ca_inner"]);
    expect(seedFromAccountsDir(path.join(repo.dir, "accounts"), repo.dir).map((s) => s.id)).toEqual(["ca_ok1", "ca_inner"]);
  });

  it("plan reports an alias bomb at the head as that file's problem, with exit 1", () => {
    const plan = new GitRepo("hostile-plan");
    try {
      plan.write("accounts/a.yaml", ok());
      plan.commit("v1");
      plan.write("accounts/b.yaml", `${ok("", "ca_b")}note: &a [1]\nmore: [${Array(60).fill("*a").join(", ")}]\n`);
      const r = runCli(["plan", "--base", "v1", "--format", "json"], { cwd: plan.dir });
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).errors).toEqual([
        { file: "accounts/b.yaml", line: 6, column: 8, field: "more", message: "YAML aliases are used too often (more than 50 expansions)", fix: "write the values out; an account file needs no anchors or aliases" },
      ]);
    } finally {
      plan.cleanup();
    }
  });
});

describe("credential keys named like object internals", () => {
  it("__proto__ is refused with its line, instead of silently never being sent", () => {
    const repo = new GitRepo("proto");
    try {
      repo.write("accounts/a.yaml", ok("credentials:\n  __proto__: { env: A }\n  api_key: { env: B }\n"));
      const r = runCli(["validate"], { cwd: repo.dir });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('accounts/a.yaml:6:3 credentials.__proto__: credential field "__proto__" cannot be used: it names the prototype of every JavaScript object');
    } finally {
      repo.cleanup();
    }
  });

  it("constructor and toString set to null are removed once, then never sent again", () => {
    const desired = { nanoid: "ca_x", toolkit: "github", userId: "u", authScheme: "API_KEY", credentials: {}, removedCredentials: ["constructor", "toString"], fingerprints: {} };
    expect(planPatch(undefined, desired).body).toEqual({ connection: { state: { authScheme: "API_KEY", val: { constructor: null, toString: null } } } });
    expect(planPatch(desired, desired).body).toBeUndefined();
  });

  it("plan shows an added constructor key as added", () => {
    const repo = new GitRepo("proto-plan");
    try {
      repo.write("accounts/a.yaml", ok("credentials:\n  api_key: { env: B }\n"));
      repo.commit("v1");
      repo.write("accounts/a.yaml", ok("credentials:\n  api_key: { env: B }\n  constructor: { env: C }\n  valueOf: null\n"));
      const r = runCli(["plan", "--base", "v1", "--format", "json"], { cwd: repo.dir });
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).accounts[0].credentials).toEqual({ added: ["constructor"], changed: [], removed: ["valueOf"] });
    } finally {
      repo.cleanup();
    }
  });
});

describe("the sandbox's --state file", () => {
  it("removes temp files a killed sandbox left (plaintext credentials), keeping a live writer's", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-state-"));
    try {
      const statePath = path.join(dir, "state.json");
      // A pid that surely ended: a child process that has exited.
      const deadPid = spawnSync(process.execPath, ["-e", ""]).pid!;
      const stale = path.join(dir, `state.json.${deadPid}.0a1b2c3d.tmp`);
      const live = path.join(dir, `state.json.${process.ppid}.4e5f6a7b.tmp`);
      fs.writeFileSync(stale, '{"accounts":[{"val":{"api_key":"plaintext-left-behind"}}]}');
      fs.writeFileSync(live, "{}");
      fs.writeFileSync(path.join(dir, "other.json.1.0a.tmp"), "{}");
      const sandbox = await startSandbox({ apiKey: "k", statePath, accounts: [{ id: "ca_s1", toolkit: "github", userId: "u", authScheme: "API_KEY" }] });
      await sandbox.close();
      expect(fs.readdirSync(dir).sort()).toEqual(["other.json.1.0a.tmp", "state.json", `state.json.${process.ppid}.4e5f6a7b.tmp`]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("linked folders and special files in the accounts folder", () => {
  it("import refuses to write through a linked folder that leads outside the accounts folder, naming the path", async () => {
    const repo = new GitRepo("import-linked-folder");
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "outside-"));
    const sandbox = await startSandbox({ apiKey: "import-key-Tz71", accounts: [{ id: "ca_gh", toolkit: "github", userId: "team", authScheme: "API_KEY" }, { id: "ca_sl", toolkit: "slack", userId: "team", authScheme: "OAUTH2" }] });
    try {
      repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\n");
      fs.mkdirSync(path.join(repo.dir, "accounts"));
      fs.symlinkSync(outside, path.join(repo.dir, "accounts/github"));
      const r = await runCliAsync(["import"], { cwd: repo.dir, env: { COMPOSIO_API_KEY: "import-key-Tz71", COMPOSIO_BASE_URL: sandbox.url } });
      expect(r.stdout).toContain(`skipped ca_gh: accounts/github is a symbolic link to ${fs.realpathSync(outside)}, outside the accounts folder: nothing was written there (replace the link with a folder)`);
      expect(r.stdout).toContain("wrote accounts/slack/ca_sl.yaml");
      expect(fs.readdirSync(outside)).toEqual([]);
    } finally {
      await sandbox.close();
      fs.rmSync(outside, { recursive: true, force: true });
      repo.cleanup();
    }
  });

  it("validate reports a folder linked outside like a file linked there (one linked inside is read where it is), and a *.yaml FIFO as a problem of that file, without hanging", () => {
    const repo = new GitRepo("linked-folder");
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "outside-"));
    try {
      repo.write("accounts/ok.yaml", "id: ca_ok\ntoolkit: slack\nuserId: team\nauthScheme: OAUTH2\n");
      repo.write("accounts/shared/inner.yaml", "id: ca_in\ntoolkit: slack\nuserId: team\nauthScheme: OAUTH2\n");
      fs.writeFileSync(path.join(outside, "gh.yaml"), "id: ca_gh\ntoolkit: github\nuserId: team\nauthScheme: OAUTH2\n");
      fs.symlinkSync(outside, path.join(repo.dir, "accounts/github"));
      fs.symlinkSync("shared", path.join(repo.dir, "accounts/again"));
      execFileSync("mkfifo", [path.join(repo.dir, "accounts/pipe.yaml")]);
      const r = runCli(["validate", "--format", "json"], { cwd: repo.dir });
      expect(r.code).toBe(1);
      const errors = JSON.parse(r.stdout).errors as { file: string; line: number; message: string; fix: string }[];
      expect(errors.map((e) => [e.file, e.message])).toEqual([
        ["accounts/github", `is a symbolic link to the folder ${fs.realpathSync(outside)}, outside the accounts folder; its files are not read`],
        ["accounts/pipe.yaml", "is not a regular file (a named pipe, device or socket)"],
      ]);
      for (const e of errors) expect(e.fix).not.toBe("");
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
      repo.cleanup();
    }
  });
});

describe("a hard link as a file: reference", () => {
  it("is refused like a link outside the repository, by validate and by the program's resolution, without being read", async () => {
    const repo = new GitRepo("hard-link");
    // Outside the repository, on the same file system (a hard link cannot cross one).
    const outside = path.join(path.dirname(repo.dir), `${path.basename(repo.dir)}-id_ed25519`);
    try {
      fs.writeFileSync(outside, "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-for-composio\n");
      repo.write(".gitignore", "secrets/\n");
      repo.write("accounts/hard.yaml", account("../secrets/key.pem"));
      fs.mkdirSync(path.join(repo.dir, "secrets"));
      fs.linkSync(outside, path.join(repo.dir, "secrets/key.pem"));
      const message = "file ../secrets/key.pem has 2 hard links: another name for the same file may be outside the repository";
      const r = runCli(["validate", "--format", "json"], { cwd: repo.dir });
      expect(r.code).toBe(1);
      const errors = JSON.parse(r.stdout).errors as { file: string; line: number; field: string; message: string; fix: string }[];
      expect(errors.map((e) => [e.file, e.line, e.field, e.message])).toEqual([["accounts/hard.yaml", 7, "credentials.private_key.file", message]]);
      expect(errors[0].fix).toContain("cp --remove-destination");
      const { problems, resolved } = await resolveIn(repo, "accounts/hard.yaml");
      expect(problems.map((p) => p.message)).toEqual([message]);
      expect(JSON.stringify(resolved)).not.toContain("not-for-composio");
    } finally {
      fs.rmSync(outside, { force: true });
      repo.cleanup();
    }
  });
});
