// The scheduled drift check, per stack: `pulumi preview --refresh --expect-no-changes` tells
// whether Composio still holds what git declares. One open issue per stack says so while it does
// not (opened once, then updated on each run that finds drift) and is closed by the first clean run.
// From actions/github-script:
//   await require("./scripts/ci/drift.js").report({ github, context, core }, { stack, exitCode, outputFile, runUrl })
"use strict";
const fs = require("node:fs");
const { codeBlock } = require("./markdown.js");

const LABEL = "connected-accounts-drift";
/** What Pulumi prints when --expect-no-changes meets changes (`… for <operation> …` in newer CLIs). */
const CHANGES_PROPOSED = /no changes were expected(?: for \S+)? but changes were proposed/;

function issueMarker(stack) {
  return `<!-- connected-accounts-drift stack=${encodeURIComponent(stack)} -->`;
}

/** "clean" (exit 0), "drift" (changes proposed) or "error" (anything else: the run is broken, not the accounts). */
function classifyPreview(exitCode, output) {
  // An empty code means the preview never ran: not "clean".
  if (String(exitCode).trim() === "0") return "clean";
  return CHANGES_PROPOSED.test(output) ? "drift" : "error";
}

function driftIssueTitle(stack) {
  return `Drift: connected accounts of stack ${stack} differ from git`;
}

function driftIssueBody({ stack, output, runUrl = "" }) {
  return `${issueMarker(stack)}\n` +
    `The scheduled \`pulumi preview --refresh --expect-no-changes\` on stack \`${stack}\` found connected accounts ` +
    `that differ from the account files (an alias renamed in the dashboard, an account deleted, …).\n\n` +
    `- To put back what git declares, run the **apply** workflow for this stack (or merge a change).\n` +
    `- To keep what Composio holds, change the account files to match, in a pull request.\n\n` +
    `This issue is updated on each run that still finds drift and closed by the first clean run.` +
    `${runUrl ? ` Last run: ${runUrl}` : ""}\n\n${codeBlock(output || "(no output)")}\n`;
}

/** What to do with the stack's open drift issue (undefined when there is none) after a preview. */
function driftAction(openIssue, outcome) {
  if (outcome === "error") return { action: "none" };
  if (outcome === "drift") return openIssue ? { action: "update", number: openIssue.number } : { action: "create" };
  return openIssue ? { action: "close", number: openIssue.number } : { action: "none" };
}

function findDriftIssue(issues, stack) {
  const marker = issueMarker(stack);
  return issues.find((i) => !i.pull_request && (i.body || "").startsWith(marker));
}

async function report({ github, context, core }, { stack, exitCode, outputFile = "preview.txt", runUrl = "" }) {
  let output = "";
  try {
    output = fs.readFileSync(outputFile, "utf8");
  } catch {
    // no output: the step did not get as far as running pulumi
  }
  const outcome = classifyPreview(exitCode, output);
  const { owner, repo } = context.repo;
  const open = await github.paginate(github.rest.issues.listForRepo, { owner, repo, state: "open", labels: LABEL, per_page: 100 });
  const decision = driftAction(findDriftIssue(open, stack), outcome);
  const body = driftIssueBody({ stack, output, runUrl });
  if (decision.action === "create") {
    await github.rest.issues.create({ owner, repo, title: driftIssueTitle(stack), body, labels: [LABEL] });
  } else if (decision.action === "update") {
    await github.rest.issues.update({ owner, repo, issue_number: decision.number, body });
  } else if (decision.action === "close") {
    await github.rest.issues.createComment({ owner, repo, issue_number: decision.number, body: `No drift any more on stack \`${stack}\`${runUrl ? ` (${runUrl})` : ""}: closing.` });
    await github.rest.issues.update({ owner, repo, issue_number: decision.number, state: "closed", state_reason: "completed" });
  }
  if (outcome === "error") core.setFailed(`pulumi preview failed on stack ${stack} for another reason than drift: see the step's log`);
  else if (outcome === "drift") core.warning(`drift on stack ${stack}: see the open issue "${driftIssueTitle(stack)}"`);
  return { outcome, ...decision };
}

module.exports = { classifyPreview, driftAction, driftIssueBody, driftIssueTitle, findDriftIssue, issueMarker, report, LABEL };
