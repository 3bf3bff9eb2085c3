/**
 * Command-line flags: the one boundary where argv becomes typed options. Every flag takes a value
 * (`--dir accounts` or `--dir=accounts`) except `--help`; anything else is a usage error, exit 2.
 */

/** A mistake in how the command was called: exit code 2, with the usage text when it would help. */
export class UsageError extends Error {
  constructor(message: string, readonly showUsage = true) {
    super(message);
    this.name = "UsageError";
  }
}

export interface ParsedFlags<K extends string> {
  values: Partial<Record<K, string>>;
  help: boolean;
}

export function parseFlags<K extends string>(argv: readonly string[], names: readonly K[]): ParsedFlags<K> {
  const values: Partial<Record<K, string>> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)) as K;
    if (!names.includes(name)) throw new UsageError(`unknown option "--${name}"`);
    let value: string | undefined;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      value = argv[i + 1];
      if (value === undefined || value.startsWith("--")) throw new UsageError(`option --${name} needs a value`);
      i++;
    }
    if (value === "") throw new UsageError(`option --${name} needs a value`);
    values[name] = value;
  }
  return { values, help };
}

/** Checks a `--format` value against the formats a command supports. */
export function parseFormat<F extends string>(value: string | undefined, formats: readonly F[], fallback: F): F {
  if (value === undefined) return fallback;
  if (!formats.includes(value as F)) throw new UsageError(`unknown format "${value}" (use ${formats.join(", ")})`);
  return value as F;
}
