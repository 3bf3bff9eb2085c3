import Ajv, { type ErrorObject } from "ajv";
import * as path from "node:path";
import schema from "../schema/account.schema.json";
import { REFERENCE_KIND_NAMES, type AccountFile, type CredentialRef, type CredentialSpec } from "./account";
import { AUTH_SCHEMES, isNonSecretField, PATCHABLE_SCHEMES, type AuthScheme } from "./fields";
import type { FleetEntry } from "./fleet";
import type { ParsedFile } from "./parse";
import type { AccountProblem } from "./problem";
import { nearestName } from "./nearest";

let compiled: ReturnType<Ajv["compile"]> | undefined;
function schemaValidator() {
  compiled ??= new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);
  return compiled;
}

/** One reference as written in an account file, for the rules of its kind. */
export interface WrittenReference {
  /** The credential field (`api_key`). */
  field: string;
  /** The account file, absolute: references are relative to it. */
  accountPath: string;
  /** Bounds the files references may name. */
  repoRoot: string;
  /** A variable name to suggest in a fix (`GITHUB_API_KEY`). */
  suggestedName: string;
}

/**
 * What validation asks of the reference kinds. The kinds answer it (references/kinds.ts); the
 * account rules here know no kind by name.
 */
export interface ReferenceRules {
  /** What the kinds refuse in a reference as written; `at` is below the credential field (`["env"]`). */
  refused(ref: Readonly<Record<string, unknown>>, site: WrittenReference): { message: string; fix: string; at?: string[] }[];
  /** The words for a reference the schema refuses, when its kind has better ones than the general message. */
  explainInvalid(field: string, ref: Readonly<Record<string, unknown>>): { message: string; fix: string } | undefined;
  /** How each kind is written (`{ env: NAME }`), for the general message. */
  forms: readonly string[];
}

/**
 * Checks one parsed file against the shipped JSON Schema, the rules a schema cannot say well
 * (literal secrets, schemes PATCH refuses) and what the reference kinds refuse, and turns it into
 * an AccountFile. `repoRoot` bounds the files references name. `fleetEntry` is there whenever the
 * fields the cross-file rules read are sound, even in a file with other problems, so one round
 * reports every problem; `references` likewise holds the file's sound references, for their own checks.
 */
export function validateAccount(parsed: ParsedFile, repoRoot: string, references: ReferenceRules): { account?: AccountFile; fleetEntry?: FleetEntry; references?: AccountFile; problems: AccountProblem[] } {
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
    problems.push(...describeSchemaErrors(validate.errors ?? [], data as Record<string, unknown>, problem, references));
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
    if (!ref || typeof ref !== "object") continue;
    const site = { field: key, accountPath: parsed.path, repoRoot, suggestedName: envName(`${doc.toolkit ?? "toolkit"}_${key}`) };
    for (const p of references.refused(ref, site)) problems.push(problem(["credentials", key, ...(p.at ?? [])], p.message, p.fix));
  }
  if (problems.length > 0) return { problems, fleetEntry: fleetEntryOf(parsed, doc, problems), references: soundReferences(parsed, doc, problems) };
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

/**
 * A file with problems, holding only its references that have none: they are checked as well (an
 * empty SOPS value beside an import placeholder), so that fixing one problem does not reveal another.
 */
function soundReferences(parsed: ParsedFile, doc: Record<string, unknown>, problems: readonly AccountProblem[]): AccountFile | undefined {
  const credentials = doc.credentials;
  if (!credentials || typeof credentials !== "object" || Array.isArray(credentials) || problems.some((p) => p.field === "credentials")) return undefined;
  const refs = Object.entries(credentials as Record<string, unknown>).filter(
    ([key, value]) => value !== null && typeof value === "object" && !problems.some((p) => p.field === `credentials.${key}` || p.field.startsWith(`credentials.${key}.`)),
  );
  if (refs.length === 0) return undefined;
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  return {
    file: parsed.file,
    path: parsed.path,
    id: text(doc.id),
    toolkit: text(doc.toolkit),
    userId: text(doc.userId),
    authScheme: doc.authScheme as AuthScheme,
    manage: doc.manage === "observe" ? "observe" : "full",
    paused: doc.paused === true,
    credentials: Object.fromEntries(refs.map(([key, value]) => [key, toSpec(value)])),
    locate: parsed.locate,
  };
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

/** The fields an account file may have, in the order the README lists them. */
const ACCOUNT_FIELDS = ["id", "toolkit", "userId", "alias", "authScheme", "credentials", "manage", "paused", "enabled"] as const;

type MakeProblem = (field: (string | number)[], message: string, fix: string) => AccountProblem;

/** Turns ajv's errors into one message per field, in the words of the account file. */
function describeSchemaErrors(errors: ErrorObject[], doc: Record<string, unknown>, problem: MakeProblem, references: ReferenceRules): AccountProblem[] {
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
      const meant = nearestName(name, ACCOUNT_FIELDS);
      add([name], `unknown field "${name}"`, meant ? `did you mean \`${meant}\`? rename ${name} to ${meant}` : `allowed fields: ${ACCOUNT_FIELDS.join(", ")} (check the spelling)`);
    } else if (e.keyword === "required" && segments.length === 0) {
      const name = String(e.params.missingProperty);
      add([name], `missing required field "${name}"`, `add "${name}:" to the file`);
    } else if (top === "credentials" && segments.length === 1) {
      add(["credentials"], e.keyword === "minProperties" ? "credentials is empty" : "credentials must be a mapping of field names to references",
        e.keyword === "minProperties" ? "remove the credentials key, or list at least one field" : "write credentials as `field: { env: NAME }` lines");
    } else if (top === "credentials") {
      const key = segments[1];
      const value = (doc.credentials as Record<string, unknown>)[key];
      add(["credentials", key], ...describeCredentialValue(key, value, references));
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

function describeCredentialValue(key: string, value: unknown, references: ReferenceRules): [string, string] {
  const explained = value && typeof value === "object" ? references.explainInvalid(key, value as Record<string, unknown>) : undefined;
  if (explained) return [explained.message, explained.fix];
  const nonSecret = isNonSecretField(key);
  if (value && typeof value === "object" && IMPORT_PLACEHOLDER_KEY in value) {
    return [
      `"${key}" is still the placeholder written by import`,
      nonSecret
        ? `replace it with the value (${key} is not a secret: write it as is, e.g. ${key}: example), or delete the line to leave the field unmanaged`
        : `replace it with a reference to where the secret lives, e.g. ${key}: { env: ${envName(key)} } or ${sopsExample(key)}, or delete the line to leave the field unmanaged`,
    ];
  }
  if (typeof value === "string" && !nonSecret) {
    return [
      `"${key}" is a literal secret: secrets must never be written in an account file`,
      `replace the value with a reference, e.g. { env: ${envName(key)} } or { config: ${key} } (pulumi config set --secret connected-accounts:${key}), or keep it encrypted in git: ${sopsExample(key)}; and rotate the value if it was committed`,
    ];
  }
  if (value !== null && typeof value !== "object") {
    return [`"${key}" is a ${typeName(value)}; credential values must be strings, references or null`, nonSecret ? `quote the value: ${key}: "${String(value)}"` : `use a reference, e.g. { env: ${envName(key)} }`];
  }
  const misspelt = misspeltKind(value);
  if (misspelt) {
    return [
      `"${key}": unknown reference kind "${misspelt.written}"; did you mean \`${misspelt.meant}\`?`,
      `write ${key}: ${misspelt.meant === "sops" ? `{ sops: ${misspelt.target}, key: ${key} }` : `{ ${misspelt.meant}: ${misspelt.target} }`}`,
    ];
  }
  return [
    `"${key}" is not a valid reference: use exactly one of ${listed(references.forms)}, or null to remove the field`,
    nonSecret ? `write ${key}: "<value>" (${key} is not a secret: write it as is), or a reference such as ${key}: { env: ${envName(key)} }` : `write ${key}: { env: ${envName(key)} }`,
  ];
}

/** A mapping whose one key (besides a sops `key`) is a reference kind misspelt: `{ sopz: … }`. */
function misspeltKind(value: unknown): { written: string; meant: string; target: string } | undefined {
  if (!value || typeof value !== "object" || Array.isArray(value)) return undefined;
  const keys = Object.keys(value).filter((k) => k !== "key");
  if (keys.length !== 1) return undefined;
  const meant = nearestName(keys[0], REFERENCE_KIND_NAMES);
  const target = (value as Record<string, unknown>)[keys[0]];
  if (!meant || meant === keys[0]) return undefined;
  return { written: keys[0], meant, target: typeof target === "string" && target !== "" ? target : "<path or name>" };
}

function sopsExample(key: string): string {
  return `{ sops: ../../secrets/credentials.sops.yaml, key: ${key} }`;
}

/** `a, b, c or d`. */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`;
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
