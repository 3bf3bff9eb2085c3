#!/usr/bin/env node
// The secrets the account files reference, made available to the job's later steps, as listed in
// .github/connected-accounts-ci.yml: each `env:` line's secret exported (through $GITHUB_ENV, masked),
// each `files:` line's secret written to its file (mode 600). Run by .github/actions/account-secrets:
//   SECRETS_JSON='${{ toJSON(secrets) }}' node scripts/ci/account-secrets.js
// Needs dist/ (npm ci builds it). Nothing is printed but names.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { CI_WIRING_FILE, MAX_WIRING_BYTES, parseCiWiring } = require("../../dist/provider/cli/ci-wiring.js");

class WiringError extends Error {}

/** The wiring file's entries; a WiringError listing every problem with its line otherwise. */
function readWiring(root, file = CI_WIRING_FILE) {
  const full = path.join(root, file);
  let stat;
  try {
    stat = fs.lstatSync(full);
  } catch {
    throw new WiringError(`${file}: missing: list there which CI secret holds each { env } and { file } reference`);
  }
  if (!stat.isFile() || stat.size > MAX_WIRING_BYTES) throw new WiringError(`${file}: not a regular file of at most ${MAX_WIRING_BYTES / 1024} KiB`);
  const { wiring, problems } = parseCiWiring(fs.readFileSync(full, "utf8"), file);
  if (problems.length > 0) throw new WiringError(problems.map((p) => `${p.file}:${p.line}: ${p.field ? `${p.field}: ` : ""}${p.message} (${p.fix})`).join("\n"));
  return wiring;
}

/** A heredoc delimiter for $GITHUB_ENV that the value cannot contain. */
function delimiter(value) {
  for (;;) {
    const d = `ca_${crypto.randomBytes(12).toString("hex")}`;
    if (!value.includes(d)) return d;
  }
}

/**
 * Applies the wiring with `secrets` (name → value). Returns the lines to append to $GITHUB_ENV, the
 * values to mask, and the files written; throws a WiringError naming every secret that is not set.
 */
function applyWiring(root, wiring, secrets) {
  const missing = [];
  const value = (entry, what) => {
    const v = secrets[entry.secret];
    if (typeof v !== "string" || v === "") missing.push(`secret ${entry.secret} (for ${what}, ${wiring.file} line ${entry.line}) is not set`);
    return v;
  };
  const env = [...wiring.env].map(([name, entry]) => ({ name, value: value(entry, `env ${name}`) }));
  const files = [...wiring.files].map(([file, entry]) => ({ file, value: value(entry, `file ${file}`) }));
  if (missing.length > 0) {
    throw new WiringError(`${missing.join("\n")}\nAdd each under Settings → Secrets and variables → Actions (or in the stack's environment), or remove its line from ${wiring.file}.`);
  }
  const realRoot = fs.realpathSync(root);
  for (const { file, value: content } of files) {
    const target = path.join(realRoot, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // What the path points to is checked before writing: never through a link, never outside the checkout.
    const parent = fs.realpathSync(path.dirname(target));
    if (parent !== realRoot && !parent.startsWith(realRoot + path.sep)) throw new WiringError(`${wiring.file}: files.${file} leads outside the repository`);
    let existing;
    try {
      existing = fs.lstatSync(target);
    } catch {
      // not there yet: written below
    }
    if (existing && !existing.isFile()) throw new WiringError(`${wiring.file}: files.${file} exists and is not a regular file`);
    const fd = fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | (fs.constants.O_NOFOLLOW ?? 0), 0o600);
    try {
      fs.writeSync(fd, content);
      fs.fchmodSync(fd, 0o600);
    } finally {
      fs.closeSync(fd);
    }
  }
  const envText = env.map(({ name, value: v }) => {
    const d = delimiter(v);
    return `${name}<<${d}\n${v}\n${d}\n`;
  }).join("");
  const masks = [...env.map((e) => e.value), ...files.map((f) => f.value)];
  return { envText, masks, env: env.map((e) => e.name), files: files.map((f) => f.file) };
}

/** `::add-mask::` lines: one per line of each value, so a multi-line key is masked line by line too. */
function maskCommands(values) {
  const lines = new Set();
  for (const v of values) for (const line of v.split(/\r?\n/)) if (line.trim() !== "") lines.add(line);
  return [...lines].map((l) => `::add-mask::${l}\n`).join("");
}

function main() {
  try {
    const wiring = readWiring(process.cwd());
    let secrets;
    try {
      secrets = JSON.parse(process.env.SECRETS_JSON || "{}");
    } catch {
      throw new WiringError("SECRETS_JSON is not JSON: pass secrets: ${{ toJSON(secrets) }} to the action");
    }
    const result = applyWiring(process.cwd(), wiring, secrets && typeof secrets === "object" ? secrets : {});
    process.stdout.write(maskCommands(result.masks));
    if (result.envText) fs.appendFileSync(process.env.GITHUB_ENV, result.envText);
    process.stdout.write(`from ${wiring.file}: ${result.env.length} environment variable(s)${result.env.length ? ` (${result.env.join(", ")})` : ""}, ${result.files.length} file(s)${result.files.length ? ` (${result.files.join(", ")})` : ""}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof WiringError)) throw err;
    for (const line of err.message.split("\n")) process.stderr.write(`::error file=${CI_WIRING_FILE}::${line}\n`);
    return 1;
  }
}

module.exports = { applyWiring, maskCommands, readWiring, WiringError };
if (require.main === module) process.exitCode = main();
