/**
 * Whether a SOPS file was re-encrypted with a new data key between two stored versions (`sops
 * rotate`, or a file made again from its plaintext). SOPS keeps a value's ciphertext while the
 * value and the data key stay the same, so a rotation of one value changes one ciphertext; a new
 * data key changes every one of them, and every wrapped copy of the key in the metadata. Then the
 * ciphertexts no longer tell which values changed: only a read with the key (the preview's) can.
 * Pure: stored documents in, a yes or no out.
 */
import type { SopsDocument } from "./sops-document";

export function wasReencrypted(before: SopsDocument, after: SopsDocument): boolean {
  const keysBefore = new Set(before.wrappedDataKeys ?? []);
  const keysAfter = after.wrappedDataKeys ?? [];
  // Every wrapped data key is new: a recipient added to the same data key keeps the others' wraps.
  if (keysBefore.size === 0 || keysAfter.length === 0 || keysAfter.some((k) => keysBefore.has(k))) return false;
  const old = ciphertexts(before.data);
  const shared = [...ciphertexts(after.data)].filter(([key]) => old.has(key));
  return shared.length > 0 && shared.every(([key, ciphertext]) => old.get(key) !== ciphertext);
}

/** Every encrypted value of a stored document, by its key path. */
function ciphertexts(data: unknown, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (typeof data === "string") {
    if (data.startsWith("ENC[")) out.set(prefix, data);
  } else if (Array.isArray(data)) {
    data.forEach((item, i) => ciphertexts(item, `${prefix}\0${i}`, out));
  } else if (data && typeof data === "object") {
    for (const [key, value] of Object.entries(data)) ciphertexts(value, `${prefix}\0${key}`, out);
  }
  return out;
}
