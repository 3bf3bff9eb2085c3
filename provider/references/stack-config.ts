/**
 * The stack's config as reference checks see it (which keys are set, which are secrets; never a
 * secret's value), read from the stack file, with where each key is written.
 */
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";
import type { Position } from "../accounts/parse";
import type { StackConfigKeys } from "./kind";

/** A stack's config keys, with where each is written in its stack file (when there is one). */
export interface StackConfig extends StackConfigKeys {
  /** The stack file as shown to the user (relative path). */
  file: string;
  locate(fullKey: string): Position;
}

/** A stack file's config: also the plain values (settings), never a secret's. */
export interface StackFileConfig extends StackConfig {
  get(fullKey: string): string | undefined;
}

/** From the stack file's text (validate, plan): `secure:` values are secrets. */
export function stackConfigFromText(file: string, text: string | undefined): StackFileConfig {
  const lines = new LineCounter();
  const doc = text === undefined ? undefined : parseDocument(text, { lineCounter: lines });
  const config = doc?.errors.length === 0 ? doc.get("config", true) : undefined;
  const entries = new Map<string, { secret: boolean; set: boolean; offset: number; plain?: string }>();
  if (isMap(config)) {
    for (const pair of config.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      const value = pair.value;
      const secret = isMap(value) && value.has("secure");
      const set = secret || (isScalar(value) && value.value !== null && String(value.value) !== "") || (value !== null && !isScalar(value));
      // Pulumi passes a scalar as its text (`-3`, `soon`); a secret's ciphertext is no value.
      const plain = isScalar(value) && value.value !== null ? String(value.value) : undefined;
      entries.set(key, { secret, set, offset: (pair.key as { range?: [number] }).range?.[0] ?? 0, plain });
    }
  }
  return {
    file,
    get: (key) => entries.get(key)?.plain,
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

