#!/usr/bin/env node
// The stacks CI works on, from .github/stacks.yml, as a job matrix:
//   node scripts/ci/stacks.js [--only STACK] >> "$GITHUB_OUTPUT"
//     →   matrix={"include":[{"stack":…,"environment":…}]}  and  count=<stacks>
// `--only` narrows it to one listed stack (a manual run for one stack); "" or "all" keeps every one.
// An empty list is allowed (a new repository): count=0, a warning, and the stack jobs are skipped.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { parse } = require("yaml");

const FILE = ".github/stacks.yml";
/** Where Pulumi reads stack settings (Pulumi.yaml's stackConfigDir). */
const STACK_SETTINGS_DIR = "stacks";
/** Pulumi's stack names, optionally after `org/` (and `org/project/`). */
const STACK_NAME = /^(?:[A-Za-z0-9_.-]+\/){0,2}[A-Za-z0-9_.-]+$/;
/** GitHub environment names: no slashes or quotes, at most 255 characters. */
const ENVIRONMENT_NAME = /^[A-Za-z0-9 _.-]{1,255}$/;

class StacksError extends Error {}

/** The listed stacks, each checked; a StacksError naming the file, the entry and the fix otherwise. */
function readStacks(root, only = "") {
  const file = path.join(root, FILE);
  let data;
  try {
    data = parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new StacksError(`${FILE}: ${err.code === "ENOENT" ? "missing: list the stacks CI works on there" : `not valid YAML: ${err.message.split("\n")[0]}`}`);
  }
  const list = data && data.stacks;
  if (!Array.isArray(list)) throw new StacksError(`${FILE}: "stacks" must be a list (stacks: [] or - stack: my-org/prod, environment: production)`);
  const seen = new Set();
  const stacks = list.map((entry, i) => {
    const where = `${FILE}: stacks[${i}]`;
    if (!entry || typeof entry !== "object") throw new StacksError(`${where} must be a mapping with stack and environment`);
    const { stack, environment } = entry;
    if (typeof stack !== "string" || !STACK_NAME.test(stack)) throw new StacksError(`${where}.stack must be a stack name (letters, digits, "-", "_", ".", optionally after "org/"), not ${JSON.stringify(stack)}`);
    if (typeof environment !== "string" || !ENVIRONMENT_NAME.test(environment)) throw new StacksError(`${where}.environment must name a GitHub environment (letters, digits, spaces, "-", "_", "."), not ${JSON.stringify(environment)}`);
    const unknown = Object.keys(entry).filter((k) => k !== "stack" && k !== "environment");
    if (unknown.length > 0) throw new StacksError(`${where}: unknown key ${unknown.map((k) => JSON.stringify(k)).join(", ")} (only stack and environment)`);
    if (seen.has(stack)) throw new StacksError(`${where}: stack ${stack} is listed twice`);
    seen.add(stack);
    const settings = `${STACK_SETTINGS_DIR}/Pulumi.${stack.split("/").at(-1)}.yaml`;
    if (!fs.existsSync(path.join(root, settings))) throw new StacksError(`${where}: stack ${stack} has no settings file ${settings}: create the stack (pulumi stack init ${stack}) and commit that file, or remove the entry`);
    return { stack, environment };
  });
  if (only === "" || only === "all") return stacks;
  const picked = stacks.filter((s) => s.stack === only);
  if (picked.length === 0) throw new StacksError(`stack ${JSON.stringify(only)} is not listed in ${FILE} (listed: ${stacks.map((s) => s.stack).join(", ") || "none"})`);
  return picked;
}

function main(argv) {
  const at = argv.indexOf("--only");
  const only = at >= 0 ? (argv[at + 1] ?? "") : "";
  try {
    const stacks = readStacks(process.cwd(), only);
    if (stacks.length === 0) process.stderr.write(`::warning file=${FILE}::no stack is listed in ${FILE}, so this workflow checks and applies nothing: add your stack there\n`);
    process.stdout.write(`matrix=${JSON.stringify({ include: stacks })}\ncount=${stacks.length}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof StacksError)) throw err;
    process.stderr.write(`::error file=${FILE}::${err.message}\n`);
    return 1;
  }
}

module.exports = { readStacks, StacksError, FILE };
if (require.main === module) process.exitCode = main(process.argv.slice(2));
