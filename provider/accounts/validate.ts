import Ajv, { type ErrorObject } from "ajv";
import * as path from "node:path";
import schema from "../schema/account.schema.json";
import type { AccountFile, CredentialRef, CredentialSpec } from "./account";
import { AUTH_SCHEMES, isNonSecretField, PATCHABLE_SCHEMES, type AuthScheme } from "./fields";
import type { FleetEntry } from "./fleet";
import type { ParsedFile } from "./parse";
import { matchesNamePattern, REFUSED_REFERENCES } from "../settings";
import type { AccountProblem } from "./problem";

let compiled: ReturnType<Ajv["compile"]> | undefined;
function schemaValidator() {
  compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  return compiled;
}

/**
 * Checks one parsed file against the shipped JSON Schema and the rules a schema cannot say well
 * (literal secrets, schemes PATCH refuses), and turns it into an AccountFile.
 * `repoRoot` bounds `file:` references. `fleetEntry` is there whenever the fields the cross-file
 * rules read are sound, even in a file with other problems, so one round reports every problem.
 */
export function validateAccount(parsed: ParsedFile, repoRoot: string): { account?: AccountFile; fleetEntry?: FleetEntry; problems: AccountProblem[] } {
  const problem = (field: (string | number)[], message: string, fix: string): AccountProblem => ({
    file: parsed.file,
    ...parsed.locate(field),
    field: field.join("."),
    message,
    fix,
  });
  const data = parsed.data;
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    return { problems: [problem([], "an account file must be a YAML mapping (id, toolkit, userId, authScheme, ...)", "start from an example in accounts/ or the README")] };
  }
  const validate = schemaValidator();
  const problems: AccountProblem[] = [];
  if (!validate(data)) {
    problems.push(...describeSchemaErrors(validate.errors ?? [], data as Record<string, unknown>, problem));
  }
  const doc = data as Record<string, unknown>;
  const credentials = (doc.credentials ?? {}) as Record<string, unknown>;
  for (const field of IDENTITY_FIELDS) {
    const value = doc[field];
    if (typeof value === "string" && CONTROL_CHARACTERS.test(value)) {
      problems.push(problem([field], `${field} ${JSON.stringify(value)} holds control characters`, `write ${field} without control characters (they can disguise a value in a review or a terminal)`));
    }
  }
  if (credentials && typeof credentials === "object" && Object.hasOwn(credentials, "__proto__")) {
    problems.push(problem(["credentials", "__proto__"], 'credential field "__proto__" cannot be used: it names the prototype of every JavaScript object', "remove it: no Composio credential field has this name"));
  }
  const scheme = doc.authScheme as AuthScheme;
  if (problems.length === 0 && Object.keys(credentials).length > 0 && !PATCHABLE_SCHEMES.includes(scheme) && doc.manage !== "observe") {
    problems.push(
      problem(["authScheme"], `Composio does not accept credentials for ${scheme} accounts (PATCH takes only ${PATCHABLE_SCHEMES.join(", ")})`,
        "remove the credentials map (the alias can still be managed) or reconnect the account through Composio"),
    );
  }
  for (const [key, value] of Object.entries(credentials)) {
    const ref = value as Record<string, unknown> | null;
    if (ref && typeof ref === "object" && typeof ref.env === "string" && matchesNamePattern(ref.env, REFUSED_REFERENCES.env)) {
      problems.push(problem(["credentials", key, "env"], `environment variable ${ref.env} holds this deployment's own or the CI's credentials and cannot be sent to Composio`,
        `reference a variable that holds only this account's credential, e.g. { env: ${envName(`${doc.toolkit ?? "toolkit"}_${key}`)} }`));
    }
    if (ref && typeof ref === "object" && typeof ref.config === "string" && (REFUSED_REFERENCES.config as readonly string[]).includes(ref.config)) {
      problems.push(problem(["credentials", key, "config"], `stack config connected-accounts:${ref.config} is a setting of this tool and cannot be sent to Composio`,
        `store the credential under its own key: pulumi config set --secret connected-accounts:${envName(`${doc.toolkit ?? "toolkit"}_${key}`).toLowerCase()} <value>, and reference it`));
    }
    if (ref && typeof ref === "object" && typeof ref.file === "string") {
      const target = path.resolve(path.dirname(parsed.path), ref.file);
      if (!isInside(repoRoot, target)) {
        problems.push(problem(["credentials", key, "file"], `file reference "${ref.file}" points outside the repository`, "keep secret files inside the repository (git-ignored), or use an env or config reference"));
      }
    }
    if (ref && typeof ref === "object" && typeof ref.sops === "string" && !isInside(repoRoot, path.resolve(path.dirname(parsed.path), ref.sops))) {
      problems.push(problem(["credentials", key, "sops"], `SOPS file "${ref.sops}" is outside the repository`, "commit the SOPS file inside the repository (it is encrypted), and reference it by a path relative to the account file"));
    }
  }
  if (problems.length > 0) return { problems, fleetEntry: fleetEntryOf(parsed, doc, problems) };
  const specs: Record<string, CredentialSpec> = Object.fromEntries(Object.entries(credentials).map(([key, value]) => [key, toSpec(value)]));
  const account: AccountFile = {
    file: parsed.file,
    path: parsed.path,
    id: doc.id as string,
    toolkit: doc.toolkit as string,
    userId: doc.userId as string,
    alias: doc.alias as string | undefined,
    authScheme: scheme,
    manage: (doc.manage as "full" | "observe" | undefined) ?? "full",
    paused: (doc.paused as boolean | undefined) ?? false,
    credentials: specs,
    locate: parsed.locate,
  };
  if (typeof doc.enabled === "boolean") account.enabled = doc.enabled;
  return { problems, account, fleetEntry: account };
}

const FLEET_FIELDS = ["id", "toolkit", "userId", "alias"] as const;

/** The cross-file fields of a file with problems, when none of the problems is about them. */
function fleetEntryOf(parsed: ParsedFile, doc: Record<string, unknown>, problems: readonly AccountProblem[]): FleetEntry | undefined {
  if (problems.some((p) => (FLEET_FIELDS as readonly string[]).includes(p.field))) return undefined;
  const [id, toolkit, userId, alias] = FLEET_FIELDS.map((f) => doc[f]);
  if (typeof id !== "string" || typeof toolkit !== "string" || typeof userId !== "string") return undefined;
  if (alias !== undefined && typeof alias !== "string") return undefined;
  return { file: parsed.file, id, toolkit, userId, alias, locate: parsed.locate };
}

function toSpec(value: unknown): CredentialSpec {
  if (value === null) return { kind: "remove" };
  if (typeof value === "string") return { kind: "literal", value };
  return { kind: "ref", ref: value as CredentialRef };
}

/** The fields that name an account: shown in plans, errors and terminals. */
const IDENTITY_FIELDS = ["id", "alias", "toolkit", "userId"] as const;
/** C0 and C1 controls (NUL included), line and paragraph separators, and bidirectional overrides. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

export function isInside(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

type MakeProblem = (field: (string | number)[], message: string, fix: string) => AccountProblem;

/** Turns ajv's errors into one message per field, in the words of the account file. */
function describeSchemaErrors(errors: ErrorObject[], doc: Record<string, unknown>, problem: MakeProblem): AccountProblem[] {
  const out = new Map<string, AccountProblem>();
  const add = (field: (string | number)[], message: string, fix: string) => {
    const key = field.join(".");
    if (!out.has(key)) out.set(key, problem(field, message, fix));
  };
  for (const e of errors) {
    const segments = e.instancePath.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    const top = segments[0];
    if (e.keyword === "additionalProperties" && segments.length === 0) {
      const name = String(e.params.additionalProperty);
      add([name], `unknown field "${name}"`, "allowed fields: id, toolkit, userId, alias, authScheme, credentials, manage, paused, enabled (check the spelling)");
    } else if (e.keyword === "required" && segments.length === 0) {
      const name = String(e.params.missingProperty);
      add([name], `missing required field "${name}"`, `add "${name}:" to the file`);
    } else if (top === "credentials" && segments.length === 1) {
      add(["credentials"], e.keyword === "minProperties" ? "credentials is empty" : "credentials must be a mapping of field names to references",
        e.keyword === "minProperties" ? "remove the credentials key, or list at least one field" : "write credentials as `field: { env: NAME }` lines");
    } else if (top === "credentials") {
      const key = segments[1];
      const value = (doc.credentials as Record<string, unknown>)[key];
      add(["credentials", key], ...describeCredentialValue(key, value));
    } else if (top === "authScheme") {
      add(["authScheme"], `unknown auth scheme "${String(doc.authScheme)}"`, `use one of ${AUTH_SCHEMES.join(", ")}`);
    } else if (top === "manage") {
      // The value is not repeated: a field that refuses it may hold a secret pasted into the wrong place.
      add(["manage"], `manage must be "full" or "observe"`, "use manage: full (default) or manage: observe");
    } else if ((top === "enabled" || top === "paused") && e.keyword === "type") {
      add([top], `${top} must be true or false, not ${JSON.stringify(doc[top])}`, `write ${top}: true or ${top}: false, unquoted${top === "enabled" ? " (or remove the line to leave it unmanaged)" : ""}`);
    } else if (e.keyword === "type") {
      add(segments, `${segments.join(".")} must be a ${String(e.params.type)}, not ${typeName(doc[top])}`, `write ${segments.join(".")} as a ${String(e.params.type)}${e.params.type === "string" ? " (quote it if YAML reads it as a number or boolean)" : ""}`);
    } else if (e.keyword === "pattern") {
      add(segments, `${segments.join(".")} has characters that are not allowed (the value is not shown: it may be a secret pasted in the wrong place)`, top === "toolkit" ? "use the toolkit slug in lower case, e.g. github" : "use the connected account nanoid as Composio shows it, e.g. ca_8x2kPq");
    } else if (e.keyword === "minLength") {
      add(segments, `${segments.join(".")} is empty`, `set ${segments.join(".")} to a non-empty value`);
    } else {
      add(segments, `${segments.join(".")} ${e.message ?? "is invalid"}`, "see provider/schema/account.schema.json");
    }
  }
  return [...out.values()];
}

/** What `connected-accounts import` writes where only a person can say where the secret lives. */
export const IMPORT_PLACEHOLDER_KEY = "todo";

function describeCredentialValue(key: string, value: unknown): [string, string] {
  if (value && typeof value === "object" && "sops" in value) return describeSopsValue(key, value as Record<string, unknown>);
  if (value && typeof value === "object" && IMPORT_PLACEHOLDER_KEY in value) {
    return [`"${key}" is still the placeholder written by import`, `replace it with a reference to where the secret lives, e.g. ${key}: { env: ${envName(key)} }, or delete the line to leave the field unmanaged`];
  }
  if (typeof value === "string" && !isNonSecretField(key)) {
    return [
      `"${key}" is a literal secret: secrets must never be written in an account file`,
      `replace the value with a reference, e.g. { env: ${envName(key)} } or { config: ${key} } (pulumi config set --secret connected-accounts:${key}), and rotate the value if it was committed`,
    ];
  }
  if (value !== null && typeof value !== "object") {
    return [`"${key}" is a ${typeName(value)}; credential values must be strings, references or null`, isNonSecretField(key) ? `quote the value: ${key}: "${String(value)}"` : `use a reference, e.g. { env: ${envName(key)} }`];
  }
  return [
    `"${key}" is not a valid reference: use exactly one of { env: NAME }, { config: key }, { file: path } or { sops: path, key: name }, or null to remove the field`,
    `write ${key}: { env: ${envName(key)} }`,
  ];
}

/** A `{ sops, key }` reference the schema refuses, in its own words. */
function describeSopsValue(field: string, ref: Record<string, unknown>): [string, string] {
  const example = `${field}: { sops: ../../secrets/credentials.sops.yaml, key: ${field} }`;
  const extra = Object.keys(ref).filter((k) => k !== "sops" && k !== "key");
  if (typeof ref.sops !== "string" || ref.sops === "") return [`"${field}": sops must be the path of a SOPS file`, `write ${example}`];
  if (!("key" in ref)) return [`"${field}": a sops reference needs a key naming the value in the file`, `write ${example}`];
  if (extra.length > 0) return [`"${field}": a sops reference takes only sops and key, not ${extra.join(", ")}`, `write ${example}`];
  return [
    `"${field}": key must name a value in the file: keys separated by dots (stripe.api_key), or a list of keys when one holds a dot`,
    `write key: stripe.api_key, or key: [stripe, "api.key"] for a key with a dot in it`,
  ];
}

function envName(key: string): string {
  return key.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return "mapping";
  return typeof v;
}
