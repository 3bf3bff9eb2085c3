/**
 * `connected-accounts validate` says what the author meant, and every problem of a file in one run:
 * the compiled CLI on real git repositories, SOPS files made by the real sops.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitRepo, runCli } from "./support/git-repo";
import { newAgeKey, writeSopsFile } from "./support/sops";

const account = (extra: string, id = "ca_one") => `id: ${id}\ntoolkit: github\nuserId: team\nauthScheme: API_KEY\n${extra}`;

interface JsonProblem { file: string; line: number; column: number; field: string; message: string; fix: string }

describe("validate says what was meant", () => {
  let repo: GitRepo;
  const validate = (...args: string[]) => runCli(["validate", ...args], { cwd: repo.dir });
  const json = (): { errors: JsonProblem[]; warnings?: JsonProblem[] } => JSON.parse(validate("--format", "json").stdout);
  const only = (files: Record<string, string>) => {
    repo.remove("accounts");
    for (const [file, text] of Object.entries(files)) repo.write(`accounts/${file}`, text);
  };

  beforeAll(() => {
    repo = new GitRepo("validate-meaning");
    repo.write(".gitignore", "secrets/*.pem\n");
  });
  afterAll(() => repo.cleanup());

  it("suggests the nearest field for a misspelt one, and the nearest reference kind for a misspelt kind", () => {
    only({ "a.yaml": account("alais: my-stripe\ncredentials:\n  api_key: { sopz: ../secrets/team.sops.yaml, key: stripe }\n  token: { evn: STRIPE_TOKEN }\n") });
    const errors = json().errors;
    const alais = errors.find((e) => e.field === "alais")!;
    expect(alais).toMatchObject({ line: 5, message: 'unknown field "alais"' });
    expect(alais.fix).toContain("did you mean `alias`?");
    const sopz = errors.find((e) => e.field === "credentials.api_key")!;
    expect(sopz.message).toBe('"api_key": unknown reference kind "sopz"; did you mean `sops`?');
    expect(sopz.fix).toBe("write api_key: { sops: ../secrets/team.sops.yaml, key: api_key }");
    expect(sopz.fix).not.toContain("env");
    expect(errors.find((e) => e.field === "credentials.token")!.fix).toBe("write token: { env: STRIPE_TOKEN }");
  });

  it("puts an unclosed quote where it opened, quoting that line with a caret", () => {
    only({ "broken.yaml": 'id: ca_one\ntoolkit: github\nuserId: team\nalias: "my-stripe\nauthScheme: API_KEY\ncredentials:\n  api_key: { env: STRIPE_KEY }\n' });
    const r = validate();
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('accounts/broken.yaml:4:8 invalid YAML: Missing closing "quote (the double quote opened here is never closed)\n    4 | alias: "my-stripe\n      |        ^\n    fix: close it: add " where the value ends');
    expect(json().errors[0]).toMatchObject({ file: "accounts/broken.yaml", line: 4, column: 8 });
  });

  it("names both files of a duplicate alias, each with its position", () => {
    only({ "first.yaml": account("alias: shared\n"), "second.yaml": account("alias: shared\n", "ca_two") });
    const [dup] = json().errors;
    expect(dup).toMatchObject({ file: "accounts/second.yaml", line: 5, column: 1, field: "alias" });
    expect(dup.message).toContain("is already used by ca_one (accounts/first.yaml:5:1)");
    expect(dup.fix).toContain("accounts/first.yaml");
  });

  it("reports an import placeholder and an empty SOPS value of one file in the same run", () => {
    const key = newAgeKey();
    writeSopsFile(path.join(repo.dir, "secrets/team.sops.yaml"), { stripe: "" }, [key]);
    only({
      "imported.yaml": account(`credentials:
  api_key: { sops: ../secrets/team.sops.yaml, key: stripe }
  token: { todo: "replace with { env: NAME }, { config: key } or { file: path }" }
  region: { todo: "replace with the value (not a secret), or { env: NAME }, { config: key } or { file: path }" }
`),
    });
    const errors = json().errors;
    expect(errors.map((e) => [e.line, e.field])).toEqual([
      [6, "credentials.api_key.key"],
      [7, "credentials.token"],
      [8, "credentials.region"],
    ]);
    expect(errors[0].message).toContain("is empty");
    // A non-secret field is not told to use an env reference; a secret one is told of SOPS too.
    expect(errors[2].fix).not.toContain("env");
    expect(errors[2].fix).toContain("region is not a secret");
    expect(errors[1].fix).toContain("{ sops: ");
  });

  it("names SOPS in the fix of a literal secret", () => {
    only({ "leak.yaml": account("credentials:\n  api_key: sk_live_not_a_reference\n") });
    const [leak] = json().errors;
    expect(leak.fix).toContain("{ env: API_KEY }");
    expect(leak.fix).toContain("{ sops: ../../secrets/credentials.sops.yaml, key: api_key }");
  });

  it("warns of a missing file: target without failing, saying when the CI wiring writes it", () => {
    only({
      "app.yaml": account("credentials:\n  private_key: { file: ../secrets/app.pem }\n"),
      "other.yaml": account("credentials:\n  private_key: { file: ../secrets/other.pem }\n", "ca_two"),
    });
    repo.write(".github/connected-accounts-ci.yml", "env: {}\nfiles:\n  secrets/app.pem: APP_KEY\n");
    const r = validate();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("2 account files valid\n");
    expect(r.stderr).toContain("warning: accounts/app.yaml:6:18 credentials.private_key.file: file ../secrets/app.pem does not exist here (secrets/app.pem); CI writes it before pulumi runs (.github/connected-accounts-ci.yml:3, secret APP_KEY)");
    expect(r.stderr).toContain("warning: accounts/other.yaml:6:18 credentials.private_key.file: file ../secrets/other.pem does not exist here (secrets/other.pem)\n");
    const out = json();
    expect(out.errors).toEqual([]);
    expect(out.warnings?.map((w) => w.file)).toEqual(["accounts/app.yaml", "accounts/other.yaml"]);
    repo.write("secrets/app.pem", "-----BEGIN PRIVATE KEY-----\n");
    repo.write("secrets/other.pem", "-----BEGIN PRIVATE KEY-----\n");
    expect(validate()).toMatchObject({ code: 0, stderr: "" });
  });
});
