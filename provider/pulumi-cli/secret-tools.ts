/**
 * The SOPS tools the tests and the demo run, provisioned like the Pulumi CLI: `sops` of the pinned
 * version or newer on PATH, else the one built earlier into the CLI's cache folder, else built there
 * from its Go module. `age-keygen` (test keys only) likewise, at the version sops itself builds with.
 *
 * Versions come from the build information in the binaries (go-buildinfo.ts): `sops --version`
 * would contact GitHub.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { CliBuildError, findGo, progressTicker, runBuildStep } from "./build";
import { duration } from "./build-progress";
import { readGoBuildInfo } from "./go-buildinfo";
import { candidatesOnPath, isExecutable } from "./locate";
import { atLeast, parseVersion } from "./version";

export interface GoTool {
  command: string;
  /** The Go module, and the package of its command. */
  module: string;
  pkg: string;
  version: string;
  /** true: any build of the module on PATH will do (a stable format, e.g. age keys); false: the pinned version or newer. */
  anyVersion: boolean;
}

export const SOPS: GoTool = { command: "sops", module: "github.com/getsops/sops/v3", pkg: "github.com/getsops/sops/v3/cmd/sops", version: "3.13.3", anyVersion: false };
/** The age version sops v3.13.3's go.mod requires: keys it makes are the keys sops reads. */
export const AGE_KEYGEN: GoTool = { command: "age-keygen", module: "filippo.io/age", pkg: "filippo.io/age/cmd/age-keygen", version: "1.3.1", anyVersion: true };
export const SECRET_TOOLS: readonly GoTool[] = [SOPS, AGE_KEYGEN];

export type FoundTool = { file: string; version: string; from: "PATH" | "cache" };

/** A usable build of `tool`: on PATH first, then in `cacheDir`; undefined when neither has one. */
export function locateGoTool(tool: GoTool, cacheDir: string, searchPath: string | undefined): FoundTool | undefined {
  const wanted = parseVersion(tool.version)!;
  for (const file of candidatesOnPath(tool.command, searchPath)) {
    const info = readGoBuildInfo(file);
    if (!info) continue;
    // A distribution's own build may report "(devel)" or no module: good enough where any version is.
    if (tool.anyVersion) return { file, version: info.version ?? "unknown", from: "PATH" };
    const found = info.path === tool.module && info.version ? parseVersion(info.version) : undefined;
    if (found && found[0] === wanted[0] && atLeast(found, wanted)) return { file, version: info.version!, from: "PATH" };
  }
  const cached = path.join(cacheDir, tool.command);
  const info = isExecutable(cached) ? readGoBuildInfo(cached) : undefined;
  if (info?.path === tool.module && info.version === `v${tool.version}`) return { file: cached, version: info.version, from: "cache" };
  return undefined;
}

/**
 * Each tool found, or built with `go install module/cmd@version` into `cacheDir` (staged beside it,
 * then moved in, so an interrupted build leaves nothing half-written). Returns the folders holding
 * the tools, in order, without repeats.
 */
export async function provisionGoTools(tools: readonly GoTool[], cacheDir: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string[]> {
  const dirs: string[] = [];
  for (const tool of tools) {
    let found = locateGoTool(tool, cacheDir, env.PATH);
    if (found) {
      log(`using ${tool.command} ${found.version} ${found.from === "PATH" ? "on PATH" : "built earlier"} (${found.file})`);
    } else {
      const started = Date.now();
      await buildGoTool(tool, cacheDir, env, log);
      found = locateGoTool(tool, cacheDir, "");
      if (!found) throw new CliBuildError(`${tool.command} was built into ${cacheDir} but does not report module ${tool.module} v${tool.version}`);
      log(`built ${tool.command} v${tool.version} in ${Math.round((Date.now() - started) / 1000)} s`);
    }
    const dir = path.dirname(found.file);
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  return dirs;
}

async function buildGoTool(tool: GoTool, cacheDir: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  // The same Go the CLI's build uses (CONNECTED_ACCOUNTS_GO, PATH, GOROOT, /usr/local/go).
  const go = findGo(env);
  if (!go) {
    throw new CliBuildError(
      `no ${tool.command} v${tool.version} found and Go is not installed to build one: install ${tool.command} ` +
        (tool === SOPS ? "(https://github.com/getsops/sops/releases, or your package manager: brew install sops, apt install sops)" : "(Debian/Ubuntu: apt install age; macOS: brew install age)") +
        ", or Go 1.25 or newer, then run npm run pulumi:cli",
    );
  }
  const staging = `${cacheDir}.${tool.command}-build-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    log(`building ${tool.command} v${tool.version} from its Go module (about 2 minutes the first time) into ${cacheDir}`);
    // GOFLAGS cleared: a -mod setting of the user's is refused by `go install module@version`.
    const buildEnv: NodeJS.ProcessEnv = { ...env, GOBIN: staging, GOFLAGS: "-trimpath", GOWORK: "off", CGO_ENABLED: "0" };
    // go install prints nothing while it compiles: a line now and then says it is still at it.
    const started = Date.now();
    const ticker = progressTicker(log);
    ticker.report(() => `  go: building ${tool.command}, ${duration(Date.now() - started)} so far`);
    try {
      await runBuildStep(go, ["install", `${tool.pkg}@v${tool.version}`], staging, buildEnv, `go install ${tool.pkg}@v${tool.version}`);
    } finally {
      ticker.stop();
    }
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.renameSync(path.join(staging, tool.command), path.join(cacheDir, tool.command));
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
