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
import { compileProgress, downloadProgress, firstEstimate } from "./build-progress";
import { candidatesOnPath, DYNAMIC_PROVIDER_LAUNCHER, isExecutable, LANGUAGE_HOST } from "./locate";

const PKG_MODULE = "github.com/pulumi/pulumi/pkg/v3";
const VERSION_VARIABLE = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version";
/** Where Go's official Linux and macOS archives are unpacked. */
const GO_INSTALL_PATH = "/usr/local/go/bin/go";
/** The build's own output beyond this many lines is noise; the tail explains a failure. */
const KEPT_OUTPUT_LINES = 30;
/** How often a long step says how far it is: often enough to show it is alive, rarely enough for a CI log. */
const PROGRESS_EVERY_MS = 15_000;

export class CliBuildError extends Error {}

export interface BuildOptions {
  version: string;
  /** Final folder of the binaries (see cacheBinDir). */
  binDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Aborting stops the running go command (Ctrl-C in the demo); the build then fails with CliBuildError. */
  signal?: AbortSignal;
}

export async function buildPulumiCli(opts: BuildOptions): Promise<void> {
  const go = findGo(opts.env);
  if (!go) throw new CliBuildError(`no Pulumi CLI v${opts.version} found and Go is not installed to build one (${whereGoWasSought(opts.env)}): install Pulumi (https://www.pulumi.com/docs/install/), or Go 1.25 or newer, then run npm run pulumi:cli`);
  const staging = `${path.dirname(opts.binDir)}.build-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const work = path.join(staging, "module");
  const stagedBin = path.join(staging, "bin");
  fs.mkdirSync(work, { recursive: true });
  fs.mkdirSync(stagedBin, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...opts.env, GOFLAGS: "-mod=mod", GOWORK: "off", CGO_ENABLED: "0" };
  const goRun = (args: string[], what: string, onLine?: (line: string) => void) => run(go, args, { cwd: work, env, what, onLine, signal: opts.signal });
  const started = Date.now();
  let downloaded = 0;
  const countDownloads = (line: string) => {
    if (line.startsWith("go: downloading ")) downloaded++;
  };
  const ticker = progressTicker(opts.log);
  try {
    const module = `${PKG_MODULE}@v${opts.version}`;
    opts.log(`building the Pulumi CLI v${opts.version} from Go modules into ${opts.binDir}: ${firstEstimate()}`);
    await goRun(["mod", "init", "connected-accounts-gitops/pulumi-cli"], "go mod init");
    opts.log(`  go: downloading ${module}`);
    ticker.report(() => downloadProgress(downloaded, Date.now() - started));
    const info = JSON.parse(await goRun(["mod", "download", "-json", module], `go mod download ${module}`, countDownloads)) as { GoMod?: string };
    for (const [from, to] of remoteReplacements(fs.readFileSync(info.GoMod!, "utf8"))) {
      await goRun(["mod", "edit", `-replace=${from}=${to}`], "go mod edit -replace");
    }
    await goRun(["get", module], `go get ${module}`, countDownloads);
    fs.writeFileSync(path.join(work, "tools.go"), `//go:build tools\n\npackage tools\n\nimport _ "${PKG_MODULE}/cmd/pulumi"\n`);
    opts.log("  go: resolving dependencies (go mod tidy)");
    await goRun(["mod", "tidy"], "go mod tidy", countDownloads);
    const total = (await goRun(["list", "-deps", `${PKG_MODULE}/cmd/pulumi`], "go list -deps")).split("\n").filter(Boolean).length;
    opts.log(`  go: compiling cmd/pulumi (${total} packages; go prints one line per package it compiles, cached ones are skipped)`);
    const compileStarted = Date.now();
    let compiled = 0;
    ticker.report(() => compileProgress(compiled, total, Date.now() - compileStarted));
    await goRun(
      ["build", "-v", "-trimpath", "-ldflags", `-X ${VERSION_VARIABLE}=v${opts.version}`, "-o", path.join(stagedBin, "pulumi"), `${PKG_MODULE}/cmd/pulumi`],
      "go build",
      (line) => {
        if (!line.startsWith("#") && !line.includes(" ")) compiled++;
      },
    );
    installPlugins(stagedBin, opts.version);
    fs.rmSync(opts.binDir, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(opts.binDir), { recursive: true });
    fs.renameSync(stagedBin, opts.binDir);
  } finally {
    ticker.stop();
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Logs what `report`'s latest callback says every PROGRESS_EVERY_MS, until stopped. */
export function progressTicker(log: (line: string) => void): { report(line: () => string): void; stop(): void } {
  let current: (() => string) | undefined;
  const timer = setInterval(() => current && log(current()), PROGRESS_EVERY_MS);
  timer.unref();
  return {
    report: (line) => (current = line),
    stop: () => clearInterval(timer),
  };
}

/**
 * The `go` to build with: CONNECTED_ACCOUNTS_GO when set (only that one), else `go` on PATH, else
 * in GOROOT, else where Go's official archive installs it (/usr/local/go), which a fresh machine
 * may have without putting it on PATH.
 */
export function findGo(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CONNECTED_ACCOUNTS_GO !== undefined) return isExecutable(env.CONNECTED_ACCOUNTS_GO) ? env.CONNECTED_ACCOUNTS_GO : undefined;
  const wellKnown = [env.GOROOT && path.join(env.GOROOT, "bin", "go"), GO_INSTALL_PATH].filter((p): p is string => Boolean(p));
  return candidatesOnPath("go", env.PATH)[0] ?? wellKnown.find(isExecutable);
}

function whereGoWasSought(env: NodeJS.ProcessEnv): string {
  return env.CONNECTED_ACCOUNTS_GO !== undefined ? `CONNECTED_ACCOUNTS_GO=${env.CONNECTED_ACCOUNTS_GO} is not an executable` : `looked on PATH, in GOROOT and ${GO_INSTALL_PATH}`;
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

/** One build step (go install of another tool) with the same error reporting as the CLI's build. */
export function runBuildStep(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string): Promise<string> {
  return run(command, args, { cwd, env, what });
}

/** Runs one go command; its stdout, or a CliBuildError with the tail of its output. */
function run(
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; what: string; onLine?: (line: string) => void; signal?: AbortSignal },
): Promise<string> {
  const { what } = opts;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new CliBuildError(`${what} was not started: interrupted`));
    // With a signal, its own process group, so an abort stops go together with the compilers it
    // started; without one it stays in the terminal's group, which Ctrl-C reaches directly.
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"], detached: opts.signal !== undefined });
    const onAbort = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let stdout = "";
    let partial = "";
    const tail: string[] = [];
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines.filter(Boolean)) opts.onLine?.(line);
      tail.push(...lines.filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - KEPT_OUTPUT_LINES));
    });
    child.on("error", (err) => reject(new CliBuildError(`${what} could not start: ${err.message}`)));
    child.on("close", (code, signal) => {
      opts.signal?.removeEventListener("abort", onAbort);
      if (partial) tail.push(partial);
      if (code === 0) resolve(stdout);
      else if (opts.signal?.aborted) reject(new CliBuildError(`${what} was stopped: interrupted`));
      else {
        // `go mod download -json` reports its error on stdout, in the JSON it prints.
        const said = tail.length > 0 ? tail : stdout.split("\n").filter(Boolean).slice(-KEPT_OUTPUT_LINES);
        reject(new CliBuildError(`${what} failed (${signal ? `signal ${signal}` : `exit code ${code}`}):\n${said.join("\n")}`));
      }
    });
  });
}
