// The pull request's plan comment, one per stack, replaced on every push: the plan and the Pulumi
// preview when every step passed, else what failed, so a comment never shows the plan of an older push.
// From actions/github-script:
//   await require("./scripts/ci/plan-comment.js").post({ github, context }, { stack, validate, checkEnv, plan, preview, runUrl, savedPlan, previewEnvironment })
// where validate, checkEnv, plan and preview are the steps' outcomes ("success", "failure", "skipped";
// checkEnv and preview undefined when the workflow has no such step; preview "waiting" while the
// preview job waits for `previewEnvironment`'s approval), and savedPlan the name of the update-plan
// artifact the preview was saved as.
"use strict";
const fs = require("node:fs");
const { codeBlock } = require("./markdown.js");

/** Finds a stack's comment again; the plan's own marker (first line of plan.md) follows it. */
function stackMarker(stack) {
  return `<!-- connected-accounts-plan stack=${encodeURIComponent(stack)} -->`;
}

/**
 * The comment for one push. `planMarkdown` is plan.md (plan --format markdown), `validateOutput`
 * and `planOutput` what those steps printed; files that were never written are "".
 */
function planCommentBody({ stack, validate, checkEnv, plan, preview, planMarkdown = "", validateOutput = "", checkEnvOutput = "", planOutput = "", previewOutput = "", runUrl = "", savedPlan = "", previewEnvironment = "" }) {
  const head = `${stackMarker(stack)}\n**Stack \`${stack}\`**`;
  const run = runUrl ? `\n\n[The run](${runUrl}) has the whole log.` : "";
  if (validate !== "success") {
    return `${head}\n\n### Connected accounts plan: validation failed\n\n` +
      `\`connected-accounts validate\` found problems in the account files, so this push has no plan. ` +
      `Fix them and push again: this comment is updated.\n\n${codeBlock(validateOutput || "(no output)")}${run}\n`;
  }
  if (checkEnv !== undefined && checkEnv !== "" && checkEnv !== "success") {
    return `${head}\n\n### Connected accounts plan: CI cannot read every reference\n\n` +
      `\`connected-accounts check-env\` found references that a workflow running Pulumi would not get ` +
      `(each with the line to add to \`.github/connected-accounts-ci.yml\`), so this push has no plan. ` +
      `Fix them and push again: this comment is updated.\n\n${codeBlock(checkEnvOutput || "(no output)")}${run}\n`;
  }
  if (plan !== "success" || planMarkdown.trim() === "") {
    return `${head}\n\n### Connected accounts plan: plan failed\n\n` +
      `\`connected-accounts plan\` did not finish (${plan}), so this push has no plan.\n\n${codeBlock(planOutput || "(no output)")}${run}\n`;
  }
  return `${head}\n\n${planMarkdown.trimEnd()}\n${previewSection(preview, previewOutput, run, previewEnvironment)}${savedPlanNote(preview, savedPlan)}`;
}

/** What the merge applies: this preview, saved as an update plan, and nothing else. */
function savedPlanNote(preview, savedPlan) {
  if (preview !== "success" || !savedPlan) return "";
  return `\n**Saved as the update plan \`${savedPlan.replace(/`/g, "")}\`.** Merging applies this preview and nothing else: ` +
    "an account whose files, secrets or state differ from it when the merge is applied is refused, and nothing is sent for it. " +
    "A new push replaces this plan.\n";
}

/** The Pulumi preview against the real stack, folded under the plan; nothing when it did not run. */
function previewSection(preview, output, run, environment) {
  if (preview === "waiting") {
    return `\n> The Pulumi preview against the real stack runs in the GitHub environment \`${String(environment).replace(/`/g, "")}\`, ` +
      "which holds the keys, once a maintainer approves it (after reading this branch's changes); this comment is updated then. " +
      "Without that preview no plan is saved, and the merge applies nothing.\n";
  }
  if (preview === undefined || preview === "" || preview === "skipped") return "";
  const verdict = preview === "success" ? "Pulumi preview" : `Pulumi preview: ${preview === "failure" ? "failed" : preview}`;
  return `\n<details${preview === "success" ? "" : " open"}><summary>${verdict}</summary>\n\n${codeBlock(output || "(no output)")}\n\n</details>${run}\n`;
}

/** The comment to replace: this stack's, written by a bot (the workflow's token), or undefined. */
function findStackComment(comments, stack) {
  const marker = stackMarker(stack);
  return comments.find((c) => c.user && c.user.type === "Bot" && (c.body || "").startsWith(marker));
}

function readIfThere(file) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

async function post({ github, context }, { stack, validate, checkEnv, plan, preview, runUrl, savedPlan, previewEnvironment, files = {} }) {
  const body = planCommentBody({
    stack,
    savedPlan,
    previewEnvironment,
    validate,
    checkEnv,
    plan,
    preview,
    runUrl,
    planMarkdown: readIfThere(files.plan || "plan.md"),
    validateOutput: readIfThere(files.validate || "validate.txt"),
    checkEnvOutput: readIfThere(files.checkEnv || "check-env.txt"),
    planOutput: readIfThere(files.planOutput || "plan-output.txt"),
    previewOutput: readIfThere(files.preview || "preview.txt"),
  });
  const { owner, repo } = context.repo;
  const issue_number = context.issue.number;
  const comments = await github.paginate(github.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 });
  const previous = findStackComment(comments, stack);
  if (previous) await github.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
  else await github.rest.issues.createComment({ owner, repo, issue_number, body });
  return body;
}

module.exports = { planCommentBody, findStackComment, stackMarker, post };
