/**
 * `connected-accounts check-env`: the pull-request step that lists `{ env }` references a workflow
 * never passes to pulumi. Fixture repositories and workflows, the compiled CLI as a child process;
 * and the project's own workflows against its own accounts.
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
    expect(runCli(["check-env"], { cwd: repo.dir })).toMatchObject({ code: 2, stderr: expect.stringContaining("missing --workflow <file>") });
  });

  it("the project's own workflows pass every reference of its own accounts to pulumi", () => {
    const r = runCli(["check-env", "--workflow", ".github/workflows/pull-request.yml", "--workflow", ".github/workflows/apply.yml"], { cwd: PROJECT_ROOT });
    expect(r.stdout).toMatch(/^\d+ account files valid\n$/);
    expect(r.code).toBe(0);
  });
});
