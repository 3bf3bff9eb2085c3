// The pull request's plan comment, one per stack, replaced on every push: the plan when validate
// and plan passed, else what failed, so a comment never shows the plan of an older push.
// From actions/github-script:
//   await require("./scripts/ci/plan-comment.js").post({ github, context }, { stack, validate, plan, runUrl })
// where validate and plan are the steps' outcomes ("success", "failure", "skipped").
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
function planCommentBody({ stack, validate, plan, planMarkdown = "", validateOutput = "", planOutput = "", runUrl = "" }) {
  const head = `${stackMarker(stack)}\n**Stack \`${stack}\`**`;
  const run = runUrl ? `\n\n[The run](${runUrl}) has the whole log.` : "";
  if (validate !== "success") {
    return `${head}\n\n### Connected accounts plan: validation failed\n\n` +
      `\`connected-accounts validate\` found problems in the account files, so this push has no plan. ` +
      `Fix them and push again: this comment is updated.\n\n${codeBlock(validateOutput || "(no output)")}${run}\n`;
  }
  if (plan !== "success" || planMarkdown.trim() === "") {
    return `${head}\n\n### Connected accounts plan: plan failed\n\n` +
      `\`connected-accounts plan\` did not finish (${plan}), so this push has no plan.\n\n${codeBlock(planOutput || "(no output)")}${run}\n`;
  }
  return `${head}\n\n${planMarkdown.trimEnd()}\n`;
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

async function post({ github, context }, { stack, validate, plan, runUrl, files = {} }) {
  const body = planCommentBody({
    stack,
    validate,
    plan,
    runUrl,
    planMarkdown: readIfThere(files.plan || "plan.md"),
    validateOutput: readIfThere(files.validate || "validate.txt"),
    planOutput: readIfThere(files.planOutput || "plan-output.txt"),
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
