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
