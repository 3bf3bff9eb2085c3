import { createHmac } from "node:crypto";

/**
 * A keyed fingerprint of a credential value, shown in `pulumi preview --diff` so a reviewer can tell
 * which secret changed. Keyed with a stack secret: an unkeyed hash would let anyone who reads the
 * state guess weak passwords offline. 48 bits are plenty to notice a change and reveal nothing.
 */
export function fingerprint(key: string, field: string, value: string): string {
  return "hmac:" + createHmac("sha256", key).update(field).update("\0").update(value).digest("hex").slice(0, 12);
}

export function fingerprintAll(key: string, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(values).sort().map((field) => [field, fingerprint(key, field, values[field])]));
}

/**
 * Why a stack's fingerprint key cannot be used, or undefined when it can: the key must be a stack
 * secret (a readable key lets anyone who reads the state test guesses against the fingerprints) and
 * long enough not to be guessed itself.
 */
export function fingerprintKeyProblem(key: string, isSecret: boolean, minLength: number): string | undefined {
  if (!isSecret) return "is not a stack secret: anyone who can read the stack file could test guesses of short secrets against the fingerprints in the state";
  if (key.length < minLength) return `is ${key.length} characters long; at least ${minLength} are needed so that it cannot be guessed`;
  return undefined;
}
