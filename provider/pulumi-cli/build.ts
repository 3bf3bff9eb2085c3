/**
 * Building the pinned Pulumi CLI from Pulumi's Go modules, for machines where its prebuilt binary
 * cannot be downloaded. `github.com/pulumi/pulumi/pkg/v3` carries `replace` directives in its go.mod,
 * so `go install module@version` refuses it: a small wrapper module requires it at the release,
 * copies its non-local replacements, and builds `cmd/pulumi` with the version stamped in.
 *
 * Beside the binary go the two bundled plugins the engine looks up next to `pulumi` (never
 * downloaded): the Node.js language host and the dynamic-provider launcher.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { candidatesOnPath, DYNAMIC_PROVIDER_LAUNCHER, LANGUAGE_HOST } from "./locate";

const PKG_MODULE = "github.com/pulumi/pulumi/pkg/v3";
const VERSION_VARIABLE = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version";
/** The build's own output beyond this many lines is noise; the tail explains a failure. */
const KEPT_OUTPUT_LINES = 30;

export class CliBuildError extends Error {}

export interface BuildOptions {
  version: string;
  /** Final folder of the binaries (see cacheBinDir). */
  binDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export async function buildPulumiCli(opts: BuildOptions): Promise<void> {
  const go = candidatesOnPath("go", opts.env.PATH)[0];
  if (!go) throw new CliBuildError(`no Pulumi CLI v${opts.version} found and Go is not installed to build one: install Pulumi (https://www.pulumi.com/docs/install/), or Go 1.25 or newer, then run npm run pulumi:cli`);
  const staging = `${path.dirname(opts.binDir)}.build-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const work = path.join(staging, "module");
  const stagedBin = path.join(staging, "bin");
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(stagedBin, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...opts.env, GOFLAGS: "-mod=mod", GOWORK: "off", CGO_ENABLED: "0" };
  const goRun = (args: string[], what: string) => runBuildStep(go, args, work, env, what);
  try {
    const module = `${PKG_MODULE}@v${opts.version}`;
    opts.log(`building the Pulumi CLI v${opts.version} from Go modules (a few minutes the first time) into ${opts.binDir}`);
    await goRun(["mod", "init", "connected-accounts-gitops/pulumi-cli"], "go mod init");
    opts.log(`  go: downloading ${module}`);
    const info = JSON.parse(await goRun(["mod", "download", "-json", module], `go mod download ${module}`)) as { GoMod?: string };
    for (const [from, to] of remoteReplacements(fs.readFileSync(info.GoMod!, "utf8"))) {
      await goRun(["mod", "edit", `-replace=${from}=${to}`], "go mod edit -replace");
    }
    await goRun(["get", module], `go get ${module}`);
    fs.writeFileSync(path.join(work, "tools.go"), `//go:build tools\n\npackage tools\n\nimport _ "${PKG_MODULE}/cmd/pulumi"\n`);
    opts.log("  go: resolving dependencies (go mod tidy)");
    await goRun(["mod", "tidy"], "go mod tidy");
    opts.log("  go: compiling cmd/pulumi");
    await goRun(["build", "-trimpath", "-ldflags", `-X ${VERSION_VARIABLE}=v${opts.version}`, "-o", path.join(stagedBin, "pulumi"), `${PKG_MODULE}/cmd/pulumi`], "go build");
    installPlugins(stagedBin, opts.version);
    fs.rmSync(opts.binDir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(opts.binDir), { recursive: true });
    fs.renameSync(stagedBin, opts.binDir);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** `replace` directives of a go.mod that point at other modules (local paths only work in Pulumi's own tree). */
export function remoteReplacements(goMod: string): [string, string][] {
  const lines: string[] = [];
  const block = /^replace\s*\(([\s\S]*?)^\)/gm;
  for (let m = block.exec(goMod); m; m = block.exec(goMod)) lines.push(...m[1].split("\n"));
  for (const m of goMod.matchAll(/^replace\s+([^(\s].*)$/gm)) lines.push(m[1]);
  const out: [string, string][] = [];
  for (const line of lines) {
    const m = /^\s*(\S+)(?:\s+\S+)?\s*=>\s*(\S+)\s+(\S+)\s*$/.exec(line.replace(/\/\/.*$/, ""));
    if (m && !m[2].startsWith(".") && !m[2].startsWith("/")) out.push([m[1], `${m[2]}@${m[3]}`]);
  }
  return out;
}

/**
 * The plugins the engine expects beside `pulumi`. The language host is copied in as one
 * self-contained file (it loads everything else from the project's own `@pulumi/pulumi`), so a
 * newer checkout can refresh it without rebuilding the CLI.
 */
export function installPlugins(binDir: string, version: string): void {
  const hostSource = fs.readFileSync(path.join(__dirname, "language-host.js"), "utf8");
  writeIfChanged(path.join(binDir, `${LANGUAGE_HOST}.js`), hostSource, 0o644);
  writeIfChanged(
    path.join(binDir, LANGUAGE_HOST),
    `#!/bin/sh\nPULUMI_LANGUAGE_NODEJS_VERSION=${version} exec node "$(dirname "$0")/${LANGUAGE_HOST}.js" "$@"\n`,
    0o755,
  );
  // As shipped with Pulumi: the SDK's dynamic-provider server, resolved from the project (the working directory).
  writeIfChanged(
    path.join(binDir, DYNAMIC_PROVIDER_LAUNCHER),
    `#!/bin/sh\nPULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH=$(node -e "console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))")\n` +
      `if [ -n "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" ]; then\n    exec node "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" "$@"\nfi\n`,
    0o755,
  );
}

function writeIfChanged(file: string, text: string, mode: number): void {
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === text) return;
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode });
  fs.renameSync(tmp, file);
}

/** Runs one go command; its stdout, or a CliBuildError with the tail of its output. */
export function runBuildStep(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const tail: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => {
      tail.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - KEPT_OUTPUT_LINES));
    });
    child.on("error", (err) => reject(new CliBuildError(`${what} could not start: ${err.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new CliBuildError(`${what} failed (exit code ${code}):\n${tail.join("\n")}`));
    });
  });
}
