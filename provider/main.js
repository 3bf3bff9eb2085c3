// The Pulumi program (Pulumi.yaml `main`): the compiled program in dist/, which `npm ci` builds, so
// that no command compiles or type-checks TypeScript. Plain JavaScript outside dist/, so that a
// missing build is one line saying what to do, from `preview` and `up` as from `refresh` and
// `destroy` (Pulumi refuses a `main` that does not exist before any of our code could say so).
const fs = require("node:fs");
const path = require("node:path");

const compiled = path.join(__dirname, "..", "dist", "provider", "program.js");
if (!fs.existsSync(compiled)) {
  const { RunError } = require("@pulumi/pulumi");
  throw new RunError(`connected-accounts: the program is not built (${path.dirname(path.dirname(compiled))} is missing): run npm run build (or npm ci), then the command again`);
}
module.exports = require(compiled);
