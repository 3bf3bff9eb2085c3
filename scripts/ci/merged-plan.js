// On a push to main: which pull request was merged, and where its reviewed update plan is. The plan
// was saved by the pull request's preview, per stack and head commit (update-plan.js); a merge
// commit or a squash merge is a new commit, so the pull request is found from the pushed commit.
// From actions/github-script (needs `actions: read`, `pull-requests: read`):
//   await require("./scripts/ci/merged-plan.js").locate({ github, context, core }, { stack, workflow })
// sets the step outputs `pull-request`, `head-sha`, `artifact` and `run-id` (for
// actions/download-artifact), or writes why there is no plan to the job summary and fails the step.
"use strict";
const { planArtifactName } = require("./update-plan.js");

/** "Merge pull request #12 from owner/branch" (merge commit) or "Title (#12)" (squash, first line). */
function pullRequestNumberFromMessage(message) {
  const text = String(message || "");
  const merge = /^Merge pull request #(\d+) from /.exec(text);
  if (merge) return Number(merge[1]);
  const squash = /\(#(\d+)\)\s*$/.exec(text.split("\n")[0]);
  return squash ? Number(squash[1]) : undefined;
}

/**
 * The pull request merged by the pushed commit `sha`, from the API's pull requests associated with
 * that commit (GET /repos/{owner}/{repo}/commits/{sha}/pulls): the merged one whose merge commit it
 * is (a merge commit, a squash or the last commit of a rebase). `number` narrows it when the commit
 * message names one. undefined when the push merged no pull request.
 */
function mergedPullRequest(associated, { sha, number, baseRef }) {
  const merged = (associated || []).filter((pr) => pr && pr.merged_at && (!baseRef || (pr.base && pr.base.ref === baseRef)));
  const byMerge = merged.filter((pr) => pr.merge_commit_sha === sha);
  const candidates = byMerge.length ? byMerge : merged.filter((pr) => number !== undefined && pr.number === number);
  const pr = number !== undefined ? candidates.find((p) => p.number === number) || candidates[0] : candidates[0];
  return pr && pr.head && pr.head.sha ? { number: pr.number, headSha: pr.head.sha, sameRepository: !!(pr.head.repo && pr.base && pr.base.repo && pr.head.repo.full_name === pr.base.repo.full_name) } : undefined;
}

/**
 * The plan artifact to use among the repository's artifacts of that name (GET /repos/{owner}/{repo}/actions/artifacts?name=…):
 * not expired, made by a run of `workflowPath` (the pull-request workflow) at the pull request's head commit,
 * the newest first. `runs` maps a run id to its workflow run (GET …/actions/runs/{id}).
 */
function pickPlanArtifact(artifacts, runs, { name, headSha, workflowPath }) {
  return (artifacts || [])
    .filter((a) => a.name === name && !a.expired && a.workflow_run && a.workflow_run.head_sha === headSha)
    .filter((a) => {
      const run = runs[a.workflow_run.id];
      return run && run.path === workflowPath && run.event === "pull_request" && run.head_sha === headSha;
    })
    .sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)))[0];
}

async function noPlan(core, stack, why) {
  await core.summary.addRaw(`### Stack \`${stack}\`: not applied, no reviewed plan\n\n${why}\n\n` +
    "Nothing was run and nothing was sent to Composio. To apply this change, run the **apply** workflow by hand: " +
    "it previews `main`, waits for a reviewer's approval of that preview, and applies exactly it.\n").write();
  core.setFailed(`stack ${stack}: no reviewed plan for this push; nothing was applied`);
}

async function locate({ github, context, core }, { stack, workflow = ".github/workflows/pull-request.yml" }) {
  const { owner, repo } = context.repo;
  const sha = context.sha;
  const baseRef = String(context.ref || "").replace(/^refs\/heads\//, "");
  const message = context.payload && context.payload.head_commit ? context.payload.head_commit.message : "";
  const number = pullRequestNumberFromMessage(message);
  const { data: associated } = await github.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: sha });
  let pr = mergedPullRequest(associated, { sha, number, baseRef });
  if (!pr && number !== undefined) {
    const { data } = await github.rest.pulls.get({ owner, repo, pull_number: number });
    if (data && data.merged_at && data.merge_commit_sha === sha) pr = mergedPullRequest([data], { sha, number, baseRef });
  }
  if (!pr) {
    await noPlan(core, stack, `Commit \`${sha}\` was pushed to \`${baseRef}\` without a merged pull request, so no preview of it was reviewed.`);
    return undefined;
  }
  if (!pr.sameRepository) {
    await noPlan(core, stack, `Pull request #${pr.number} came from a fork: its preview ran without the keys, so no plan was saved.`);
    return undefined;
  }
  const name = planArtifactName(stack, pr.headSha);
  const artifacts = await github.paginate(github.rest.actions.listArtifactsForRepo, { owner, repo, name, per_page: 100 });
  const runs = {};
  for (const a of artifacts) {
    const id = a.workflow_run && a.workflow_run.id;
    if (id && !runs[id]) runs[id] = (await github.rest.actions.getWorkflowRun({ owner, repo, run_id: id })).data;
  }
  const artifact = pickPlanArtifact(artifacts, runs, { name, headSha: pr.headSha, workflowPath: workflow });
  if (!artifact) {
    await noPlan(core, stack, `Pull request #${pr.number} was merged at head \`${pr.headSha}\`, but no saved plan \`${name}\` of that commit was found ` +
      "(its preview failed, did not run with the keys, or the artifact expired).");
    return undefined;
  }
  const found = { "pull-request": String(pr.number), "head-sha": pr.headSha, artifact: name, "run-id": String(artifact.workflow_run.id) };
  for (const [key, value] of Object.entries(found)) core.setOutput(key, value);
  return found;
}

module.exports = { pullRequestNumberFromMessage, mergedPullRequest, pickPlanArtifact, locate };
