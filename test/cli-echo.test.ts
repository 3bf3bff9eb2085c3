/**
 * What the CLI repeats back. A value a field refuses may be a secret pasted into the wrong place
 * (the API key as `toolkit`, a token as `manage`, or as a YAML anchor's name): validate names the
 * field and the line, never the value. Command-line arguments echoed in usage errors are escaped,
 * so `--stack $'dev\e[2J'` cannot erase the screen or forge a line.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitRepo, runCli } from "./support/git-repo";

const PASTED = "sk_live_PASTEDsecret_4f9Qz";
/** Anything a terminal acts on. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe("validate does not repeat a value it refuses", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("echo");
    repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\n");
    repo.write("accounts/a-toolkit.yaml", `id: ca_a\ntoolkit: ${PASTED}\nuserId: u\nauthScheme: API_KEY\n`);
    repo.write("accounts/b-manage.yaml", `id: ca_b\ntoolkit: github\nuserId: u\nauthScheme: API_KEY\nmanage: ${PASTED}\n`);
    repo.write("accounts/c-anchor.yaml", `id: ca_c\ntoolkit: github\nuserId: *${PASTED}\nauthScheme: API_KEY\n`);
    repo.write("accounts/d-id.yaml", `id: ${PASTED}!\ntoolkit: github\nuserId: u\nauthScheme: API_KEY\n`);
  });
  afterAll(() => repo.cleanup());

  it("names the file, line and field of each, in text and JSON, without the value", () => {
    const json = runCli(["validate", "--format", "json"], { cwd: repo.dir });
    expect(json.code).toBe(1);
    const errors = (JSON.parse(json.stdout) as { errors: { file: string; line: number; field: string; message: string }[] }).errors;
    expect(errors.map(({ file, line, field, message }) => [file, line, field, message])).toEqual([
      ["accounts/a-toolkit.yaml", 2, "toolkit", "toolkit has characters that are not allowed (the value is not shown: it may be a secret pasted in the wrong place)"],
      ["accounts/b-manage.yaml", 5, "manage", 'manage must be "full" or "observe"'],
      ["accounts/c-anchor.yaml", 3, "userId", "a YAML alias (*name) here has no anchor (&name) before it"],
      ["accounts/d-id.yaml", 1, "id", "id has characters that are not allowed (the value is not shown: it may be a secret pasted in the wrong place)"],
    ]);
    const text = runCli(["validate"], { cwd: repo.dir });
    for (const out of [json, text]) expect(out.stdout + out.stderr).not.toContain(PASTED.slice(0, 12));
  });
});

describe("usage errors escape the arguments they repeat", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("echo-args");
    repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\nstackConfigDir: stacks\n");
    repo.write("accounts/a.yaml", "id: ca_a\ntoolkit: github\nuserId: u\nauthScheme: API_KEY\n");
  });
  afterAll(() => repo.cleanup());

  const hostile = "dev\u001b[2J\nerror: forged\u202e";
  const shown = "dev\\x1b[2J\\x0aerror: forged\\u202e";

  it("in every command's own usage error (a stack name, a format, an option, an argument), and for an unknown command", () => {
    const runs = [
      [["validate", "--stack", hostile], `connected-accounts validate: "${shown}" is not a stack name`],
      [["plan", "--base", "HEAD", "--format", hostile], `connected-accounts plan: unknown format "${shown}"`],
      [["check-env", `--${hostile}`], `connected-accounts check-env: unknown option "--${shown}"`],
      [["import", hostile], `connected-accounts import: unexpected argument "${shown}"`],
      [["sandbox", "--port", hostile], `connected-accounts sandbox: `],
      [[hostile], `connected-accounts: unknown command "${shown}"`],
    ] as const;
    for (const [args, start] of runs) {
      const r = runCli([...args], { cwd: repo.dir });
      expect(r.stderr.startsWith(start), `${args[0]}: ${r.stderr}`).toBe(true);
      expect(r.code, args[0]).toBe(2);
      expect(r.stdout + r.stderr, args[0]).not.toMatch(RAW_CONTROL);
      expect(r.stderr, args[0]).not.toMatch(/^error: forged/m);
    }
  });
});
