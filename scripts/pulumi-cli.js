#!/usr/bin/env node
// `npm run pulumi:cli`: finds or builds the pinned Pulumi CLI (dist/provider/pulumi-cli/main.js).
// Compiles the project first only when dist/ is missing or was built from other sources than
// provider/ holds now (the build stamp says which), so a repeated call costs no compile and
// never runs a stale build. The compiler's output goes to stderr: the last line of stdout stays
// the CLI's folder.
"use strict";
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const root = path.resolve(__dirname, "..");

function staleOrMissing() {
  try {
    return require(path.join(root, "dist/provider/pulumi/build-stamp.js")).staleBuild(root) !== undefined;
  } catch {
    return true;
  }
}

if (staleOrMissing()) {
  console.error("pulumi:cli: dist/ is missing or older than provider/: npm run build");
  const npm = process.env.npm_execpath;
  const build = npm
    ? spawnSync(process.execPath, [npm, "run", "--silent", "build"], { cwd: root, stdio: ["ignore", 2, 2] })
    : spawnSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: ["ignore", 2, 2] });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const provision = spawnSync(process.execPath, [path.join(root, "dist/provider/pulumi-cli/main.js")], { cwd: root, stdio: "inherit" });
process.exit(provision.status ?? 1);
