/**
 * The stack's config as reference checks see it (which keys are set, which are secrets; never a
 * value), and the rule that this tool's own secrets (`apiKey`, `fingerprintKey`) are stack secrets.
 * A plain value sits in plain text in the git-tracked stack file and in every checkpoint.
 */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { AccountProblem } from "../accounts/problem";
import type { Position } from "../accounts/parse";
import { CONFIG_NAMESPACE } from "../settings";
import type { StackConfigKeys } from "./kind";

/** This tool's settings that are secrets. */
const SECRET_SETTINGS = ["apiKey", "fingerprintKey"] as const;

/** A stack's config keys, with where each is written in its stack file (when there is one). */
export interface StackConfig extends StackConfigKeys {
  /** The stack file as shown to the user (relative path). */
  file: string;
  locate(fullKey: string): Position;
}

/** From the stack file's text (validate, plan): `secure:` values are secrets. */
export function stackConfigFromText(file: string, text: string | undefined): StackConfig {
  const lines = new LineCounter();
  const doc = text === undefined ? undefined : parseDocument(text, { lineCounter: lines });
  const config = doc?.errors.length === 0 ? doc.get("config", true) : undefined;
  const entries = new Map<string, { secret: boolean; set: boolean; offset: number }>();
  if (isMap(config)) {
    for (const pair of config.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      const value = pair.value;
      const secret = isMap(value) && value.has("secure");
      const set = secret || (isScalar(value) && value.value !== null && String(value.value) !== "") || (value !== null && !isScalar(value));
      entries.set(key, { secret, set, offset: (pair.key as { range?: [number] }).range?.[0] ?? 0 });
    }
  }
  return {
    file,
    has: (key) => entries.get(key)?.set ?? false,
    isSecret: (key) => entries.get(key)?.secret ?? false,
    locate: (key) => {
      const entry = entries.get(key);
      if (!entry) return { line: 1, column: 1 };
      const pos = lines.linePos(entry.offset);
      return { line: pos.line, column: pos.col };
    },
  };
}

/** `apiKey` and `fingerprintKey` set in plain text: each an error at its line in the stack file. */
export function plainSettingProblems(config: StackConfig): AccountProblem[] {
  return SECRET_SETTINGS.flatMap((setting) => {
    const key = `${CONFIG_NAMESPACE}:${setting}`;
    if (!config.has(key) || config.isSecret(key)) return [];
    return [{
      file: config.file, ...config.locate(key), field: key,
      message: `stack config ${key} is not a stack secret: Pulumi keeps a plain value in plain text in the stack file (in git) and in the state`,
      fix: `pulumi config set --secret ${key} ${setting === "fingerprintKey" ? '"$(openssl rand -hex 32)"' : "<value>"} (and rotate it: the plain value stays in the history)`,
    }];
  });
}
