#!/usr/bin/env node
// The pinned Pulumi CLI version (package.json's `pulumi` devDependency) for pulumi/actions'
// `pulumi-version`, so CI runs the CLI the tests ran:  node scripts/ci/pulumi-version.js >> "$GITHUB_OUTPUT"
// Needs dist/ (npm ci builds it).
"use strict";
const path = require("node:path");
const { pinnedPulumiVersion } = require("../../dist/provider/pulumi-cli/version.js");

if (require.main === module) process.stdout.write(`version=${pinnedPulumiVersion(path.resolve(__dirname, "../.."))}\n`);
