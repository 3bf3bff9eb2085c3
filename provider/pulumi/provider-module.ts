/**
 * What each resource stores as `__provider`: the source of a tiny module whose `handler()` returns
 * the provider. The dynamic-provider server loads whatever text a resource carries
 * (`requireFromString(text).handler()`); `pulumi.dynamic.Resource` would put the closure-serialized
 * provider there instead, with every module it reaches (45 KB), and Pulumi stores that text twice
 * per resource and sends it on every Check, Diff and Update.
 *
 * This module loads the project's compiled provider (dist/). The project is not simply the nearest
 * folder with a Pulumi.yaml above the working directory (the engine starts the process in the
 * folder of `main`, where a stray Pulumi.yaml and dist/ could sit): it is the folder, from there
 * up, whose own node_modules holds the dynamic-provider server running this very process, the one
 * the engine started from the project's installed @pulumi/pulumi. The entry refuses a build older
 * than the sources beside it (build-stamp.ts). A missing build is one line saying how to make it:
 * a refresh or destroy runs no program that could say so first.
 *
 * Changing this text changes every resource's inputs (the diff ignores `__provider`, so no update
 * follows, but state written before keeps the old text until its account next changes): keep it stable.
 *
 * Every byte of it is stored twice per account and sent on every call, so its comments are here:
 * `require.main` is the dynamic-provider server the engine started, and `fail` makes a failed Read
 * or Delete one line (the server prints it as `${error}: ${error.stack}`).
 */
export const PROVIDER_MODULE = `exports.handler = () => {
  const fs = require("fs"), path = require("path"), server = require.main.filename;
  const fail = (problem) => Object.assign(new Error("connected-accounts: " + problem), { stack: problem, toString: () => "connected-accounts" });
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const sdk = path.join(dir, "node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js");
    if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(sdk) && fs.realpathSync(sdk) === server) {
      const entry = path.join(dir, "dist/provider/pulumi/entry.js");
      if (!fs.existsSync(entry)) throw fail("the provider is not built (" + path.join(dir, "dist") + " is missing): run npm run build (or npm ci), then the command again");
      return require(entry).provider;
    }
    if (dir === path.dirname(dir)) throw fail("no project above " + process.cwd() + " has installed the Pulumi SDK running this provider (" + server + "): run npm ci in the project, then the command again");
  }
};
`;
