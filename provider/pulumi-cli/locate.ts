/**
 * Finding a usable Pulumi CLI without building one: a `pulumi` of the pinned version or newer on
 * PATH (with the two plugins the engine looks for beside it or on PATH: the Node.js language host
 * and the dynamic-provider launcher), else one built earlier into the cache folder.
 *
 * The official npm launcher (`node_modules/.bin/pulumi`) is never taken for a CLI: it downloads the
 * real one on first use, which fails or hangs without internet.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { atLeast, parseVersion } from "./version";

/** `pulumi version` answers in well under a second; a binary that does not is not usable. */
const VERSION_TIMEOUT_MS = 20_000;

export const LANGUAGE_HOST = "pulumi-language-nodejs";
export const DYNAMIC_PROVIDER_LAUNCHER = "pulumi-resource-pulumi-nodejs";

export type FoundCli = { binDir: string; version: string; from: "PATH" | "cache" };

/** Where `npm run pulumi:cli` builds version `v`: outside the repository, shared by checkouts. */
export function cacheBinDir(version: string, env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), ".cache");
  return path.join(base, "connected-accounts-gitops", "pulumi", `v${version}`, "bin");
}

export async function locatePulumiCli(pinned: string, env: NodeJS.ProcessEnv): Promise<FoundCli | undefined> {
  const wanted = parseVersion(pinned)!;
  for (const bin of candidatesOnPath("pulumi", env.PATH)) {
    const version = await reportedVersion(bin, env);
    const found = version && parseVersion(version);
    const binDir = path.dirname(bin);
    const plugin = (name: string) => isExecutable(path.join(binDir, name)) || candidatesOnPath(name, env.PATH).length > 0;
    if (found && atLeast(found, wanted) && plugin(LANGUAGE_HOST) && plugin(DYNAMIC_PROVIDER_LAUNCHER)) {
      return { binDir, version, from: "PATH" };
    }
  }
  const cached = cacheBinDir(pinned, env);
  const version = await reportedVersion(path.join(cached, "pulumi"), env);
  if (version && parseVersion(version)?.join(".") === pinned && isExecutable(path.join(cached, LANGUAGE_HOST)) && isExecutable(path.join(cached, DYNAMIC_PROVIDER_LAUNCHER))) {
    return { binDir: cached, version, from: "cache" };
  }
  return undefined;
}

/** Every executable `name` on PATH, in order, except launchers installed inside node_modules. */
export function candidatesOnPath(name: string, searchPath: string | undefined): string[] {
  const out: string[] = [];
  for (const dir of (searchPath ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (!isExecutable(candidate)) continue;
    let real: string;
    try {
      real = fs.realpathSync(candidate);
    } catch {
      continue;
    }
    if (real.split(path.sep).includes("node_modules")) continue;
    out.push(candidate);
  }
  return out;
}

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** What `bin version` prints (`v3.259.0`), or undefined when it is missing, fails or hangs. */
function reportedVersion(bin: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (!isExecutable(bin)) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile(bin, ["version"], { env: { ...env, PULUMI_SKIP_UPDATE_CHECK: "true" }, timeout: VERSION_TIMEOUT_MS, killSignal: "SIGKILL" }, (err, stdout) =>
      resolve(err ? undefined : stdout.trim().split(/\r?\n/)[0]),
    );
  });
}
