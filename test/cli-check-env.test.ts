/**
 * `connected-accounts check-env`: the pull-request step that lists `{ env }` and `{ file }` references
 * a workflow running pulumi would not get: missing from the CI wiring file (with the line to add), or
 * a Pulumi step without the account-secrets action before it. Fixture repositories and workflows,
 * the compiled CLI as a child process; and the project's own workflows against its own accounts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GitRepo, PROJECT_ROOT, runCli } from "./support/git-repo";

const account = (id: string, extra: string, credentials: string) =>
  `id: ${id}\ntoolkit: shopify\nuserId: acme\nauthScheme: API_KEY\n${extra}credentials:\n${credentials}`;

const WORKFLOW = `name: deploy
on: push
env:
  FROM_WORKFLOW: \${{ secrets.FROM_WORKFLOW }}
jobs:
  deploy:
    env:
      FROM_JOB: \${{ secrets.FROM_JOB }}
    steps:
      - uses: actions/checkout@v6
      - name: Unrelated step
        env:
          ONLY_HERE: \${{ secrets.ONLY_HERE }}
        run: echo hi
      - name: Pulumi up
        uses: pulumi/actions@v7
        with: { command: up }
        env:
          FROM_STEP: \${{ secrets.FROM_STEP }}
  drift:
    steps:
      - run: pulumi refresh --yes
`;

describe("connected-accounts check-env", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("check-env");
    repo.write(".github/workflows/deploy.yml", WORKFLOW);
    repo.write(".github/workflows/none.yml", "on: push\njobs:\n  a:\n    steps:\n      - run: npm test\n");
  });
  afterAll(() => repo.cleanup());

  it("passes when every reference reaches every pulumi step, from the step, job or workflow env", () => {
    repo.write("accounts/a.yaml", account("ca_a", "", "  api_key: { env: FROM_WORKFLOW }\n  shop: acme\n"));
    const r = runCli(["check-env", "--workflow", ".github/workflows/deploy.yml"], { cwd: repo.dir });
    expect(r.stdout).toBe("1 account file valid\n");
    expect(r.code).toBe(0);
  });

  it("lists each reference a pulumi step does not see, at its line, with the mapping to add", () => {
    repo.write("accounts/a.yaml", account("ca_a", "", "  api_key: { env: FROM_STEP }\n  password: { env: ONLY_HERE }\n"));
    repo.write("accounts/paused.yaml", account("ca_p", "paused: true\n", "  api_key: { env: NOT_MAPPED_PAUSED }\n"));
    repo.write("accounts/observed.yaml", account("ca_o", "manage: observe\n", "  api_key: { env: NOT_MAPPED_OBSERVED }\n"));
    const r = runCli(["check-env", "--workflow", ".github/workflows/deploy.yml", "--format", "json"], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors).toEqual([
      {
        file: "accounts/a.yaml", line: 6, column: 14, field: "credentials.api_key.env",
        message: 'environment variable FROM_STEP is not passed to "drift / step 1" in .github/workflows/deploy.yml, so pulumi cannot read it there',
        fix: "add FROM_STEP: ${{ secrets.FROM_STEP }} to the env of that step, or move the value into a SOPS file ({ sops: path, key: name }) that the one SOPS_AGE_KEY secret decrypts",
      },
      {
        file: "accounts/a.yaml", line: 7, column: 15, field: "credentials.password.env",
        message: 'environment variable ONLY_HERE is not passed to "deploy / Pulumi up", "drift / step 1" in .github/workflows/deploy.yml, so pulumi cannot read it there',
        fix: "add ONLY_HERE: ${{ secrets.ONLY_HERE }} to the env of those steps, or move the value into a SOPS file ({ sops: path, key: name }) that the one SOPS_AGE_KEY secret decrypts",
      },
    ]);
    const text = runCli(["check-env", "--workflow", ".github/workflows/deploy.yml"], { cwd: repo.dir });
    expect(text.stdout.split("\n").at(-2)).toBe("2 errors in 3 files");
    repo.remove("accounts/paused.yaml");
    repo.remove("accounts/observed.yaml");
  });

  it("refuses a workflow it cannot check: missing, or without a pulumi step", () => {
    expect(runCli(["check-env", "--workflow", ".github/workflows/gone.yml"], { cwd: repo.dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("workflow .github/workflows/gone.yml does not exist") });
    expect(runCli(["check-env", "--workflow", ".github/workflows/none.yml"], { cwd: repo.dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("has no step that runs pulumi") });
  });

  it("the project's own workflows pass every reference of its own accounts to pulumi", () => {
    const r = runCli(["check-env", "--workflow", ".github/workflows/pull-request.yml", "--workflow", ".github/workflows/apply.yml"], { cwd: PROJECT_ROOT });
    expect(r.stdout).toMatch(/^\d+ account files valid\n$/);
    expect(r.code).toBe(0);
    // Without --workflow: every workflow that runs pulumi, drift.yml included.
    expect(runCli(["check-env"], { cwd: PROJECT_ROOT })).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+ account files valid\n$/) });
  });
});

const SECRETS_STEP = "      - uses: ./.github/actions/account-secrets\n        with:\n          secrets: ${{ toJSON(secrets) }}\n";
const wiredWorkflow = (name: string, pulumi: string, wired = true) =>
  `name: ${name}\non: push\njobs:\n  ${name}:\n    steps:\n      - uses: actions/checkout@v6\n${wired ? SECRETS_STEP : ""}      - name: Pulumi\n        run: ${pulumi}\n`;

describe("connected-accounts check-env with the CI wiring file", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("check-env-wiring");
    repo.write(".github/workflows/pull-request.yml", wiredWorkflow("review", 'pulumi preview --stack "$PULUMI_STACK"'));
    repo.write(".github/workflows/apply.yml", wiredWorkflow("apply", "pulumi up --yes"));
    repo.write(".github/workflows/lint.yml", "on: push\njobs:\n  lint:\n    steps:\n      - run: npm test\n");
    repo.write(".gitignore", "secrets/*\n");
    repo.write("secrets/app.pem", "pem");
    repo.write("accounts/shop.yaml", account("ca_s", "", "  api_key: { env: SHOP_KEY }\n  shop: acme\n"));
    repo.write("accounts/app.yaml", account("ca_a", "", "  api_key: { file: ../secrets/app.pem }\n"));
  });
  afterAll(() => repo.cleanup());

  it("passes when the wiring file maps every reference and each Pulumi step comes after the account-secrets action", () => {
    repo.write(".github/connected-accounts-ci.yml", "env:\n  SHOP_KEY: SHOP_KEY\nfiles:\n  secrets/app.pem: APP_PEM\n");
    expect(runCli(["check-env"], { cwd: repo.dir })).toMatchObject({ code: 0, stdout: "2 account files valid\n" });
  });

  it("names each reference missing from the wiring file with the exact line to add", () => {
    repo.write(".github/connected-accounts-ci.yml", "# nothing yet\nenv:\nfiles:\n");
    const r = runCli(["check-env", "--format", "json"], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors).toEqual([
      {
        file: "accounts/app.yaml", line: 6, column: 14, field: "credentials.api_key.file",
        message: "file secrets/app.pem is not written in CI: .github/connected-accounts-ci.yml names no secret for it, so pulumi cannot read it there",
        fix: 'add the line "  secrets/app.pem: APP_PEM" under files: in .github/connected-accounts-ci.yml and create the CI secret APP_PEM holding the file\'s content',
      },
      {
        file: "accounts/shop.yaml", line: 6, column: 14, field: "credentials.api_key.env",
        message: "environment variable SHOP_KEY has no CI secret in .github/connected-accounts-ci.yml, so pulumi cannot read it in CI",
        fix: 'add the line "  SHOP_KEY: SHOP_KEY" under env: in .github/connected-accounts-ci.yml and create the CI secret SHOP_KEY (Settings → Secrets and variables → Actions), or move the value into a SOPS file that the one SOPS_AGE_KEY secret decrypts',
      },
    ]);
  });

  it("finds a workflow that runs pulumi without the action (a drift job added later), at the step's line", () => {
    repo.write(".github/connected-accounts-ci.yml", "env:\n  SHOP_KEY: SHOP_KEY\nfiles:\n  secrets/app.pem: APP_PEM\n");
    repo.write(".github/workflows/drift.yml", wiredWorkflow("drift", "pulumi preview --refresh --expect-no-changes", false));
    const r = runCli(["check-env"], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      '.github/workflows/drift.yml:7:9 step "drift / Pulumi" runs pulumi without the references wired in .github/connected-accounts-ci.yml (file secrets/app.pem, env SHOP_KEY)\n' +
        '    fix: add a step before it in the same job: "- uses: ./.github/actions/account-secrets" with "secrets: ${{ toJSON(secrets) }}"\n' +
        "1 error in 2 files\n",
    );
    // A variable the step maps itself still counts.
    repo.write(".github/workflows/drift.yml", wiredWorkflow("drift", "pulumi preview", false).replace("        run:", "        env:\n          SHOP_KEY: ${{ secrets.SHOP_KEY }}\n        run:"));
    expect(runCli(["check-env"], { cwd: repo.dir }).stdout).toContain("(file secrets/app.pem)");
    repo.remove(".github/workflows/drift.yml");
  });

  it("refuses a wiring file it cannot trust, at the line", () => {
    repo.write(".github/connected-accounts-ci.yml", "env:\n  SHOP_KEY: SHOP_KEY\n  LD_PRELOAD: EVIL\nfiles:\n  secrets/app.pem: APP_PEM\n");
    const r = runCli(["check-env"], { cwd: repo.dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(".github/connected-accounts-ci.yml:3:3 env.LD_PRELOAD: LD_PRELOAD is a variable CI or the runner relies on, so it is never set from a secret here");
  });
});

describe("check-env sees through workflows that only look wired", () => {
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("check-env-hostile");
    repo.write("accounts/a.yaml", account("ca_a", "", "  api_key: { env: SHOP_KEY }\n"));
  });
  afterAll(() => repo.cleanup());
  const check = (workflow: string) => {
    repo.write(".github/workflows/w.yml", workflow);
    return runCli(["check-env", "--workflow", ".github/workflows/w.yml", "--format", "json"], { cwd: repo.dir });
  };
  const messages = (r: { stdout: string }) => (JSON.parse(r.stdout) as { errors: { message: string }[] }).errors.map((e) => e.message);

  for (const condition of ["false", "${{ false }}", "0"]) {
    it(`the variable mapped only on a Pulumi step with if: ${condition} is flagged: that step never runs`, () => {
      const r = check(`on: push\njobs:\n  deploy:\n    steps:\n      - name: Pulumi up\n        if: ${condition}\n        uses: pulumi/actions@v6\n        env:\n          SHOP_KEY: \${{ secrets.SHOP_KEY }}\n`);
      expect(messages(r)).toEqual(['environment variable SHOP_KEY is not passed to "deploy / Pulumi up (if: false, it never runs)" in .github/workflows/w.yml, so pulumi cannot read it there']);
      expect(r.code).toBe(1);
    });
  }

  it("a job with if: false passes nothing to its Pulumi steps either; a step with a real condition still counts", () => {
    const r = check(`on: push\njobs:\n  off:\n    if: \${{ false }}\n    env:\n      SHOP_KEY: x\n    steps:\n      - run: pulumi preview\n  on:\n    steps:\n      - if: github.event_name == 'push'\n        run: pulumi up --yes\n        env:\n          SHOP_KEY: x\n`);
    expect(messages(r)).toEqual(['environment variable SHOP_KEY is not passed to "off / step 1 (if: false, it never runs)" in .github/workflows/w.yml, so pulumi cannot read it there']);
  });

  it("pulumi/actions spelled in capitals (or a sub-folder of it) is a Pulumi step: GitHub runs it", () => {
    const r = check(`on: push\njobs:\n  deploy:\n    steps:\n      - run: pulumi preview\n        env:\n          SHOP_KEY: x\n      - name: Up\n        uses: PULUMI/Actions@v6\n      - name: Sub\n        uses: pulumi/actions/sub@v6\n`);
    expect(messages(r)).toEqual(['environment variable SHOP_KEY is not passed to "deploy / Up", "deploy / Sub" in .github/workflows/w.yml, so pulumi cannot read it there']);
    expect(r.code).toBe(1);
  });

  it("a workflow whose YAML aliases expand without end is a usage error naming the file, exit 2", () => {
    const levels = Array.from({ length: 12 }, (_, i) => `  l${i + 1}: &l${i + 1} [${Array(10).fill(`*l${i}`).join(", ")}]`).join("\n");
    const r = check(`on: push\nx:\n  l0: &l0 [lol]\n${levels}\njobs:\n  deploy:\n    steps:\n      - run: pulumi up\n`);
    expect(r.stderr).toBe("connected-accounts check-env: workflow .github/workflows/w.yml is not a workflow this command reads: its YAML aliases expand too often (more than 1000 times) or lead nowhere; write the values out\n");
    expect(r.code).toBe(2);
  });
});
