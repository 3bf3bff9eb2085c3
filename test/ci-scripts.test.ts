/**
 * The scripts the workflows run (scripts/ci/): the stack matrix, the pinned CLI version, the plan
 * comment and the drift issue. The scripts run as the workflows run them (node, with the project
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
import { PROJECT_ROOT } from "./support/git-repo";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stacks = require("../scripts/ci/stacks.js");
const planComment = require("../scripts/ci/plan-comment.js");
const drift = require("../scripts/ci/drift.js");
const { codeBlock } = require("../scripts/ci/markdown.js");

function node(script: string, args: string[], cwd = PROJECT_ROOT) {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, script), ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ca-ci-scripts-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function projectWithStacks(text: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(tmp, "p-"));
  fs.mkdirSync(path.join(dir, ".github"));
  if (text !== undefined) fs.writeFileSync(path.join(dir, ".github/stacks.yml"), text);
  return dir;
}

describe("scripts/ci/stacks.js: the stack matrix", () => {
  it("prints the matrix of .github/stacks.yml for $GITHUB_OUTPUT, all stacks or the one asked for", () => {
    expect(node("scripts/ci/stacks.js", [])).toEqual({ code: 0, stdout: 'matrix={"include":[{"stack":"prod","environment":"production"}]}\n', stderr: "" });
    const dir = projectWithStacks("stacks:\n  - stack: my-org/prod\n    environment: production\n  - stack: staging\n    environment: staging\n");
    expect(JSON.parse(node("scripts/ci/stacks.js", [], dir).stdout.slice("matrix=".length)).include.map((s: { stack: string }) => s.stack)).toEqual(["my-org/prod", "staging"]);
    expect(node("scripts/ci/stacks.js", ["--only", "staging"], dir).stdout).toBe('matrix={"include":[{"stack":"staging","environment":"staging"}]}\n');
    expect(node("scripts/ci/stacks.js", ["--only", "all"], dir).stdout).toContain('"my-org/prod"');
    expect(node("scripts/ci/stacks.js", ["--only", ""], dir).stdout).toContain('"staging"');
  });

  it("refuses a list it cannot use with one annotated line naming the file, the entry and the fix", () => {
    const cases: [string | undefined, string[], string][] = [
      [undefined, [], ".github/stacks.yml: missing: list the stacks CI works on there"],
      ["stacks: [\n", [], ".github/stacks.yml: not valid YAML: "],
      ["stacks: []\n", [], '.github/stacks.yml: "stacks" must list at least one stack'],
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

  it("finds only a bot's comment with this stack's marker", () => {
    const comments = [
      { id: 1, body: `${planComment.stackMarker("prod")}\nby hand`, user: { type: "User" } },
      { id: 2, body: `${planComment.stackMarker("prod-eu")}\n…`, user: { type: "Bot" } },
      { id: 3, body: `${planComment.stackMarker("prod")}\n…`, user: { type: "Bot" } },
    ];
    expect(planComment.findStackComment(comments, "prod").id).toBe(3);
    expect(planComment.findStackComment(comments, "staging")).toBeUndefined();
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
