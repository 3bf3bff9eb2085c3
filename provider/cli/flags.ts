/**
 * Command-line flags: the one boundary where argv becomes typed options, so every command words
 * its usage errors the same way. Flags take a value (`--dir accounts` or `--dir=accounts`) except
 * `--help` and a command's switches (`--force`); anything else is a usage error, exit 2.
 */
import { terminalSafe } from "../text/terminal-text";

import { UsageError } from "../project/usage-error";

export { UsageError };

export interface ParsedFlags<K extends string, S extends string = never> {
  /** The last value of each flag given. */
  values: Partial<Record<K, string>>;
  /** Every value of each flag given, in order (`--toolkit a --toolkit b`). */
  lists: Partial<Record<K, string[]>>;
  /** The switches given. */
  switches: Set<S>;
  help: boolean;
}

export function parseFlags<K extends string, S extends string = never>(argv: readonly string[], names: readonly K[], switchNames: readonly S[] = []): ParsedFlags<K, S> {
  const values: Partial<Record<K, string>> = {};
  const lists: Partial<Record<K, string[]>> = {};
  const switches = new Set<S>();
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    if (switchNames.includes(name as S)) {
      if (eq !== -1) throw new UsageError(`option --${name} takes no value`);
      switches.add(name as S);
      continue;
    }
    if (!names.includes(name as K)) throw new UsageError(`unknown option "--${name}"`);
    let value: string | undefined;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`option --${name} needs a value`);
      i++;
    }
    if (value === "") throw new UsageError(`option --${name} needs a value`);
    values[name as K] = value;
    (lists[name as K] ??= []).push(value);
  }
  return { values, lists, switches, help };
}

/** Checks a `--format` value against the formats a command supports. */
export function parseFormat<F extends string>(value: string | undefined, formats: readonly F[], fallback: F): F {
  if (value === undefined) return fallback;
  if (!formats.includes(value as F)) throw new UsageError(`unknown format "${value}" (use ${formats.join(", ")})`);
  return value as F;
}

/**
 * Runs a command's body, turning a UsageError into the one shape every command prints:
 * `connected-accounts <command>: <what is wrong>`, the usage text when it helps, exit 2.
 */
export async function withUsage(command: string, usage: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    // Arguments are echoed in these messages: escaped, so `--stack $'dev\e[2J'` cannot erase the screen.
    process.stderr.write(`connected-accounts ${command}: ${terminalSafe(err.message)}\n${err.showUsage ? `\n${usage}\n` : ""}`);
    return 2;
  }
}

/** Prints the usage text for `--help`, exit 0. */
export function printHelp(usage: string): number {
  process.stdout.write(`${usage}\n`);
  return 0;
}
