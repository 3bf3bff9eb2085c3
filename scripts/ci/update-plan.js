// Apply exactly what was reviewed: the preview a reviewer read is saved as a Pulumi update plan,
// and the apply runs `pulumi up --plan` with it, so the engine refuses (before any write) an
// account whose checked inputs are not what the preview showed: a secret rotated after the review,
// a file edited after it, another change in the tree that was not applied yet.
//
//   node scripts/ci/update-plan.js save  --stack NAME --sha COMMIT [--dir DIR]
//     `pulumi preview --diff --save-plan DIR/<plan file>`; the preview goes to the job summary, and
//     the artifact name and the plan file to $GITHUB_OUTPUT (`artifact`, `file`).
//   node scripts/ci/update-plan.js name  --stack NAME --sha COMMIT
//     the artifact name alone (`artifact=…`, also to $GITHUB_OUTPUT), for the job that downloads it.
//   node scripts/ci/update-plan.js apply --stack NAME --plan FILE [--reviewed TEXT] [--continue-on-error]
//     `pulumi up --plan FILE`; when the plan is missing or the engine refuses it, the job summary
//     names each account and field that differs from what was reviewed, and what to do.
//
// Both print the CLI's output as it comes and exit with its code (1 when nothing could run).
// The job summary is $GITHUB_STEP_SUMMARY (appended), else nowhere.
"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { codeBlock } = require("./markdown.js");
const { describeViolations, parseViolations } = require("./plan-violations.js");

/** Stack names (stacks.js) hold letters, digits, "-", "_", "." and one "/"; commits are 40 hex digits. */
const STACK_NAME = /^(?:[A-Za-z0-9_.-]+\/)?[A-Za-z0-9_.-]+$/;
const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The artifact holding a stack's plan for one commit. "@" and "+" never occur in a stack name and
 * are allowed in artifact names ("/" is not), so the name is unambiguous.
 */
function planArtifactName(stack, sha) {
  if (!STACK_NAME.test(String(stack))) throw new Error(`not a stack name: ${JSON.stringify(stack)}`);
  if (!COMMIT.test(String(sha))) throw new Error(`not a commit (40 hex digits): ${JSON.stringify(sha)}`);
  return `update-plan@${stack.replace("/", "+")}@${sha}`;
}

/** The plan file inside the artifact. */
const PLAN_FILE = "update-plan.json";

/** Markdown-safe inline text: no markup, no control characters, no line breaks. */
function inline(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined) return "(none)";
  return "`" + String(text).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).replace(/`/g, "'") + "`";
}

/** Text inside a `::error::` workflow command: GitHub's escapes, so a name cannot end it or start another. */
function annotation(text) {
  return String(text).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

function savedSummary({ stack, sha, ok, output }) {
  const head = `### Stack \`${stack}\`: ${ok ? "preview saved as the update plan" : "preview failed, no plan saved"}\n\n`;
  const body = ok
    ? `This preview of commit \`${sha}\` is saved as a Pulumi update plan. The apply runs \`pulumi up --plan\` with it and nothing else: ` +
      `an account whose files, secrets or recorded state differ from what is shown here when it runs is refused, and nothing is sent for it.\n\n`
    : `Nothing can be applied from this run.\n\n`;
  return `${head}${body}${codeBlock(output || "(no output)")}\n`;
}

const WHAT_TO_DO =
  "**What to do.** Nothing was sent to Composio for a refused plan. If the change is still wanted, " +
  "update the pull request's branch (merge or rebase on `main`) so its preview runs again and a new plan is saved, " +
  "then merge that; or, for a rotated secret or a change already on `main`, run the **apply** workflow by hand " +
  "(it previews, waits for a reviewer's approval of that preview, and applies exactly it).";

/** The summary of an apply that could not run the reviewed plan (`reason` says why), or that the engine refused. */
function refusedSummary({ stack, reviewed = "", missing, findings = [], output = "" }) {
  const lines = [`### Stack \`${stack}\`: not applied, ${missing ? "no reviewed plan" : "the apply differs from the reviewed preview"}`, ""];
  if (reviewed) lines.push(`Reviewed: ${reviewed}`, "");
  if (missing) {
    lines.push(missing, "");
  } else if (findings.length) {
    lines.push("| account | file | field | reviewed | now | why |", "|---|---|---|---|---|---|");
    for (const f of findings) {
      lines.push(`| ${inline(f.account)} | ${f.file ? inline(f.file) : "–"} | ${inline(f.field)} | ${f.reviewed === undefined ? "–" : inline(f.reviewed)} | ${f.found === undefined ? "–" : inline(f.found)} | ${f.why.replace(/[|\r\n]/g, " ")} |`);
    }
    lines.push("", "Fingerprints are keyed hashes of the values (the `fingerprintKey` stack secret), never the values.", "");
  } else {
    lines.push("`pulumi up --plan` failed before applying anything it could name; its output is below.", "");
  }
  lines.push(WHAT_TO_DO, "");
  if (output) lines.push(codeBlock(output), "");
  return lines.join("\n");
}

function appliedSummary({ stack, reviewed = "", ok, output }) {
  const title = ok ? "applied the reviewed plan" : "the apply of the reviewed plan failed";
  return `### Stack \`${stack}\`: ${title}\n\n${reviewed ? `Reviewed: ${reviewed}\n\n` : ""}${codeBlock(output || "(no output)")}\n`;
}

function writeOutputs(outputs) {
  const file = process.env.GITHUB_OUTPUT;
  const text = Object.entries(outputs).map(([k, v]) => `${k}=${v}\n`).join("");
  if (file) fs.appendFileSync(file, text);
  return text;
}

function writeSummary(text) {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (file) fs.appendFileSync(file, text.endsWith("\n") ? text : `${text}\n`);
}

/** Runs pulumi with the job's environment, printing as it goes; resolves its exit code and output. */
function runPulumi(args) {
  return new Promise((resolve) => {
    const child = spawn(process.env.PULUMI_COMMAND || "pulumi", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const take = (stream, out) => stream.on("data", (chunk) => {
      output += chunk.toString("utf8");
      out.write(chunk);
    });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    child.on("error", (err) => resolve({ code: 1, output: `${output}${err.message}\n` }));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

async function save({ stack, sha, dir = "." }) {
  planArtifactName(stack, sha);
  const file = path.join(dir, PLAN_FILE);
  fs.mkdirSync(dir, { recursive: true });
  fs.rmSync(file, { force: true });
  const { code, output } = await runPulumi(["preview", "--diff", "--non-interactive", "--stack", stack, "--save-plan", file]);
  const ok = code === 0 && fs.existsSync(file);
  writeSummary(savedSummary({ stack, sha, ok, output }));
  if (ok) writeOutputs({ artifact: planArtifactName(stack, sha), file });
  return { code: ok ? 0 : code || 1, file: ok ? file : undefined };
}

async function apply({ stack, plan, reviewed = "", continueOnError = false }) {
  if (!plan || !fs.existsSync(plan)) {
    const missing = plan
      ? `There is no saved plan at \`${plan}\`: the reviewed preview of this change was not found (it expired, or the change was never previewed with the keys, such as a push made without a pull request or a fork's pull request). Nothing was run.`
      : "No saved plan was given: nothing was run.";
    writeSummary(refusedSummary({ stack, reviewed, missing }));
    process.stderr.write(`::error::stack ${stack}: no reviewed plan; nothing was applied (see the job summary)\n`);
    return { code: 1, refused: true };
  }
  let saved;
  try {
    saved = JSON.parse(fs.readFileSync(plan, "utf8"));
  } catch (err) {
    writeSummary(refusedSummary({ stack, reviewed, missing: `The saved plan \`${plan}\` is not readable JSON (${err.message}). Nothing was run.` }));
    return { code: 1, refused: true };
  }
  // The preview `up` runs first is constrained to the plan too: a refusal stops the run before any update.
  const args = ["up", "--yes", "--non-interactive", "--diff", "--stack", stack, "--plan", plan];
  if (continueOnError) args.push("--continue-on-error");
  const { code, output } = await runPulumi(args);
  const violations = parseViolations(output);
  if (code !== 0 && violations.length) {
    const findings = describeViolations(violations, saved);
    writeSummary(refusedSummary({ stack, reviewed, findings, output }));
    for (const f of findings) {
      process.stderr.write(`::error::${annotation(`stack ${stack}: account ${f.account}${f.file ? ` (${f.file})` : ""} ${f.field}: ${f.why}; nothing was applied from this plan`)}\n`);
    }
    return { code, refused: true, findings };
  }
  writeSummary(appliedSummary({ stack, reviewed, ok: code === 0, output }));
  return { code, refused: false };
}

/** `--name value` pairs and bare `--flag`s. */
function parseArgs(argv) {
  const [command, ...rest] = argv;
  const opts = {};
  for (let i = 0; i < rest.length; i++) {
    const m = /^--([a-z-]+)$/.exec(rest[i]);
    if (!m) throw new Error(`unexpected argument ${JSON.stringify(rest[i])}`);
    if (m[1] === "continue-on-error") opts.continueOnError = true;
    else if (i + 1 < rest.length) opts[m[1]] = rest[++i];
    else throw new Error(`--${m[1]} needs a value`);
  }
  return { command, opts };
}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs(argv);
    if (!["save", "apply", "name"].includes(parsed.command)) throw new Error("the command is save, apply or name");
    if (!parsed.opts.stack) throw new Error("--stack is required");
    if (parsed.command !== "apply") planArtifactName(parsed.opts.stack, parsed.opts.sha);
  } catch (err) {
    process.stderr.write(`update-plan: ${err.message}\nusage: update-plan.js save --stack NAME --sha COMMIT [--dir DIR] | apply --stack NAME --plan FILE [--reviewed TEXT] [--continue-on-error] | name --stack NAME --sha COMMIT\n`);
    return 2;
  }
  const { command, opts } = parsed;
  if (command === "name") {
    process.stdout.write(writeOutputs({ artifact: planArtifactName(opts.stack, opts.sha) }));
    return 0;
  }
  const result = command === "save" ? await save(opts) : await apply(opts);
  return result.code;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

module.exports = { annotation, planArtifactName, PLAN_FILE, save, apply, savedSummary, refusedSummary, appliedSummary, main };
