/**
 * What each resource stores as `__provider`: the source of a tiny module whose `handler()` returns
 * the provider. The dynamic-provider server loads whatever text a resource carries
 * (`requireFromString(text).handler()`); `pulumi.dynamic.Resource` would put the closure-serialized
 * provider there instead, with every module it reaches (45 KB), and Pulumi stores that text twice
 * per resource and sends it on every Check, Diff and Update.
 *
 * This module loads the project's compiled provider (dist/), from the nearest folder holding
 * Pulumi.yaml above the provider process's working directory (the engine starts it in the folder of
 * `main`). The entry refuses a build older than the sources (build-stamp.ts). Changing this text
 * changes every resource's inputs: keep it stable.
 */
export const PROVIDER_MODULE = `exports.handler = () => {
  const path = require("path");
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    if (require("fs").existsSync(path.join(dir, "Pulumi.yaml"))) return require(path.join(dir, "dist/provider/pulumi/entry.js")).provider;
    if (dir === path.dirname(dir)) throw new Error("connected-accounts: no Pulumi.yaml above " + process.cwd());
  }
};
`;
