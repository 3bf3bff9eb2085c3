// The scheduled drift check, per stack: `pulumi preview --refresh --expect-no-changes` tells
// whether Composio still holds what git declares, and `connected-accounts health` which accounts
// the files expect to work have a connection that does not (EXPIRED, FAILED, INACTIVE). One open
// issue per stack says so while either lasts (opened once, then updated on each run) and is closed
// by the first clean run. From actions/github-script:
//   await require("./scripts/ci/drift.js").report({ github, context, core }, { stack, exitCode, healthExitCode, outputFile, healthFile, runUrl })
"use strict";
const fs = require("node:fs");
const { codeBlock, tableCell } = require("./markdown.js");

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

function driftIssueTitle(stack, { drift = true, unhealthy = 0 } = {}) {
  if (!drift && unhealthy > 0) return `Connected accounts of stack ${stack} need attention: ${unhealthy} connection${unhealthy === 1 ? "" : "s"} not working`;
  return `Drift: connected accounts of stack ${stack} differ from git`;
}

/**
 * The `health.json` of `connected-accounts health --format json`, from its exit code (0 healthy, 1
 * some not): the accounts to list, or undefined when the check did not run or could not read Composio.
 */
function readHealth(healthExitCode, text) {
  const code = String(healthExitCode ?? "").trim();
  if (code !== "0" && code !== "1") return undefined;
  try {
    const doc = JSON.parse(text);
    return Array.isArray(doc.accounts) ? doc.accounts : undefined;
  } catch {
    return undefined;
  }
}

/** Unhealthy accounts grouped by toolkit, one table each; every string from a file or the API is escaped. */
function healthSection(accounts) {
  const groups = new Map();
  for (const a of accounts) groups.set(a.toolkit, [...(groups.get(a.toolkit) || []), a]);
  let text = `### Connections that need attention (${accounts.length})\n\n` +
    `Composio reports these accounts EXPIRED, FAILED or INACTIVE while their file says enabled (or does not manage it). ` +
    `A preview shows no change for them. **Enabling does not repair an EXPIRED or FAILED connection: reconnect the account in Composio** ` +
    `(the dashboard's connected accounts, or your app's connect flow), and nothing in git needs to change.\n`;
  for (const [toolkit, list] of groups) {
    text += `\n#### ${tableCell(toolkit)}\n\n| account | file | status | what to do |\n|---|---|---|---|\n`;
    for (const a of list) {
      const name = `${tableCell(a.id)}${a.alias ? ` (${tableCell(a.alias)})` : ""}`;
      const status = `${tableCell(a.status)}${a.statusReason ? `: ${tableCell(a.statusReason)}` : ""}`;
      text += `| ${name} | ${tableCell(a.file)} | ${status} | ${tableCell(a.action)} |\n`;
    }
  }
  return text;
}

function driftIssueBody({ stack, output, runUrl = "", drift = true, unhealthy = [] }) {
  const last = `This issue is updated on each run that still finds something and closed by the first clean run.${runUrl ? ` Last run: ${runUrl}` : ""}`;
  let body = `${issueMarker(stack)}\n`;
  if (unhealthy.length > 0) body += `The scheduled check on stack \`${stack}\` found connected accounts that need attention. ${last}\n\n${healthSection(unhealthy)}\n`;
  if (!drift) return body;
  return body + (unhealthy.length > 0 ? "### Drift\n\n" : "") +
    `The scheduled \`pulumi preview --refresh --expect-no-changes\` on stack \`${stack}\` found connected accounts ` +
    `that differ from the account files (an alias renamed in the dashboard, an account deleted, …).\n\n` +
    `- To put back what git declares, run the **apply** workflow for this stack (or merge a change).\n` +
    `- To keep what Composio holds, change the account files to match, in a pull request.\n\n` +
    `${unhealthy.length > 0 ? "" : `${last}\n\n`}${codeBlock(output || "(no output)")}\n`;
}

/** What to do with the stack's open drift issue (undefined when there is none) after a run. */
function driftAction(openIssue, outcome) {
  if (outcome === "error") return { action: "none" };
  if (outcome === "drift" || outcome === "unhealthy") return openIssue ? { action: "update", number: openIssue.number } : { action: "create" };
  return openIssue ? { action: "close", number: openIssue.number } : { action: "none" };
}

function findDriftIssue(issues, stack) {
  const marker = issueMarker(stack);
  return issues.find((i) => !i.pull_request && (i.body || "").startsWith(marker));
}

function readIfThere(file) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/**
 * `healthExitCode` undefined: the workflow has no health step (the preview alone decides). Any other
 * code than 0 or 1 means Composio could not be read: a broken run, like a failed preview.
 */
async function report({ github, context, core }, { stack, exitCode, healthExitCode, outputFile = "preview.txt", healthFile = "health.json", runUrl = "" }) {
  // No output: the step did not get as far as running pulumi.
  const output = readIfThere(outputFile);
  const preview = classifyPreview(exitCode, output);
  const health = healthExitCode === undefined ? [] : readHealth(healthExitCode, readIfThere(healthFile));
  const outcome = preview === "error" || health === undefined ? "error" : preview === "drift" ? "drift" : health.length > 0 ? "unhealthy" : "clean";
  const unhealthy = health || [];
  const { owner, repo } = context.repo;
  const open = await github.paginate(github.rest.issues.listForRepo, { owner, repo, state: "open", labels: LABEL, per_page: 100 });
  const decision = driftAction(findDriftIssue(open, stack), outcome);
  const drift = preview === "drift";
  const body = driftIssueBody({ stack, output, runUrl, drift, unhealthy });
  const title = driftIssueTitle(stack, { drift, unhealthy: unhealthy.length });
  if (decision.action === "create") {
    await github.rest.issues.create({ owner, repo, title, body, labels: [LABEL] });
  } else if (decision.action === "update") {
    await github.rest.issues.update({ owner, repo, issue_number: decision.number, title, body });
  } else if (decision.action === "close") {
    await github.rest.issues.createComment({ owner, repo, issue_number: decision.number, body: `No drift any more on stack \`${stack}\`${runUrl ? ` (${runUrl})` : ""}: closing.` });
    await github.rest.issues.update({ owner, repo, issue_number: decision.number, state: "closed", state_reason: "completed" });
  }
  if (preview === "error") core.setFailed(`pulumi preview failed on stack ${stack} for another reason than drift: see the step's log`);
  else if (health === undefined) core.setFailed(`connected-accounts health could not read the accounts of stack ${stack} from Composio: see the step's log`);
  else if (outcome !== "clean") core.warning(`${drift ? "drift" : "connections that need attention"} on stack ${stack}: see the open issue "${title}"`);
  return { outcome, ...decision };
}

module.exports = { classifyPreview, driftAction, driftIssueBody, driftIssueTitle, findDriftIssue, issueMarker, readHealth, report, LABEL };
