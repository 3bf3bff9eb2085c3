/**
 * What each resource stores as `__provider`: the source of a tiny module whose `handler()` returns
 * the provider. The dynamic-provider server loads whatever text a resource carries
 * (`requireFromString(text).handler()`); `pulumi.dynamic.Resource` would put the closure-serialized
 * provider there instead, with every module it reaches (45 KB), and Pulumi stores that text twice
 * per resource and sends it on every Check, Diff and Update.
 *
 * This module loads the project's compiled provider (dist/). The project is the folder whose own
 * node_modules holds the dynamic-provider server running this very process (its real path: a
 * linked node_modules leads back to the project that installed it), the one the engine started
 * from the project's installed @pulumi/pulumi. Nothing else is looked at: not the working
 * directory (the engine starts the process in the folder of `main`, where a stray Pulumi.yaml,
 * dist/ and a node_modules linked to the real SDK could sit), not a parent folder, not NODE_PATH.
 * The entry refuses a build older than the sources beside it (build-stamp.ts). A missing build is
 * one line saying how to make it: a refresh or destroy runs no program that could say so first.
 *
 * Changing this text changes every resource's inputs (the diff ignores `__provider`, so no update
 * follows, but state written before keeps the old text until its account next changes): keep it stable.
 *
 * Every byte of it is stored twice per account and sent on every call, so its comments are here:
 * `require.main` is the dynamic-provider server the engine started (Node runs it from its real
 * path), and `fail` makes a failed Read or Delete one line (the server prints it as `${error}: ${error.stack}`).
 */
export const PROVIDER_MODULE = `exports.handler = () => {
  const fs = require("fs"), path = require("path"), server = require.main.filename;
  const fail = (problem) => Object.assign(new Error("connected-accounts: " + problem), { stack: problem, toString: () => "connected-accounts" });
  const at = server.lastIndexOf(path.sep + path.join("node_modules", "@pulumi", "pulumi", "cmd", "dynamic-provider") + path.sep);
  const dir = at < 0 ? "" : server.slice(0, at);
  if (!dir || !fs.existsSync(path.join(dir, "Pulumi.yaml"))) throw fail("the Pulumi SDK running this provider (" + server + ") is not one a project installed: run npm ci in the project, then the command again");
  const entry = path.join(dir, "dist/provider/pulumi/entry.js");
  if (!fs.existsSync(entry)) throw fail("the provider is not built (" + path.join(dir, "dist") + " is missing): run npm run build (or npm ci), then the command again");
  return require(entry).provider;
};
`;
