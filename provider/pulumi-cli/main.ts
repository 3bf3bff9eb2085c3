/**
 * `npm run pulumi:cli`: the command-line tools the tests and the demo run, found or built: a Pulumi
 * CLI of the pinned version (a `pulumi` of that version or newer on PATH, else the one built earlier
 * into the cache folder, else built from Go modules there), and likewise `sops` and `age-keygen`
 * (secret-tools.ts), built into the same cache folder. Progress goes to stderr; the last line of
 * stdout is the folder holding the binaries (folders, `:`-separated, when some come from PATH), so a
 * script can put it on PATH:
 *
 *   bin=$(npm run --silent pulumi:cli | tail -n 1) && export PATH="$bin:$PATH"
 *
 * Exit code: 0 found or built, 1 not (the message says how to install what is missing).
 */
import * as path from "node:path";
import { buildPulumiCli, CliBuildError, installPlugins } from "./build";
import { cacheBinDir, locatePulumiCli } from "./locate";
import { provisionGoTools, SECRET_TOOLS } from "./secret-tools";
import { pinnedPulumiVersion } from "./version";

/** The project root: this file is compiled to dist/provider/pulumi-cli/. */
const PROJECT_ROOT = path.resolve(__dirname, "../../..");

/**
 * The one way the project gets its CLI: `npm test`, `npm run pulumi:cli` and `npm run demo` all
 * call this. The folder of the binaries, or a CliBuildError saying why there is none.
 */
export async function provisionPulumiCli(env: NodeJS.ProcessEnv, log: (line: string) => void, signal?: AbortSignal): Promise<string> {
  const pinned = pinnedPulumiVersion(PROJECT_ROOT);
  const found = await locatePulumiCli(pinned, env);
  if (found?.from === "PATH") {
    log(`using pulumi ${found.version} on PATH (${found.binDir})`);
    return found.binDir;
  }
  const binDir = cacheBinDir(pinned, env);
  if (found) {
    // The language host may be newer in this checkout than in the cached build.
    installPlugins(binDir, pinned);
    log(`using pulumi ${found.version} built earlier (${binDir})`);
    return binDir;
  }
  const started = Date.now();
  await buildPulumiCli({ version: pinned, binDir, env, log, signal });
  log(`built pulumi v${pinned} in ${Math.round((Date.now() - started) / 1000)} s`);
  return binDir;
}

/** The tools `provisionTools` provides, as named to users. */
export const PROVISIONED_TOOLS = ["pulumi", ...SECRET_TOOLS.map((t) => t.command)] as const;

/**
 * The Pulumi CLI first (a build of it replaces the cache folder), then the SOPS tools into that
 * folder; also when the CLI came from PATH, which says nothing of sops. `npm run pulumi:cli` and
 * `npm run demo` both call this. The folders to put on PATH, first the CLI's, without repeats.
 */
export async function provisionTools(env: NodeJS.ProcessEnv, log: (line: string) => void, signal?: AbortSignal): Promise<string[]> {
  const pulumiDir = await provisionPulumiCli(env, log, signal);
  const toolDirs = await provisionGoTools(SECRET_TOOLS, cacheBinDir(pinnedPulumiVersion(PROJECT_ROOT), env), env, log);
  return [...new Set([pulumiDir, ...toolDirs])];
}

if (require.main === module) {
  provisionTools(process.env, (line) => console.error(line)).then(
    (binDirs) => console.log(binDirs.join(path.delimiter)),
    (err: unknown) => {
      console.error(err instanceof CliBuildError ? err.message : `pulumi:cli: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
