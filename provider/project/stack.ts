/**
 * The stack a command works for, so `validate`, `plan`, `import` and `sandbox` find the accounts
 * where `pulumi up` on that stack finds them: `--stack NAME` (else `PULUMI_STACK`), read from the
 * stack file Pulumi reads, `<stackConfigDir>/Pulumi.<NAME>.yaml` (stackConfigDir from Pulumi.yaml).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isMap, LineCounter, parse, parseDocument, type Node } from "yaml";
import { CONFIG_NAMESPACE } from "../settings";
import { UsageError } from "./usage-error";
import { readProjectFileQuietly, readStackFile } from "./stack-file";

/** The one stack setting the offline commands need. */
const ACCOUNTS_DIR_KEY = `${CONFIG_NAMESPACE}:accountsDir`;
/** Pulumi's own rule for stack names; it also keeps a name from walking out of the stack folder. */
const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

export interface StackSettings {
  /** As the user named it (`my-org/prod`). */
  name: string;
  /** Absolute path of the stack file. */
  file: string;
  /** `connected-accounts:accountsDir` as written, relative to the project root (or absolute). */
  accountsDir?: string;
  /** The stack file's text, read once after it was checked (readStackFile); undefined without a file. */
  text?: string;
}

/**
 * The named stack's settings. `explicit`: named with --stack, where a missing stack file is a
 * mistake; a stack named by PULUMI_STACK may keep all its config in the backend, without a file.
 */
export function readStack(projectRoot: string, name: string, explicit: boolean): StackSettings {
  // Pulumi names the file after the stack's own name, without organization or project.
  const short = name.split("/").pop() ?? "";
  if (!STACK_NAME.test(short) || short === "." || short === "..") {
    throw new UsageError(`"${name}" is not a stack name (letters, digits, "-", "_" and "." only, optionally after "org/")`, false);
  }
  const dir = stackConfigDir(projectRoot);
  const file = path.join(dir, `Pulumi.${short}.yaml`);
  const text = readStackFile(file, projectRoot);
  if (text === undefined) {
    if (!explicit) return { name, file };
    const known = stackFiles(dir, projectRoot).map((s) => s.name);
    throw new UsageError(
      `no stack file for --stack ${name}: ${path.relative(process.cwd(), file) || file} does not exist` +
        (known.length > 0 ? ` (stacks here: ${known.join(", ")})` : ""),
      false,
    );
  }
  return { name, file, accountsDir: accountsDirIn(text), text };
}

/**
 * Linux limits one environment variable to 128 KiB (MAX_ARG_STRLEN), and Pulumi's Node.js host
 * hands the program the whole stack config, decrypted, in one: PULUMI_CONFIG. Past the limit the
 * program cannot even start (`spawn E2BIG`). Warned of from a little below it.
 */
export const CONFIG_ENV_LIMIT_BYTES = 128 * 1024;
const CONFIG_WARN_BYTES = 96 * 1024;

/**
 * The size of PULUMI_CONFIG for this stack file, estimated from its text: every key and value as
 * the host writes them (JSON), secrets at their encrypted length (a little more than their own).
 * A warning when that nears the limit, else undefined.
 */
export function configSizeWarning(stackText: string | undefined, shown: string): string | undefined {
  const config = parseMapping(stackText)?.config;
  if (!config || typeof config !== "object") return undefined;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    const secure = value && typeof value === "object" && typeof (value as { secure?: unknown }).secure === "string" ? (value as { secure: string }).secure : undefined;
    env[key] = secure ?? (typeof value === "string" ? value : JSON.stringify(value));
  }
  const bytes = Buffer.byteLength(`PULUMI_CONFIG=${JSON.stringify(env)}`);
  if (bytes < CONFIG_WARN_BYTES) return undefined;
  const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
  return (
    `the config in ${shown} is about ${kib(bytes)} (${bytes} bytes, secrets counted encrypted); Pulumi passes it to the program in one environment variable, ` +
    `which Linux limits to ${kib(CONFIG_ENV_LIMIT_BYTES)}: past that every preview and up fails with "spawn E2BIG". ` +
    "Move credentials out of stack config into SOPS files or { env: NAME } references"
  );
}

/**
 * Where a stack setting sits in the stack file Pulumi reads for `stackName` (`connected-accounts:…`):
 * the file relative to `displayBase`, and the line and column of the setting, or 1:1 when the file
 * does not hold it (a stack may keep its config in the backend, or not have the setting yet).
 */
export function stackSettingPosition(projectRoot: string, stackName: string, key: string, displayBase: string): { file: string; line: number; column: number } {
  const file = path.join(stackConfigDir(projectRoot), `Pulumi.${stackName.split("/").pop()}.yaml`);
  const shown = path.relative(displayBase, file) || file;
  const text = readProjectFileQuietly(file, projectRoot);
  if (text === undefined) return { file: shown, line: 1, column: 1 };
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const config = doc.get("config", true);
  const pair = isMap(config) ? config.items.find((item) => (item.key as { value?: unknown } | null)?.value === key) : undefined;
  const offset = (pair?.key as Node | undefined)?.range?.[0];
  const at = offset === undefined ? { line: 1, col: 1 } : lineCounter.linePos(offset);
  return { file: shown, line: at.line, column: at.col };
}

/** Every stack file of the project that sets accountsDir: the hint when the default folder is missing. */
export function stacksSettingAccountsDir(projectRoot: string): StackSettings[] {
  return stackFiles(stackConfigDir(projectRoot), projectRoot).filter((s) => s.accountsDir !== undefined);
}

/** Pulumi.yaml's `stackConfigDir`, relative to the project root; the project root itself when unset. */
function stackConfigDir(projectRoot: string): string {
  const project = parseMapping(readProjectFileQuietly(path.join(projectRoot, "Pulumi.yaml"), projectRoot));
  const dir = project?.stackConfigDir;
  return typeof dir === "string" && dir !== "" ? path.resolve(projectRoot, dir) : projectRoot;
}

function stackFiles(dir: string, projectRoot: string): StackSettings[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => /^Pulumi\.(.+)\.ya?ml$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map((m) => {
      const file = path.join(dir, m[0]);
      // Only a hint: a stack file that is not a regular file of the project just sets nothing.
      return { name: m[1], file, accountsDir: accountsDirIn(readProjectFileQuietly(file, projectRoot)) };
    });
}

/** `connected-accounts:accountsDir` in a stack file's text (also one read from a git revision). */
export function accountsDirIn(stackText: string | undefined): string | undefined {
  const config = parseMapping(stackText)?.config;
  const value = config && typeof config === "object" ? (config as Record<string, unknown>)[ACCOUNTS_DIR_KEY] : undefined;
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** A settings file as a mapping; one that cannot be parsed is treated as empty. */
function parseMapping(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const data: unknown = parse(text);
    return data && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
