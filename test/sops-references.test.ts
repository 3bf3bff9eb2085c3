/**
 * `{ sops: path, key: a.b }` references with real SOPS files (real sops, real age keys): what
 * `validate` says without any key, and what the provider's read gets or refuses, with every value
 * planted and searched for in every message.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSopsRef, type RegisteredSopsRef } from "../provider/references/sops";
import { GitRepo, runCli } from "./support/git-repo";
import { newAgeKey, setSopsValue, sopsBinDir, sopsEnv, writeSopsFile, type AgeKey } from "./support/sops";

const STRIPE = "sk_live_SOPSsecret111";
const DOTTED = "dotted-SOPSsecret222";
const JIRA = "jira-SOPSsecret333";
const CLEAR = "clear-SOPSsecret444";
const PLANTED = [STRIPE, DOTTED, JIRA, CLEAR];

const account = (id: string, credentials: string) =>
  `id: ${id}\ntoolkit: stripe\nuserId: team\nauthScheme: API_KEY\ncredentials:\n${credentials}`;

function expectNoPlantedValue(text: string): void {
  for (const value of PLANTED) expect(text).not.toContain(value);
}

let key: AgeKey;
let other: AgeKey;
beforeAll(() => {
  key = newAgeKey();
  other = newAgeKey();
});

describe("validate: SOPS references checked without decrypting", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("sops-validate");
    writeSopsFile(path.join(repo.dir, "secrets/fleet.sops.yaml"), {
      stripe: { api_key: STRIPE, "api.key": DOTTED },
      jira: [JIRA],
      port: 5432,
      empty: "",
      visible_unencrypted: CLEAR,
    }, [key]);
    writeSopsFile(path.join(repo.dir, "secrets/other.sops.json"), { token: JIRA }, [key]);
    repo.write("secrets/plain.sops.yaml", `token: ${CLEAR}\n`);
    repo.write("secrets/fleet.sops.env", "TOKEN=ENC[...]\n");
  });
  afterAll(() => repo.cleanup());

  it("accepts dotted keys, a list of keys for a key with a dot, list positions and JSON files, with no key on the machine", () => {
    repo.write("accounts/a.yaml", account("ca_a", [
      "  api_key: { sops: ../secrets/fleet.sops.yaml, key: stripe.api_key }",
      '  secret: { sops: ../secrets/fleet.sops.yaml, key: [stripe, "api.key"] }',
      "  token: { sops: ../secrets/fleet.sops.yaml, key: jira.0 }",
      "  password: { sops: ../secrets/other.sops.json, key: token }",
      "",
    ].join("\n")));
    const result = runCli(["validate", "--format", "json"], { cwd: repo.dir, env: sopsEnv() });
    expect(JSON.parse(result.stdout)).toEqual({ ok: true, files: 1, errors: [] });
    expect(result.code).toBe(0);
    repo.remove("accounts/a.yaml");
  });

  it("names file, line and field for each problem, and prints no value", () => {
    const refs: [string, string][] = [
      ["missing_file", "{ sops: ../secrets/nope.sops.yaml, key: a }"],
      ["not_sops", "{ sops: ../secrets/plain.sops.yaml, key: token }"],
      ["dotenv", "{ sops: ../secrets/fleet.sops.env, key: TOKEN }"],
      ["missing_key", "{ sops: ../secrets/fleet.sops.yaml, key: stripe.secret_key }"],
      ["number", "{ sops: ../secrets/fleet.sops.yaml, key: port }"],
      ["mapping", "{ sops: ../secrets/fleet.sops.yaml, key: stripe }"],
      ["in_clear", "{ sops: ../secrets/fleet.sops.yaml, key: visible_unencrypted }"],
      ["empty_value", "{ sops: ../secrets/fleet.sops.yaml, key: empty }"],
      ["metadata", "{ sops: ../secrets/fleet.sops.yaml, key: sops.mac }"],
    ];
    // Refused by the schema (or before any file is read): each file's other references wait for these.
    const written: [string, string][] = [
      ["no_key", "{ sops: ../secrets/fleet.sops.yaml }"],
      ["outside", "{ sops: ../../elsewhere.sops.yaml, key: a }"],
      ["empty_segment", "{ sops: ../secrets/fleet.sops.yaml, key: stripe..api_key }"],
    ];
    repo.write("accounts/bad.yaml", account("ca_bad", refs.map(([field, ref]) => `  ${field}: ${ref}\n`).join("")));
    repo.write("accounts/written.yaml", account("ca_written", written.map(([field, ref]) => `  ${field}: ${ref}\n`).join("")));
    const result = runCli(["validate", "--format", "json"], { cwd: repo.dir, env: sopsEnv() });
    repo.remove("accounts/bad.yaml");
    repo.remove("accounts/written.yaml");
    expect(result.code).toBe(1);
    const errors = (JSON.parse(result.stdout) as { errors: { file: string; line: number; column: number; field: string; message: string; fix: string }[] }).errors;
    const byField = Object.fromEntries(errors.map((e) => [e.field, e]));
    const lineOf = (field: string) => 6 + Math.max(refs.findIndex(([f]) => f === field), written.findIndex(([f]) => f === field));
    const expected: Record<string, RegExp> = {
      "credentials.missing_file.sops": /^SOPS file \.\.\/secrets\/nope\.sops\.yaml does not exist$/,
      "credentials.not_sops.sops": /is not SOPS-encrypted \(it has no sops metadata\)/,
      "credentials.dotenv.sops": /must be YAML or JSON/,
      "credentials.missing_key.key": /^key stripe\.secret_key is not in SOPS file \.\.\/secrets\/fleet\.sops\.yaml \(under stripe, keys there: api_key, api\.key\)$/,
      "credentials.number.key": /holds a number, not a string/,
      "credentials.mapping.key": /holds a mapping, not a value/,
      "credentials.in_clear.key": /holds a string in clear, not an encrypted value/,
      "credentials.empty_value.key": /is empty; an empty value is never sent/,
      "credentials.metadata.key": /names SOPS's own metadata/,
      "credentials.no_key": /a sops reference needs a key/,
      "credentials.outside.sops": /is outside the repository/,
      "credentials.empty_segment": /key must name a value in the file/,
    };
    expect(Object.keys(byField).sort()).toEqual(Object.keys(expected).sort());
    for (const [field, message] of Object.entries(expected)) {
      const e = byField[field];
      expect(e.message, field).toMatch(message);
      expect(e.file).toBe(written.some(([f]) => field.startsWith(`credentials.${f}`)) ? "accounts/written.yaml" : "accounts/bad.yaml");
      expect(e.line, field).toBe(lineOf(field.split(".")[1]));
      expect(e.fix, field).not.toBe("");
    }
    expect(byField["credentials.not_sops.sops"].fix).toContain("sops --encrypt --in-place ../secrets/plain.sops.yaml");
    expect(byField["credentials.missing_key.key"].fix).toContain(`sops set ../secrets/fleet.sops.yaml '["stripe"]["secret_key"]'`);
    expectNoPlantedValue(result.stdout + result.stderr);
  });

  it("never reads a SOPS file that is not a regular file inside the repository", () => {
    fs.symlinkSync("/dev/zero", path.join(repo.dir, "secrets/zero.sops.yaml"));
    fs.mkdirSync(path.join(repo.dir, "secrets/dir.sops.yaml"));
    repo.write("accounts/odd.yaml", account("ca_odd", "  a: { sops: ../secrets/zero.sops.yaml, key: a }\n  b: { sops: ../secrets/dir.sops.yaml, key: a }\n"));
    const started = Date.now();
    const result = runCli(["validate", "--format", "json"], { cwd: repo.dir });
    repo.remove("accounts/odd.yaml");
    expect(Date.now() - started).toBeLessThan(10_000);
    const messages = (JSON.parse(result.stdout) as { errors: { message: string }[] }).errors.map((e) => e.message);
    expect(messages).toEqual([expect.stringContaining("is outside the repository"), expect.stringContaining("is a folder, not a regular file")]);
  });
});

describe("the provider's read: sops --decrypt once per file, plaintext in memory only", () => {
  let root: string;
  let bin: string;
  let calls: string;
  beforeAll(() => {
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-read-")));
    writeSopsFile(path.join(root, "secrets/a.sops.yaml"), { stripe: { api_key: STRIPE, "api.key": DOTTED }, port: 5432 }, [key]);
    writeSopsFile(path.join(root, "secrets/b.sops.yaml"), { jira: JIRA }, [key, other]);
    // A sops on PATH that counts its runs, then runs the real one.
    bin = path.join(root, "bin");
    calls = path.join(root, "calls.log");
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, "sops"), `#!/bin/sh\necho "$@" >> ${calls}\nexec ${path.join(sopsBinDir(), "sops")} "$@"\n`, { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  const context = (env: Record<string, string>) => {
    const memo = new Map<string, unknown>();
    return {
      projectRoot: root,
      env: { PATH: `${bin}${path.delimiter}${process.env.PATH}`, ...env },
      once<T>(k: string, read: () => T): T {
        if (!memo.has(k)) memo.set(k, read());
        return memo.get(k) as T;
      },
    };
  };
  const ref = (file: string, ...key: string[]): RegisteredSopsRef => ({ sops: file, key });
  const sopsRuns = () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n").length : 0);

  it("reads values of many references with one sops run per file", async () => {
    fs.rmSync(calls, { force: true });
    const ctx = context(sopsEnv(key));
    expect(await readSopsRef(ref("secrets/a.sops.yaml", "stripe", "api_key"), ctx)).toEqual({ value: STRIPE });
    expect(await readSopsRef(ref("secrets/a.sops.yaml", "stripe", "api.key"), ctx)).toEqual({ value: DOTTED });
    expect(await readSopsRef(ref("secrets/b.sops.yaml", "jira"), ctx)).toEqual({ value: JIRA });
    expect(await readSopsRef(ref("secrets/a.sops.yaml", "stripe", "api_key"), ctx)).toEqual({ value: STRIPE });
    expect(sopsRuns()).toBe(2);
    // Any recipient of the file will do.
    expect(await readSopsRef(ref("secrets/b.sops.yaml", "jira"), context(sopsEnv(other)))).toEqual({ value: JIRA });
  });

  it("refuses a key that is not there, or not a string, without running sops", async () => {
    fs.rmSync(calls, { force: true });
    const ctx = context(sopsEnv(key));
    expect(await readSopsRef(ref("secrets/a.sops.yaml", "stripe", "nope"), ctx)).toMatchObject({ at: ["key"], message: expect.stringContaining("key stripe.nope is not in SOPS file secrets/a.sops.yaml") });
    expect(await readSopsRef(ref("secrets/a.sops.yaml", "port"), ctx)).toMatchObject({ at: ["key"], message: expect.stringContaining("holds a number, not a string") });
    expect(sopsRuns()).toBe(0);
  });

  it("a tampered file fails its integrity check, and no value is shown", async () => {
    const tampered = path.join(root, "secrets/tampered.sops.yaml");
    writeSopsFile(tampered, { stripe: { api_key: STRIPE }, note_unencrypted: "v1" }, [key]);
    fs.writeFileSync(tampered, fs.readFileSync(tampered, "utf8").replace("note_unencrypted: v1", "note_unencrypted: v2"));
    const result = await readSopsRef(ref("secrets/tampered.sops.yaml", "stripe", "api_key"), context(sopsEnv(key)));
    expect(result).toMatchObject({ at: ["sops"], message: expect.stringContaining("fails its integrity check (MAC mismatch)") });
    expect(JSON.stringify(result)).not.toMatch(/[0-9A-F]{64}/);
    expectNoPlantedValue(JSON.stringify(result));
  });

  it("a value swapped in from another key fails the same way", async () => {
    const swapped = path.join(root, "secrets/swapped.sops.yaml");
    writeSopsFile(swapped, { a: STRIPE, b: JIRA }, [key]);
    const text = fs.readFileSync(swapped, "utf8");
    const a = /^a: (.*)$/m.exec(text)![1];
    const b = /^b: (.*)$/m.exec(text)![1];
    fs.writeFileSync(swapped, text.replace(`a: ${a}`, `a: ${b}`).replace(`b: ${b}`, `b: ${a}`));
    const result = await readSopsRef(ref("secrets/swapped.sops.yaml", "a"), context(sopsEnv(key)));
    expect(result).toMatchObject({ message: expect.stringContaining("fails its integrity check") });
    expectNoPlantedValue(JSON.stringify(result));
  });

  it("a wrong key and no key say which, and name the file's recipients", async () => {
    const stranger = newAgeKey();
    const wrong = await readSopsRef(ref("secrets/a.sops.yaml", "stripe", "api_key"), context(sopsEnv(stranger)));
    expect(wrong).toMatchObject({ at: ["sops"], message: `no key available here can decrypt SOPS file secrets/a.sops.yaml: the age key set here is not one the file is encrypted for (it is encrypted for age ${key.recipient})` });
    expect((wrong as { fix: string }).fix).toContain("SOPS_AGE_KEY");
    const none = await readSopsRef(ref("secrets/a.sops.yaml", "stripe", "api_key"), context(sopsEnv()));
    expect(none).toMatchObject({ message: expect.stringContaining(": no age key is set here (it is encrypted for age ") });
    expectNoPlantedValue(JSON.stringify([wrong, none]));
  });

  it("without sops installed, says how to install it", async () => {
    const ctx = { ...context(sopsEnv(key)), env: { ...sopsEnv(key), PATH: path.join(root, "empty") } };
    expect(await readSopsRef(ref("secrets/a.sops.yaml", "stripe", "api_key"), ctx)).toMatchObject({
      message: "the sops command is not installed here (no sops on PATH), and secrets/a.sops.yaml needs it to be decrypted",
      fix: expect.stringContaining("https://github.com/getsops/sops/releases"),
    });
  });

  it("a value rotated with sops set is read anew by the next process", async () => {
    const file = path.join(root, "secrets/rotate.sops.yaml");
    writeSopsFile(file, { token: STRIPE }, [key]);
    expect(await readSopsRef(ref("secrets/rotate.sops.yaml", "token"), context(sopsEnv(key)))).toEqual({ value: STRIPE });
    setSopsValue(file, ["token"], JIRA, key);
    expect(await readSopsRef(ref("secrets/rotate.sops.yaml", "token"), context(sopsEnv(key)))).toEqual({ value: JIRA });
  });
});

describe("plan: a rotation inside a SOPS file, seen from the ciphertext alone", () => {
  let repo: GitRepo;
  const file = () => path.join(repo.dir, "secrets/fleet.sops.yaml");
  const ref = (key: string) => `{ sops: ../../secrets/fleet.sops.yaml, key: ${key} }`;
  beforeAll(() => {
    repo = new GitRepo("sops-plan");
    writeSopsFile(file(), { stripe: { api_key: STRIPE }, jira: { token: JIRA }, unused: CLEAR }, [key]);
    repo.write("accounts/stripe/a.yaml", account("ca_a", `  api_key: ${ref("stripe.api_key")}\n`));
    repo.write("accounts/jira/b.yaml", account("ca_b", `  api_key: ${ref("jira.token")}\n`));
    repo.write("accounts/jira/c.yaml", account("ca_c", `  api_key: ${ref("jira.later")}\n`));
    repo.commit("v1");
  });
  afterAll(() => repo.cleanup());

  it("shows the rotated credential as changed, and the others as unchanged, with no key on the machine", () => {
    setSopsValue(file(), ["stripe", "api_key"], `${STRIPE}-rotated`, key);
    setSopsValue(file(), ["jira", "later"], DOTTED, key);
    repo.commit("v2");
    const result = runCli(["plan", "--base", "v1", "--head", "v2"], { cwd: repo.dir, env: sopsEnv() });
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")).toEqual([
      "update    ca_c  accounts/jira/c.yaml: changed api_key (sops ../../secrets/fleet.sops.yaml jira.later: key added to ../../secrets/fleet.sops.yaml)",
      "update    ca_a  accounts/stripe/a.yaml: changed api_key (sops ../../secrets/fleet.sops.yaml stripe.api_key: encrypted value changed in ../../secrets/fleet.sops.yaml)",
      "fixed at the base: v1:accounts/jira/c.yaml:6:51 credentials.api_key.key: key jira.later is not in SOPS file ../../secrets/fleet.sops.yaml (under jira, keys there: token)",
      "Plan (v1 → v2): 0 to adopt, 2 to update, 0 to release, 1 unchanged; 1 problem of the base: 1 fixed by this change, 0 still present.",
      "",
    ]);
    const markdown = runCli(["plan", "--base", "v1", "--head", "v2", "--format", "markdown"], { cwd: repo.dir, env: sopsEnv() }).stdout;
    expect(markdown).toContain("`api_key` changed: `sops ../../secrets/fleet.sops.yaml stripe.api_key` (encrypted value changed in ../../secrets/fleet.sops.yaml)");
    const json = JSON.parse(runCli(["plan", "--base", "v1", "--head", "v2", "--format", "json"], { cwd: repo.dir, env: sopsEnv() }).stdout) as { accounts: { id: string; credentials: { changed: string[] } }[] };
    expect(json.accounts.map((a) => [a.id, a.credentials.changed])).toEqual([["ca_b", []], ["ca_c", ["api_key"]], ["ca_a", ["api_key"]]]);
    expectNoPlantedValue(result.stdout + result.stderr + markdown);
  });

  it("re-encrypting without a change (sops set to the same value) changes no ciphertext and shows nothing", () => {
    setSopsValue(file(), ["jira", "token"], JIRA, key);
    const result = runCli(["plan", "--base", "v2"], { cwd: repo.dir, env: sopsEnv() });
    expect(result.stdout).toBe("Plan (v2 → working tree): 0 to adopt, 0 to update, 0 to release, 3 unchanged.\n");
  });

  it("a key removed from the file while an account still names it fails the plan at the account's line", () => {
    const text = fs.readFileSync(file(), "utf8");
    // What a careless merge does: the line goes, the MAC stays (sops unset would re-sign the file).
    fs.writeFileSync(file(), text.replace(/^ {4}token: ENC\[.*\n/m, ""));
    const result = runCli(["plan", "--base", "v2"], { cwd: repo.dir, env: sopsEnv() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("accounts/jira/b.yaml:6:51 credentials.api_key.key: key jira.token is not in SOPS file ../../secrets/fleet.sops.yaml (under jira, keys there: later)");
    fs.writeFileSync(file(), text);
  });
});

describe("age keys as users give them", () => {
  let root: string;
  let key: AgeKey;
  beforeAll(() => {
    key = newAgeKey();
    root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-keyfile-")));
    writeSopsFile(path.join(root, "secrets/a.sops.yaml"), { token: STRIPE }, [key]);
    fs.mkdirSync(path.join(root, "keys"));
    fs.writeFileSync(path.join(root, "keys/team.agekey"), `# created for a test\n${key.identity}\n`, { mode: 0o600 });
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** No key of this machine's may help: HOME empty, and only the key file setting under test. */
  const context = (keyFile: string) => {
    const memo = new Map<string, unknown>();
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-home-"));
    return {
      projectRoot: root,
      env: { PATH: `${sopsBinDir()}${path.delimiter}${process.env.PATH}`, HOME: home, SOPS_AGE_KEY_FILE: keyFile },
      once<T>(k: string, read: () => T): T {
        if (!memo.has(k)) memo.set(k, read());
        return memo.get(k) as T;
      },
    };
  };

  it("resolves a relative SOPS_AGE_KEY_FILE from the project root, wherever the process runs", async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-cwd-"));
    const cwd = process.cwd();
    process.chdir(elsewhere);
    try {
      expect(await readSopsRef({ sops: "secrets/a.sops.yaml", key: ["token"] }, context("keys/team.agekey"))).toEqual({ value: STRIPE });
    } finally {
      process.chdir(cwd);
    }
  });

  it("names the absolute path of a key file that is not there, instead of saying no key is set", async () => {
    const result = await readSopsRef({ sops: "secrets/a.sops.yaml", key: ["token"] }, context("keys/typo.agekey"));
    expect(result).toMatchObject({
      at: ["sops"],
      message: `age key file not found at ${path.join(root, "keys/typo.agekey")} (SOPS_AGE_KEY_FILE; "keys/typo.agekey" is resolved from the project root, ${root}): no key available here can decrypt SOPS file secrets/a.sops.yaml`,
      fix: expect.stringContaining("set SOPS_AGE_KEY_FILE to your age key file"),
    });
    expect(await readSopsRef({ sops: "secrets/a.sops.yaml", key: ["token"] }, context("/nowhere/team.agekey"))).toMatchObject({
      message: "age key file not found at /nowhere/team.agekey (SOPS_AGE_KEY_FILE): no key available here can decrypt SOPS file secrets/a.sops.yaml",
    });
    expectNoPlantedValue(JSON.stringify(result));
  });
});
