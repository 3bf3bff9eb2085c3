/**
 * Pulumi's wire form of a secret: `{ "4dabf1…": "1b4706…", value }`. The program emits it, the engine
 * strips it before calling a provider that does not accept secrets, and re-applies it to outputs.
 */
export const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Secret = { [SECRET_SIG_KEY]: typeof SECRET_SIG; value: unknown };

export function isSecret(v: unknown): v is Secret {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG;
}

export function secret(value: unknown): Secret {
  return { [SECRET_SIG_KEY]: SECRET_SIG, value };
}

/** Removes every secret marker, as the engine does for a provider that answered `acceptSecrets=false`. */
export function unmarked(v: unknown): unknown {
  if (isSecret(v)) return unmarked(v.value);
  if (Array.isArray(v)) return v.map(unmarked);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unmarked(x)]));
  return v;
}

/**
 * The engine's `annotateSecrets`: an output is re-marked secret where the input of the same key
 * (recursively) was secret. Output keys with no secret input of that name stay in plaintext.
 */
export function annotateSecrets(outputs: unknown, inputs: unknown): unknown {
  if (isSecret(inputs)) return secret(unmarked(outputs));
  if (outputs && typeof outputs === "object" && !Array.isArray(outputs) && inputs && typeof inputs === "object" && !Array.isArray(inputs)) {
    const ins = inputs as Record<string, unknown>;
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, k in ins ? annotateSecrets(v, ins[k]) : v]));
  }
  return outputs;
}
