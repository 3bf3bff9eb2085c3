/**
 * The scripts the workflows run (scripts/ci/): the stack matrix, the pinned CLI version, the
 * references' secrets from the wiring file, the plan comment, the drift issue, and the reviewed
 * update plan (its artifact, the merged pull request's plan found again, the engine's refusal in
 * the project's words). The scripts run as the workflows run them (node, with the project
 * as the working directory); the comment and issue decisions are driven through the same `post`
 * and `report` functions github-script calls, against an in-memory stand-in for the GitHub issues
 * API that keeps what a repository would (comments, issues, their state).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PLAN_COMMENT_MARKER } from "../provider/cli/format-plan";
import { pinnedPulumiVersion } from "../provider/pulumi-cli/version";
import { startSandbox } from "../provider/sandbox/server";
import { GitRepo, PROJECT_ROOT, runCliAsync } from "./support/git-repo";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stacks = require("../scripts/ci/stacks.js");
const planComment = require("../scripts/ci/plan-comment.js");
const drift = require("../scripts/ci/drift.js");
const { codeBlock } = require("../scripts/ci/markdown.js");
const accountSecrets = require("../scripts/ci/account-secrets.js");
const updatePlan = require("../scripts/ci/update-plan.js");
const mergedPlan = require("../scripts/ci/merged-plan.js");
const planViolations = require("../scripts/ci/plan-violations.js");

function node(script: string, args: string[], cwd = PROJECT_ROOT, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, script), ...args], { cwd, encoding: "utf8", env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ca-ci-scripts-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A project with .github/stacks.yml holding `text`, and a settings file for each of `settings` (stack names). */
function projectWithStacks(text: string | undefined, settings: string[] = ["prod", "staging", "a", "ok"]): string {
  const dir = fs.mkdtempSync(path.join(tmp, "p-"));
  fs.mkdirSync(path.join(dir, ".github"));
  fs.mkdirSync(path.join(dir, "stacks"));
  for (const name of settings) fs.writeFileSync(path.join(dir, `stacks/Pulumi.${name}.yaml`), "config: {}\n");
  if (text !== undefined) fs.writeFileSync(path.join(dir, ".github/stacks.yml"), text);
  return dir;
}

describe("scripts/ci/stacks.js: the stack matrix", () => {
  it("prints the matrix of .github/stacks.yml for $GITHUB_OUTPUT, all stacks or the one asked for", () => {
    const dir = projectWithStacks("stacks:\n  - stack: my-org/prod\n    environment: production\n  - stack: staging\n    environment: staging\n");
    const all = node("scripts/ci/stacks.js", [], dir).stdout.split("\n");
    expect(JSON.parse(all[0].slice("matrix=".length)).include.map((s: { stack: string }) => s.stack)).toEqual(["my-org/prod", "staging"]);
    expect(all[1]).toBe("count=2");
    expect(node("scripts/ci/stacks.js", ["--only", "staging"], dir).stdout).toBe('matrix={"include":[{"stack":"staging","environment":"staging"}]}\ncount=1\n');
    expect(node("scripts/ci/stacks.js", ["--only", "all"], dir).stdout).toContain('"my-org/prod"');
    expect(node("scripts/ci/stacks.js", ["--only", ""], dir).stdout).toContain('"staging"');
  });

  it("refuses a list it cannot use with one annotated line naming the file, the entry and the fix", () => {
    const cases: [string | undefined, string[], string][] = [
      [undefined, [], ".github/stacks.yml: missing: list the stacks CI works on there"],
      ["stacks: [\n", [], ".github/stacks.yml: not valid YAML: "],
      ["stacks: {}\n", [], '.github/stacks.yml: "stacks" must be a list'],
      ["stacks:\n  - stack: my-org/nowhere\n    environment: e\n", [], ".github/stacks.yml: stacks[0]: stack my-org/nowhere has no settings file stacks/Pulumi.nowhere.yaml: create the stack (pulumi stack init my-org/nowhere) and commit that file, or remove the entry"],
      ["stacks:\n  - stack: a b\n    environment: e\n", [], '.github/stacks.yml: stacks[0].stack must be a stack name (letters, digits, "-", "_", ".", optionally after "org/"), not "a b"'],
      ["stacks:\n  - stack: a\n", [], ".github/stacks.yml: stacks[0].environment must name a GitHub environment"],
      ["stacks:\n  - stack: a\n    environment: e\n    approvers: x\n", [], '.github/stacks.yml: stacks[0]: unknown key "approvers" (only stack and environment)'],
      ["stacks:\n  - stack: a\n    environment: e\n  - stack: a\n    environment: f\n", [], ".github/stacks.yml: stacks[1]: stack a is listed twice"],
      ["stacks:\n  - stack: a\n    environment: e\n", ["--only", "b"], 'stack "b" is not listed in .github/stacks.yml (listed: a)'],
    ];
    for (const [text, args, message] of cases) {
      const r = node("scripts/ci/stacks.js", args, projectWithStacks(text));
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: "" });
      expect(r.stderr.startsWith(`::error file=.github/stacks.yml::${message}`), r.stderr).toBe(true);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
    expect(() => stacks.readStacks(projectWithStacks("stacks:\n  - stack: ok\n    environment: e\n"), "nope")).toThrow(stacks.StacksError);
  });

  it("ships only stacks that exist: the project's own list is empty until a team adds its stack, which skips the jobs with a warning", () => {
    expect(node("scripts/ci/stacks.js", [])).toEqual({
      code: 0,
      stdout: 'matrix={"include":[]}\ncount=0\n',
      stderr: "::warning file=.github/stacks.yml::no stack is listed in .github/stacks.yml, so this workflow checks and applies nothing: add your stack there\n",
    });
    // Its commented example, uncommented, is a list the script accepts.
    const example = fs.readFileSync(path.join(PROJECT_ROOT, ".github/stacks.yml"), "utf8").split("# Examples:\n")[1].split("\n").filter((l) => l.startsWith("#")).map((l) => l.slice(4)).join("\n");
    expect(stacks.readStacks(projectWithStacks(example, ["prod", "staging"])).map((s: { stack: string }) => s.stack)).toEqual(["my-org/prod", "my-org/staging"]);
  });
});

describe("scripts/ci/pulumi-version.js: the pinned CLI for pulumi/actions", () => {
  it("prints package.json's pulumi devDependency", () => {
    expect(node("scripts/ci/pulumi-version.js", [])).toEqual({ code: 0, stdout: `version=${pinnedPulumiVersion(PROJECT_ROOT)}\n`, stderr: "" });
  });
});

/** What a repository keeps of comments and issues, behind the calls github-script's client makes. */
class GitHubIssues {
  comments: { id: number; issue: number; body: string; user: { type: string } }[] = [];
  issues: { number: number; title: string; body: string; state: string; labels: string[]; pull_request?: object }[] = [];
  private nextId = 100;
  readonly context = { repo: { owner: "acme", repo: "accounts" }, issue: { number: 7 } };
  readonly core = { failed: [] as string[], warnings: [] as string[], setFailed: (m: string) => this.core.failed.push(m), warning: (m: string) => this.core.warnings.push(m) };
  readonly github = {
    paginate: async (method: (args: any) => Promise<{ data: unknown[] }>, args: any) => (await method(args)).data,
    rest: {
      issues: {
        listComments: async ({ issue_number }: any) => ({ data: this.comments.filter((c) => c.issue === issue_number) }),
        createComment: async ({ issue_number, body }: any) => {
          this.comments.push({ id: this.nextId++, issue: issue_number, body, user: { type: "Bot" } });
          return { data: {} };
        },
        updateComment: async ({ comment_id, body }: any) => {
          this.comments.find((c) => c.id === comment_id)!.body = body;
          return { data: {} };
        },
        listForRepo: async ({ state, labels }: any) => ({ data: this.issues.filter((i) => i.state === state && i.labels.includes(labels)) }),
        create: async ({ title, body, labels }: any) => {
          this.issues.push({ number: this.nextId++, title, body, labels, state: "open" });
          return { data: {} };
        },
        update: async ({ issue_number, body, state }: any) => {
          const issue = this.issues.find((i) => i.number === issue_number)!;
          if (body !== undefined) issue.body = body;
          if (state !== undefined) issue.state = state;
          return { data: {} };
        },
      },
    },
  };
}

describe("scripts/ci/plan-comment.js: one plan comment per stack, never stale", () => {
  const PLAN = `${PLAN_COMMENT_MARKER}\n### Connected accounts plan\n\n**0 to adopt, 1 to update, 0 to release, 6 unchanged**\n`;
  const files = (dir: string, contents: Record<string, string>) => {
    for (const [name, text] of Object.entries(contents)) fs.writeFileSync(path.join(dir, name), text);
    return { plan: path.join(dir, "plan.md"), validate: path.join(dir, "validate.txt"), planOutput: path.join(dir, "plan-output.txt") };
  };

  it("replaces the plan of an earlier push with 'validation failed' and the problems, then with the next plan", async () => {
    const gh = new GitHubIssues();
    gh.comments.push({ id: 1, issue: 7, body: "LGTM", user: { type: "User" } });
    const push1 = fs.mkdtempSync(path.join(tmp, "push1-"));
    await planComment.post(gh, { stack: "prod", validate: "success", plan: "success", runUrl: "https://ci/run/1", files: files(push1, { "plan.md": PLAN }) });
    await planComment.post(gh, { stack: "staging", validate: "success", plan: "success", files: files(push1, { "plan.md": PLAN }) });
    expect(gh.comments).toHaveLength(3);
    const prod = () => gh.comments.find((c) => c.body.startsWith(planComment.stackMarker("prod")))!;
    expect(prod().body).toBe(`${planComment.stackMarker("prod")}\n**Stack \`prod\`**\n\n${PLAN.trimEnd()}\n`);

    const push2 = fs.mkdtempSync(path.join(tmp, "push2-"));
    const problems = "accounts/a.yaml:7:3 credentials.token: a literal secret\n    fix: use { env: NAME }\n1 error";
    await planComment.post(gh, { stack: "prod", validate: "failure", plan: "skipped", runUrl: "https://ci/run/2", files: files(push2, { "validate.txt": problems }) });
    expect(gh.comments).toHaveLength(3);
    expect(prod().body).toContain("### Connected accounts plan: validation failed");
    expect(prod().body).toContain("```text\naccounts/a.yaml:7:3 credentials.token: a literal secret\n    fix: use { env: NAME }\n1 error\n```");
    expect(prod().body).toContain("[The run](https://ci/run/2)");
    expect(prod().body).not.toContain("1 to update");
    // Another stack's comment and the reviewer's are left alone.
    expect(gh.comments.find((c) => c.body.startsWith(planComment.stackMarker("staging")))!.body).toContain("1 to update");
    expect(gh.comments[0].body).toBe("LGTM");

    const push3 = fs.mkdtempSync(path.join(tmp, "push3-"));
    await planComment.post(gh, { stack: "prod", validate: "success", plan: "failure", files: files(push3, { "plan-output.txt": "connected-accounts plan: unknown revision origin/main" }) });
    expect(prod().body).toContain("### Connected accounts plan: plan failed");
    expect(prod().body).toContain("unknown revision origin/main");
  });

  it("names a failed check-env as such, with its output, rather than a plan that did not run", async () => {
    const gh = new GitHubIssues();
    const dir = fs.mkdtempSync(path.join(tmp, "check-env-"));
    const out = 'accounts/shopify/storefront.yaml:9:14 credentials.api_key.env: environment variable NEW_KEY has no CI secret in .github/connected-accounts-ci.yml\n    fix: add the line "  NEW_KEY: NEW_KEY" under env: in .github/connected-accounts-ci.yml\n1 error in 7 files\n';
    fs.writeFileSync(path.join(dir, "check-env.txt"), out);
    const body = await planComment.post(gh, { stack: "prod", validate: "success", checkEnv: "failure", plan: "skipped", preview: "skipped", files: { ...files(dir, {}), checkEnv: path.join(dir, "check-env.txt") } });
    expect(body).toContain("### Connected accounts plan: CI cannot read every reference");
    expect(body).toContain('fix: add the line "  NEW_KEY: NEW_KEY" under env: in .github/connected-accounts-ci.yml');
    expect(body).not.toContain("plan failed");
    expect(body).not.toContain("skipped");
  });

  it("folds the Pulumi preview into the stack's one comment, open when it failed", async () => {
    const gh = new GitHubIssues();
    const dir = fs.mkdtempSync(path.join(tmp, "preview-"));
    fs.writeFileSync(path.join(dir, "preview.txt"), "Previewing update (prod)\n~ connected-accounts:index:ConnectedAccount github-prod update\nResources: 1 to update\n");
    const paths = { ...files(dir, { "plan.md": PLAN }), preview: path.join(dir, "preview.txt") };
    const ok = await planComment.post(gh, { stack: "prod", validate: "success", checkEnv: "success", plan: "success", preview: "success", files: paths });
    expect(ok).toContain(`${PLAN.trimEnd()}\n\n<details><summary>Pulumi preview</summary>\n\n\`\`\`text\nPreviewing update (prod)`);
    const failed = await planComment.post(gh, { stack: "prod", validate: "success", checkEnv: "success", plan: "success", preview: "failure", files: paths });
    expect(failed).toContain("<details open><summary>Pulumi preview: failed</summary>");
    expect(gh.comments).toHaveLength(1);
  });

  it("finds only a bot's comment with this stack's marker", () => {
    const comments = [
      { id: 1, body: `${planComment.stackMarker("prod")}\nby hand`, user: { type: "User" } },
      { id: 2, body: `${planComment.stackMarker("prod-eu")}\n…`, user: { type: "Bot" } },
      { id: 3, body: `${planComment.stackMarker("prod")}\n…`, user: { type: "Bot" } },
    ];
    expect(planComment.findStackComment(comments, "prod").id).toBe(3);
    expect(planComment.findStackComment(comments, "staging")).toBeUndefined();
  });

  it("says the preview waits for the preview environment's approval, then that the merge applies the saved plan and nothing else", async () => {
    const gh = new GitHubIssues();
    const dir = fs.mkdtempSync(path.join(tmp, "saved-"));
    const f = { ...files(dir, { "plan.md": PLAN, "preview.txt": "~ alias: \"a\" => \"b\"" }), preview: path.join(dir, "preview.txt") };
    const ok = { stack: "prod", validate: "success", checkEnv: "success", plan: "success", files: f };
    await planComment.post(gh, { ...ok, preview: "waiting", previewEnvironment: "production-preview" });
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0].body).toContain("runs in the GitHub environment `production-preview`, which holds the keys, once a maintainer approves it");
    expect(gh.comments[0].body).not.toContain("Saved as the update plan");
    const artifact = updatePlan.planArtifactName("prod", "a".repeat(40));
    await planComment.post(gh, { ...ok, preview: "success", savedPlan: artifact });
    expect(gh.comments).toHaveLength(1);
    expect(gh.comments[0].body).toContain(`**Saved as the update plan \`${artifact}\`.** Merging applies this preview and nothing else`);
    expect(gh.comments[0].body).not.toContain("once a maintainer approves it");
    // A failed preview saves nothing, and the comment never claims a plan.
    await planComment.post(gh, { ...ok, preview: "failure", savedPlan: "" });
    expect(gh.comments[0].body).toContain("Pulumi preview: failed");
    expect(gh.comments[0].body).not.toContain("Saved as the update plan");
  });

  it("keeps command output inside its code block, whatever it holds, and cuts it to fit a comment", () => {
    const block = codeBlock("a ``` b ```` c\n\u001b[31mred\u001b[0m");
    expect(block.startsWith("`````text\n")).toBe(true);
    expect(block.endsWith("\n`````")).toBe(true);
    expect(block).not.toContain("\u001b");
    const long = codeBlock(`${"x".repeat(50_000)}END`, 1000);
    expect(long.length).toBeLessThan(1200);
    expect(long).toContain("characters cut");
    expect(long).toContain("END");
  });
});

describe("scripts/ci/drift.js: one drift issue per stack", () => {
  const DRIFT_TEXT = "~ alias: \"renamed-by-hand\" => \"github-prod\"\nerror: no changes were expected but changes were proposed\n";

  it("tells drift from a clean run and from a broken one", () => {
    expect(drift.classifyPreview(0, "Resources: 7 unchanged")).toBe("clean");
    expect(drift.classifyPreview("255", DRIFT_TEXT)).toBe("drift");
    expect(drift.classifyPreview(255, "error: no changes were expected for preview but changes were proposed")).toBe("drift");
    expect(drift.classifyPreview(255, "error: could not connect to the backend")).toBe("error");
    expect(drift.classifyPreview("", "")).toBe("error");
  });

  it("opens one issue on drift, updates it while the drift lasts, closes it when clean, and leaves it on a broken run", async () => {
    const gh = new GitHubIssues();
    const dir = fs.mkdtempSync(path.join(tmp, "drift-"));
    const outputFile = path.join(dir, "preview.txt");
    const run = async (exitCode: number, text: string, stack = "prod") => {
      fs.writeFileSync(outputFile, text);
      return drift.report(gh, { stack, exitCode, outputFile, runUrl: "https://ci/run" });
    };
    expect(await run(0, "")).toEqual({ outcome: "clean", action: "none" });
    expect(gh.issues).toEqual([]);

    expect(await run(255, DRIFT_TEXT)).toEqual({ outcome: "drift", action: "create" });
    expect(gh.issues).toHaveLength(1);
    expect(gh.issues[0]).toMatchObject({ title: "Drift: connected accounts of stack prod differ from git", state: "open", labels: [drift.LABEL] });
    expect(gh.issues[0].body).toContain('renamed-by-hand');
    expect(gh.core.warnings).toHaveLength(1);

    const number = gh.issues[0].number;
    expect(await run(255, DRIFT_TEXT.replace("renamed-by-hand", "renamed-again"))).toEqual({ outcome: "drift", action: "update", number });
    expect(gh.issues).toHaveLength(1);
    expect(gh.issues[0].body).toContain("renamed-again");

    // Another stack's drift is its own issue.
    expect(await run(255, DRIFT_TEXT, "staging")).toMatchObject({ action: "create" });
    expect(gh.issues).toHaveLength(2);

    expect(await run(255, "error: could not connect to the backend")).toEqual({ outcome: "error", action: "none" });
    expect(gh.issues[0].state).toBe("open");
    expect(gh.core.failed).toEqual(["pulumi preview failed on stack prod for another reason than drift: see the step's log"]);

    expect(await run(0, "Resources: 7 unchanged")).toEqual({ outcome: "clean", action: "close", number });
    expect(gh.issues[0].state).toBe("closed");
    expect(gh.comments.map((c) => c.body)).toEqual(["No drift any more on stack `prod` (https://ci/run): closing."]);
    expect(gh.issues[1].state).toBe("open");
  });
});

const fixture = (name: string) => fs.readFileSync(path.join(PROJECT_ROOT, "test/fixtures/ci", name), "utf8");
const MERGE_SHA = "b7e1d2c3a4f5061728394a5b6c7d8e9f00112233";
const HEAD_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4";

describe("scripts/ci/update-plan.js: one saved plan per stack and head commit", () => {
  it("names the artifact after the stack and the commit, unambiguously, and refuses anything else", () => {
    expect(updatePlan.planArtifactName("prod", HEAD_SHA)).toBe(`update-plan@prod@${HEAD_SHA}`);
    expect(updatePlan.planArtifactName("my-org/prod", HEAD_SHA)).toBe(`update-plan@my-org+prod@${HEAD_SHA}`);
    expect(updatePlan.planArtifactName("my-org/prod", HEAD_SHA)).not.toBe(updatePlan.planArtifactName("my-org.prod", HEAD_SHA));
    expect(() => updatePlan.planArtifactName("prod", "main")).toThrow(/not a commit/);
    expect(() => updatePlan.planArtifactName("a/b/c", HEAD_SHA)).toThrow(/not a stack name/);
    expect(() => updatePlan.planArtifactName("prod\n", HEAD_SHA)).toThrow(/not a stack name/);
  });

  it("runs nothing without a plan, says so in the job summary, and exits 1; a usage mistake exits 2", () => {
    const dir = fs.mkdtempSync(path.join(tmp, "no-plan-"));
    const summary = path.join(dir, "summary.md");
    // A `pulumi` that would leave a trace if it were run.
    fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\ntouch "${dir}/pulumi-ran"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: summary };
    const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "scripts/ci/update-plan.js"), "apply", "--stack", "prod", "--plan", path.join(dir, "update-plan.json")], { cwd: dir, env, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(fs.existsSync(path.join(dir, "pulumi-ran"))).toBe(false);
    expect(fs.readFileSync(summary, "utf8")).toContain("### Stack `prod`: not applied, no reviewed plan");
    expect(r.stderr).toContain("::error::stack prod: no reviewed plan; nothing was applied");
    const usage = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "scripts/ci/update-plan.js"), "save", "--stack", "prod", "--sha", "HEAD"], { cwd: dir, env, encoding: "utf8" });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('update-plan: not a commit (40 hex digits): "HEAD"');
  });
});

describe("scripts/ci/plan-violations.js: the engine's refusal, per account and field", () => {
  const plan = {
    resourcePlans: {
      "urn:pulumi:prod::connected-accounts::pulumi-nodejs:dynamic/composio:ConnectedAccount::ca_plan_sops": {
        state: { accountFile: "accounts/openai/sops.yaml", alias: "sops-one", fingerprints: { api_key: "hmac:f7c065cb2080", token: "hmac:0a1b2c3d4e5f" } },
      },
      "urn:pulumi:prod::connected-accounts::pulumi-nodejs:dynamic/composio:ConnectedAccount::ca_plan_file": {
        state: { accountFile: "accounts/openai/file.yaml", alias: "file-one" },
      },
      "urn:pulumi:prod::connected-accounts::pulumi-nodejs:dynamic/composio:ConnectedAccount::ca_plan_env": {
        state: { accountFile: "accounts/openai/env.yaml", alias: "env-three" },
      },
    },
  };

  it("reads Go's rendering of property values", () => {
    expect(planViolations.parseValue("{b2}")).toBe("b2");
    expect(planViolations.parseValue("{map[api_key:{hmac:8b6c} sub:{acme corp}]}")).toEqual({ api_key: "hmac:8b6c", sub: "acme corp" });
    expect(planViolations.parseValue("{map[api_key:{map[env:{KEY_A}]}]}")).toEqual({ api_key: { env: "KEY_A" } });
    expect(planViolations.parseValue("{[{a} {b}]}")).toEqual(["a", "b"]);
    expect(planViolations.parseChanges("~~alias[{env-three}!={env-edited-later}], =-paused[{true}]")).toEqual([
      { property: "alias", expected: "changed", actual: "changed", reviewedValue: "env-three", value: "env-edited-later" },
      { property: "paused", expected: "unchanged", actual: "removed", reviewedValue: "true" },
    ]);
  });

  it("names each refused account, its file and field, what was reviewed and what the apply found", () => {
    const violations = planViolations.parseViolations(fixture("up-plan-refused.txt"));
    // Each resource once, though the CLI prints it in the progress and again under Diagnostics.
    expect(violations.map((v: { urn: string; kind: string }) => [v.urn.split("::").pop(), v.kind])).toEqual([
      ["ca_plan_file", "properties"], ["ca_plan_sops", "properties"], ["ca_plan_new", "operation"], ["ca_plan_env", "properties"],
    ]);
    expect(planViolations.describeViolations(violations, plan)).toEqual([
      { account: "ca_plan_file", file: "accounts/openai/file.yaml", field: "alias", reviewed: "file-one", found: "file-unreviewed", why: "unchanged in the reviewed plan, changed now" },
      // Only the key whose fingerprint moved, although the engine prints the whole map.
      { account: "ca_plan_sops", file: "accounts/openai/sops.yaml", field: "credentials.api_key", reviewed: "hmac:f7c065cb2080", found: "hmac:8b6cd37bca08", why: "its value differs from the one the reviewed preview showed (unchanged in the plan, changed now)" },
      { account: "ca_plan_new", file: undefined, field: "(the step)", why: "the apply would create it, which the reviewed plan does not allow (no steps were expected for this resource)" },
      { account: "ca_plan_env", file: "accounts/openai/env.yaml", field: "alias", reviewed: "env-three", found: "env-edited-later", why: "changed in the reviewed plan, changed now" },
    ]);
  });

  it("escapes what a file or an account id holds before it reaches the summary", () => {
    const findings = [{ account: "ca_`x`", file: "accounts/a|b.yaml", field: "alias", reviewed: "a\u001b[2Jb", found: "c\nd", why: "x | y" }];
    const summary = updatePlan.refusedSummary({ stack: "prod", findings });
    expect(summary).not.toContain("\u001b");
    expect(summary).toContain("`a\\x1b[2Jb`");
    expect(summary).toContain("`c\\x0ad`");
    expect(summary.split("\n").filter((l: string) => l.startsWith("| `ca_"))).toHaveLength(1);
    expect(updatePlan.annotation("a.yaml\n::add-mask::x 100%")).toBe("a.yaml%0A::add-mask::x 100%25");
  });
});

describe("scripts/ci/merged-plan.js: the merged pull request's reviewed plan", () => {
  it("finds the pull request from a merge commit, a squash merge's message, or none for a direct push", () => {
    const merge = JSON.parse(fixture("pulls-merge-commit.json"));
    expect(mergedPlan.mergedPullRequest(merge, { sha: MERGE_SHA, baseRef: "main" })).toEqual({ number: 42, headSha: HEAD_SHA, sameRepository: true });
    // An unmerged pull request that happens to contain the commit is never taken.
    expect(mergedPlan.mergedPullRequest(merge, { sha: "9c0ffee000000000000000000000000000000041", baseRef: "main" })).toBeUndefined();
    expect(mergedPlan.mergedPullRequest([], { sha: MERGE_SHA })).toBeUndefined();
    expect(mergedPlan.pullRequestNumberFromMessage("Merge pull request #42 from acme/rename-github\n\nRename")).toBe(42);
    expect(mergedPlan.pullRequestNumberFromMessage("Rename the GitHub account (#57)\n\n* squashed")).toBe(57);
    expect(mergedPlan.pullRequestNumberFromMessage("Fix a typo")).toBeUndefined();
    const fork = JSON.parse(fixture("pulls-squash-fork.json"));
    expect(mergedPlan.mergedPullRequest(fork, { sha: "57575757575757575757575757575757575757aa", number: 57, baseRef: "main" })).toMatchObject({ number: 57, sameRepository: false });
  });

  it("takes only an unexpired plan made by the pull-request workflow at that head commit", () => {
    const { artifacts } = JSON.parse(fixture("plan-artifacts.json"));
    const runs = JSON.parse(fixture("plan-workflow-runs.json"));
    const name = updatePlan.planArtifactName("prod", HEAD_SHA);
    const picked = mergedPlan.pickPlanArtifact(artifacts, runs, { name, headSha: HEAD_SHA, workflowPath: ".github/workflows/pull-request.yml" });
    // 1001 expired, 1003 came from another commit, 1004 from another workflow: 1002.
    expect(picked.id).toBe(1002);
    expect(mergedPlan.pickPlanArtifact(artifacts, runs, { name, headSha: "f".repeat(40), workflowPath: ".github/workflows/pull-request.yml" })).toBeUndefined();
  });

  /** The calls github-script's client makes, answered from the fixtures. */
  function gitHub(pulls: unknown[], pullByNumber: Record<number, unknown> = {}) {
    const { artifacts } = JSON.parse(fixture("plan-artifacts.json"));
    const runs = JSON.parse(fixture("plan-workflow-runs.json"));
    const outputs: Record<string, string> = {};
    const failed: string[] = [];
    let summary = "";
    const core = {
      setOutput: (k: string, v: string) => void (outputs[k] = v),
      setFailed: (m: string) => void failed.push(m),
      summary: { addRaw(text: string) { summary += text; return this; }, async write() { return this; } },
    };
    const github = {
      paginate: async (method: (a: any) => Promise<{ data: any }>, args: any) => (await method(args)).data,
      rest: {
        repos: { listPullRequestsAssociatedWithCommit: async () => ({ data: pulls }) },
        pulls: { get: async ({ pull_number }: any) => ({ data: pullByNumber[pull_number] }) },
        actions: {
          listArtifactsForRepo: async ({ name }: any) => ({ data: artifacts.filter((a: { name: string }) => a.name === name) }),
          getWorkflowRun: async ({ run_id }: any) => ({ data: runs[run_id] }),
        },
      },
    };
    return { github, core, outputs, failed, summary: () => summary };
  }
  const push = (sha: string, message: string) => ({ repo: { owner: "acme", repo: "accounts" }, sha, ref: "refs/heads/main", payload: { head_commit: { message } } });

  it("gives the download step the artifact and its run, or stops the job with why there is no plan", async () => {
    const merged = gitHub(JSON.parse(fixture("pulls-merge-commit.json")));
    const found = await mergedPlan.locate({ github: merged.github, context: push(MERGE_SHA, "Merge pull request #42 from acme/rename-github"), core: merged.core }, { stack: "prod" });
    expect(found).toEqual({ "pull-request": "42", "head-sha": HEAD_SHA, artifact: `update-plan@prod@${HEAD_SHA}`, "run-id": "502" });
    expect(merged.outputs).toEqual(found);
    expect(merged.failed).toEqual([]);

    // A squash merge the commit listing does not know yet: found by the number in its message.
    const [squashed] = JSON.parse(fixture("pulls-merge-commit.json")).slice(1);
    const bySquash = gitHub([], { 42: squashed });
    expect(await mergedPlan.locate({ github: bySquash.github, context: push(MERGE_SHA, "Rename the GitHub account (#42)"), core: bySquash.core }, { stack: "prod" })).toMatchObject({ "run-id": "502" });

    const direct = gitHub([]);
    expect(await mergedPlan.locate({ github: direct.github, context: push("d".repeat(40), "Fix a typo"), core: direct.core }, { stack: "prod" })).toBeUndefined();
    expect(direct.failed).toEqual(["stack prod: no reviewed plan for this push; nothing was applied"]);
    expect(direct.summary()).toContain("without a merged pull request");
    expect(direct.outputs).toEqual({});

    const fork = gitHub(JSON.parse(fixture("pulls-squash-fork.json")));
    expect(await mergedPlan.locate({ github: fork.github, context: push("57575757575757575757575757575757575757aa", "x (#57)"), core: fork.core }, { stack: "prod" })).toBeUndefined();
    expect(fork.summary()).toContain("came from a fork");

    const otherStack = gitHub(JSON.parse(fixture("pulls-merge-commit.json")));
    expect(await mergedPlan.locate({ github: otherStack.github, context: push(MERGE_SHA, ""), core: otherStack.core }, { stack: "staging" })).toBeUndefined();
    expect(otherStack.summary()).toContain(`no saved plan \`update-plan@staging@${HEAD_SHA}\``);
  });
});

describe("scripts/ci/account-secrets.js: the references' secrets from the wiring file", () => {
  const WIRING = "env:\n  SHOPIFY_ACME_API_KEY: SHOPIFY_SECRET\nfiles:\n  secrets/app.pem: APP_PEM\n";
  const project = (wiring: string | undefined) => {
    const dir = fs.mkdtempSync(path.join(tmp, "wiring-"));
    fs.mkdirSync(path.join(dir, ".github"));
    if (wiring !== undefined) fs.writeFileSync(path.join(dir, ".github/connected-accounts-ci.yml"), wiring);
    fs.writeFileSync(path.join(dir, "github-env"), "");
    return dir;
  };
  const runIn = (dir: string, secrets: Record<string, string>) =>
    node("scripts/ci/account-secrets.js", [], dir, { PATH: process.env.PATH, GITHUB_ENV: path.join(dir, "github-env"), SECRETS_JSON: JSON.stringify(secrets) });

  it("exports each env line's secret for later steps, masked line by line, and writes each file (mode 600)", () => {
    const dir = project(WIRING);
    const pem = "-----BEGIN KEY-----\nplanted-pem-line\n-----END KEY-----\n";
    const r = runIn(dir, { SHOPIFY_SECRET: "planted-shopify-value", APP_PEM: pem, UNRELATED: "planted-unrelated" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("::add-mask::planted-shopify-value\n");
    expect(r.stdout).toContain("::add-mask::planted-pem-line\n");
    expect(r.stdout).toContain("from .github/connected-accounts-ci.yml: 1 environment variable(s) (SHOPIFY_ACME_API_KEY), 1 file(s) (secrets/app.pem)\n");
    // The values only inside mask commands; a secret the file does not name goes nowhere.
    expect(r.stdout.replace(/::add-mask::.*\n/g, "")).not.toMatch(/planted/);
    expect(r.stdout + r.stderr).not.toContain("planted-unrelated");
    const env = fs.readFileSync(path.join(dir, "github-env"), "utf8");
    expect(env).toMatch(/^SHOPIFY_ACME_API_KEY<<(ca_[0-9a-f]{24})\nplanted-shopify-value\n\1\n$/);
    expect(fs.readFileSync(path.join(dir, "secrets/app.pem"), "utf8")).toBe(pem);
    expect(fs.statSync(path.join(dir, "secrets/app.pem")).mode & 0o777).toBe(0o600);
  });

  it("names every secret that is not set, with the line that wants it, and exports nothing", () => {
    const dir = project(WIRING);
    const r = runIn(dir, { SHOPIFY_SECRET: "x" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("::error file=.github/connected-accounts-ci.yml::secret APP_PEM (for file secrets/app.pem, .github/connected-accounts-ci.yml line 4) is not set");
    expect(fs.readFileSync(path.join(dir, "github-env"), "utf8")).toBe("");
    expect(fs.existsSync(path.join(dir, "secrets/app.pem"))).toBe(false);
  });

  it("refuses a wiring file that would write outside the checkout, through a link, or set a variable the runner relies on", () => {
    const cases: [string, string][] = [
      ["files:\n  ../outside.pem: X\n", 'files.../outside.pem: "../outside.pem" must stay inside the repository'],
      ["files:\n  /etc/passwd: X\n", "must be relative to the repository root"],
      ["env:\n  NODE_OPTIONS: X\n", "env.NODE_OPTIONS: NODE_OPTIONS is a variable CI or the runner relies on"],
      ["env:\n  PULUMI_ACCESS_TOKEN: X\n", "env.PULUMI_ACCESS_TOKEN: PULUMI_ACCESS_TOKEN is a variable CI or the runner relies on"],
      ["env:\n  A: not a secret name\n", 'env.A: must name a CI secret'],
      ["env: [\n", "not valid YAML"],
    ];
    for (const [text, message] of cases) {
      const r = runIn(project(text), { X: "v" });
      expect(r.code, text).toBe(1);
      expect(r.stderr, text).toContain(message);
    }
    expect(runIn(project(undefined), {}).stderr).toContain(".github/connected-accounts-ci.yml: missing");
    const linked = project("files:\n  secrets/app.pem: X\n");
    fs.mkdirSync(path.join(linked, "secrets"));
    fs.symlinkSync(path.join(tmp, "elsewhere.pem"), path.join(linked, "secrets/app.pem"));
    const r = runIn(linked, { X: "planted" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("files.secrets/app.pem exists and is not a regular file");
    expect(fs.existsSync(path.join(tmp, "elsewhere.pem"))).toBe(false);
  });

  it("wires the project's own references from its own wiring file", () => {
    expect(accountSecrets.readWiring(PROJECT_ROOT).env.get("SHOPIFY_ACME_API_KEY")).toMatchObject({ secret: "SHOPIFY_ACME_API_KEY" });
  });
});

describe("the drift issue lists connections that need attention (connected-accounts health against the sandbox)", () => {
  const KEY = "health-test-key";
  const file = (id: string, toolkit: string, extra = "") => `id: ${id}\ntoolkit: ${toolkit}\nuserId: team\nauthScheme: API_KEY\n${extra}credentials:\n  api_key: { env: ${id.toUpperCase()}_KEY }\n`;
  const seeds = [
    { id: "ca_expired", toolkit: "github" },
    { id: "ca_failed", toolkit: "github" },
    { id: "ca_switched_off", toolkit: "shopify" },
    { id: "ca_meant_off", toolkit: "shopify" },
    { id: "ca_fine", toolkit: "slack" },
  ];
  let repo: GitRepo;
  beforeAll(() => {
    repo = new GitRepo("health");
    repo.write("accounts/github/expired.yaml", file("ca_expired", "github", "enabled: true\n"));
    repo.write("accounts/github/failed.yaml", file("ca_failed", "github"));
    repo.write("accounts/shopify/switched-off.yaml", file("ca_switched_off", "shopify", "enabled: true\n"));
    repo.write("accounts/shopify/meant-off.yaml", file("ca_meant_off", "shopify", "enabled: false\n"));
    repo.write("accounts/slack/fine.yaml", file("ca_fine", "slack", "enabled: true\n"));
  });
  afterAll(() => repo.cleanup());

  it("groups EXPIRED, FAILED and INACTIVE accounts the files expect to work by toolkit, says to reconnect, and closes the issue once they are fixed", async () => {
    const sandbox = await startSandbox({ apiKey: KEY, accounts: seeds.map((s) => ({ ...s, userId: "team", authScheme: "API_KEY" as const })) });
    try {
      const edit = (id: string, body: object) =>
        fetch(`${sandbox.url}/_sandbox/connected_accounts/${id}`, { method: "PATCH", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: JSON.stringify(body) });
      expect((await edit("ca_expired", { status: "EXPIRED", status_reason: "refresh token revoked | <b>by</b> `admin`", alias: "release|bot" })).status).toBe(200);
      await edit("ca_failed", { status: "FAILED" });
      await edit("ca_switched_off", { enabled: false });
      await edit("ca_meant_off", { enabled: false });
      const env: NodeJS.ProcessEnv = { ...process.env, COMPOSIO_API_KEY: KEY, COMPOSIO_BASE_URL: sandbox.url };
      delete env.PULUMI_STACK;
      const health = await runCliAsync(["health", "--format", "json"], { cwd: repo.dir, env });
      expect(health.code, health.stderr).toBe(1);
      const doc = JSON.parse(health.stdout);
      expect(doc.accounts.map((a: { id: string; status: string }) => `${a.id} ${a.status}`)).toEqual(["ca_expired EXPIRED", "ca_failed FAILED", "ca_switched_off INACTIVE"]);
      const text = await runCliAsync(["health"], { cwd: repo.dir, env });
      expect(text.stdout).toContain("github:\n  ca_expired (release|bot)  accounts/github/expired.yaml  EXPIRED: refresh token revoked | <b>by</b> `admin`\n    Reconnect it in Composio: its credentials expired. Enabling does not repair an expired connection");
      expect(text.stdout.trimEnd().split("\n").at(-1)).toBe("3 of 5 accounts need attention");

      const dir = fs.mkdtempSync(path.join(tmp, "health-"));
      fs.writeFileSync(path.join(dir, "health.json"), health.stdout);
      fs.writeFileSync(path.join(dir, "preview.txt"), "Resources: 5 unchanged\n");
      const gh = new GitHubIssues();
      const run = (healthExitCode: number) => drift.report(gh, { stack: "prod", exitCode: 0, healthExitCode, outputFile: path.join(dir, "preview.txt"), healthFile: path.join(dir, "health.json"), runUrl: "https://ci/run" });
      expect(await run(1)).toEqual({ outcome: "unhealthy", action: "create" });
      const issue = gh.issues[0];
      expect(issue.title).toBe("Connected accounts of stack prod need attention: 3 connections not working");
      expect(issue.body).toContain("**Enabling does not repair an EXPIRED or FAILED connection: reconnect the account in Composio**");
      expect(issue.body).toContain("#### github\n\n| account | file | status | what to do |\n|---|---|---|---|\n" +
        "| ca\\_expired (release\\|bot) | accounts/github/expired.yaml | EXPIRED: refresh token revoked \\| \\<b\\>by\\</b\\> \\`admin\\` | Reconnect it in Composio: its credentials expired.");
      expect(issue.body).toContain("| ca\\_failed | accounts/github/failed.yaml | FAILED |");
      expect(issue.body).toContain("#### shopify\n");
      expect(issue.body).toContain("the next apply switches it back on");
      expect(issue.body).not.toContain("ca_meant_off");
      expect(issue.body).not.toContain("ca\\_meant\\_off");
      expect(issue.body).not.toContain("slack");
      expect(issue.body).not.toMatch(/<b>/);

      // Reconnected in Composio, switched back on: the next run closes the issue.
      await edit("ca_expired", { status: "ACTIVE" });
      await edit("ca_failed", { status: "ACTIVE" });
      await edit("ca_switched_off", { enabled: true });
      const healthy = await runCliAsync(["health", "--format", "json"], { cwd: repo.dir, env });
      expect(healthy.code).toBe(0);
      fs.writeFileSync(path.join(dir, "health.json"), healthy.stdout);
      expect(await run(0)).toEqual({ outcome: "clean", action: "close", number: issue.number });
      expect(issue.state).toBe("closed");

      // Composio unreachable: a broken run, the issue left alone.
      const unreachable = await runCliAsync(["health", "--format", "json"], { cwd: repo.dir, env: { ...env, COMPOSIO_API_KEY: "wrong-key" } });
      expect(unreachable.code).toBe(3);
      expect(unreachable.stderr).toContain("Invalid API key");
      expect(await run(3)).toEqual({ outcome: "error", action: "none" });
      expect(gh.core.failed).toEqual(["connected-accounts health could not read the accounts of stack prod from Composio: see the step's log"]);
    } finally {
      await sandbox.close();
    }
  }, 60_000);
});
