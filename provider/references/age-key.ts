/**
 * sops's age key settings as users give them. `SOPS_AGE_KEY_FILE` (and the SSH key file setting) is
 * often relative, written from the project root (`examples/sops/demo.agekey`), while the program and
 * the provider run wherever the engine starts them: a relative path is resolved from the project
 * root, for the presence check and for sops alike. A file that is named but missing is said as such.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The settings holding a path to a key, which sops would resolve from its own working directory. */
const KEY_FILE_SETTINGS = ["SOPS_AGE_KEY_FILE", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"] as const;

/** `env` with each key file setting made absolute (from `projectRoot`); unchanged when none is relative. */
export function ageKeyEnv(env: Record<string, string | undefined>, projectRoot: string): Record<string, string | undefined> {
  let out = env;
  for (const name of KEY_FILE_SETTINGS) {
    const value = env[name];
    if (!value || path.isAbsolute(value)) continue;
    out = { ...out, [name]: path.resolve(projectRoot, value) };
  }
  return out;
}

/** A key file setting that names no existing file: the message names the absolute path looked at. */
export function missingAgeKeyFile(env: Record<string, string | undefined>, projectRoot: string): { message: string; fix: string } | undefined {
  for (const name of KEY_FILE_SETTINGS) {
    const given = env[name];
    if (!given) continue;
    const absolute = path.resolve(projectRoot, given);
    if (fs.existsSync(absolute)) continue;
    const how = path.isAbsolute(given) ? "" : `; ${JSON.stringify(given)} is resolved from the project root, ${projectRoot}`;
    return {
      message: `age key file not found at ${absolute} (${name}${how})`,
      fix: `set ${name} to your age key file, as an absolute path or one relative to the project root, or unset it and set SOPS_AGE_KEY to the key itself`,
    };
  }
  return undefined;
}
