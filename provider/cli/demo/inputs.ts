/**
 * The demo's stand-ins for the secrets the account files reference outside the stack config: random,
 * throwaway values, so nothing real is ever needed (or sent) to try the project. Values never leave
 * this module except into a git-ignored file and the environment of the demo's child processes.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { AccountFile } from "../../accounts/account";
import { isInside } from "../../accounts/validate";
import { envKind } from "../../references/env";
import { fileKind } from "../../references/file";
import { sopsKind } from "../../references/sops";

/** Git-ignored (see .gitignore): the only place the demo writes secret files. */
export const SECRETS_DIR = "secrets";
/** The demo's SOPS files and the throwaway age key they are encrypted for (committed, public on purpose). */
export const DEMO_SOPS_DIR = "examples/sops";
export const DEMO_AGE_KEY = "examples/sops/demo.agekey";

export interface DemoInputs {
  /** One throwaway value per `env:` reference, for the child processes only (never this process's env). */
  env: Record<string, string>;
  /** What was prepared, one line each, names only. */
  notes: string[];
}

/**
 * `env:` references always get a demo value, even when the variable is set: a real key in the
 * engineer's shell must not reach the demo. Missing `file:` references under secrets/ get a random
 * file; an existing file is kept (it may be a deliberate choice), and files elsewhere are left for
 * validate and preview to report.
 */
export function prepareDemoInputs(accounts: readonly AccountFile[], projectRoot: string): DemoInputs {
  const secretsDir = path.join(projectRoot, SECRETS_DIR);
  const env: Record<string, string> = {};
  const notes: string[] = [];
  const seenFiles = new Set<string>();
  for (const account of accounts) {
    for (const spec of Object.values(account.credentials)) {
      if (spec.kind !== "ref") continue;
      const ref = spec.ref;
      if (envKind.written(ref)) {
        if (ref.env in env) continue;
        env[ref.env] = demoValue(ref.env);
        notes.push(`${ref.env}: a throwaway demo value, set for the commands below only`);
      } else if (sopsKind.written(ref)) {
        const target = sopsKind.target(ref, account)!;
        if (env.SOPS_AGE_KEY_FILE !== undefined || !isInside(path.join(projectRoot, DEMO_SOPS_DIR), target)) continue;
        env.SOPS_AGE_KEY_FILE = path.join(projectRoot, DEMO_AGE_KEY);
        notes.push(`${path.relative(projectRoot, target)}: decrypted with the demo key ${DEMO_AGE_KEY} (SOPS_AGE_KEY_FILE, for the commands below only)`);
      } else if (fileKind.written(ref)) {
        const target = fileKind.target(ref, account)!;
        if (seenFiles.has(target) || !isInside(secretsDir, target)) continue;
        seenFiles.add(target);
        notes.push(writeThrowawayFile(target, path.relative(projectRoot, target)));
      }
    }
  }
  return { env, notes };
}

function writeThrowawayFile(target: string, shown: string): string {
  const body = [
    "-----BEGIN DEMO KEY-----",
    `throwaway value written by npm run demo: not a real key`,
    randomToken(48),
    "-----END DEMO KEY-----",
    "",
  ].join("\n");
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    // "wx": never replace a file, even one created between a check and the write.
    fs.writeFileSync(target, body, { flag: "wx", mode: 0o600 });
    return `${shown}: written with a random throwaway value`;
  } catch (err) {
    if ((err as { code?: string }).code !== "EEXIST") throw err;
    return `${shown}: already there, kept as it is (delete it to get a throwaway one)`;
  }
}

/** Stable across runs, so a second demo run previews no change; derived from the name, so plainly not a real secret. */
function demoValue(name: string): string {
  return `demo-${createHash("sha256").update(`connected-accounts demo ${name}`).digest("base64url").slice(0, 24)}`;
}

/** The value a rotation of `name` sets: another throwaway value of the same form. */
export function rotatedDemoValue(name: string): string {
  return demoValue(`${name} rotated`);
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString("base64url");
}
