/**
 * vitest's global setup: the harness runs the Pulumi program in a process of its own through
 * test/harness/program-runner.ts, which node runs compiled. `npm test` compiles every test first;
 * a single suite run with `npx vitest run` gets the runner compiled here when it is missing or older
 * than its source (it imports nothing of the project, so it is transpiled alone, in milliseconds).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "../..");
const SOURCE = path.join(ROOT, "test/harness/program-runner.ts");
const COMPILED = path.join(ROOT, "dist/test/harness/program-runner.js");

export default function setup(): void {
  if (fs.existsSync(COMPILED) && fs.statSync(COMPILED).mtimeMs >= fs.statSync(SOURCE).mtimeMs) return;
  const out = ts.transpileModule(fs.readFileSync(SOURCE, "utf8"), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: SOURCE,
  });
  fs.mkdirSync(path.dirname(COMPILED), { recursive: true });
  fs.writeFileSync(COMPILED, out.outputText);
}
