/**
 * Every reference kind answers the whole contract, and the shipped schema admits exactly the kinds
 * the list holds, each as its module describes it: adding a kind is its module and one line.
 */
import Ajv from "ajv";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import schema from "../provider/schema/account.schema.json";
import type { ReferenceKind } from "../provider/references/kind";
import { describeWritten, kindOfRegistered, kindOfWritten, REFERENCE_KINDS, REFERENCE_RULES } from "../provider/references/kinds";

const ROOT = "/repo";
const ACCOUNT = { path: path.join(ROOT, "accounts/github/main.yaml") };
const SITE = { field: "api_key", accountPath: ACCOUNT.path, repoRoot: ROOT, suggestedName: "GITHUB_API_KEY" };
const FUNCTIONS = [
  "written", "registered", "refused", "explainInvalid", "check", "checkStored", "register", "read",
  "describe", "target", "committedProblem", "sameSource", "rotation",
] as const satisfies readonly (keyof ReferenceKind)[];
const NO_FILES = { get: () => ({ missing: true as const }), approved: () => ({ source: "no .sops.yaml", ids: new Set<string>() }) };

describe.each(REFERENCE_KINDS.map((kind) => [kind.name, kind] as const))("the %s reference kind", (name, kind) => {
  it("implements every part of the contract", () => {
    for (const member of FUNCTIONS) expect(typeof kind[member], member).toBe("function");
    expect(kind.form).toContain(name);
    expect(["refused", "expected", "no target"]).toContain(kind.commit);
  });

  it("recognises its own example, as written and as registered, and no other kind does", () => {
    expect(kindOfWritten(kind.example)).toBe(kind);
    const registered = kind.register(kind.example, ACCOUNT, ROOT);
    expect(kindOfRegistered(registered)).toBe(kind);
    // What is registered travels to the engine as JSON: it must survive the trip.
    expect(JSON.parse(JSON.stringify(registered))).toEqual(registered);
  });

  it("describes its example, as written and as registered, in words naming the kind", () => {
    expect(describeWritten(kind.example)).toMatch(new RegExp(`^${name} `));
    expect(kind.describe(kind.register(kind.example, ACCOUNT, ROOT))).toMatch(new RegExp(`^${name} `));
  });

  it("refuses nothing in its example, and finds it the same source as itself", () => {
    expect(kind.refused(kind.example, SITE)).toEqual([]);
    expect(kind.sameSource(kind.example, ACCOUNT, kind.example, ACCOUNT)).toBe(true);
    expect(kind.rotation(kind.example, ACCOUNT, kind.example, ACCOUNT, { base: NO_FILES, head: NO_FILES })).toBeUndefined();
  });

  it("names a file exactly when it says whether the file may be committed", () => {
    const target = kind.target(kind.example, ACCOUNT);
    expect(target === undefined).toBe(kind.commit === "no target");
    if (target !== undefined) expect(path.isAbsolute(target)).toBe(true);
    // Only a file that must never be committed is a problem when git tracks it.
    expect(kind.committedProblem(kind.example, "secrets/x") !== undefined).toBe(kind.commit === "refused");
  });

  it("is written in the shipped schema as its module describes it", () => {
    expect((schema.definitions as Record<string, unknown>)[`${name}Reference`]).toEqual(kind.schema);
    const ajv = new Ajv({ strict: true, allowUnionTypes: true });
    expect(ajv.validate(kind.schema, kind.example), JSON.stringify(ajv.errors)).toBe(true);
  });
});

describe("the list of reference kinds", () => {
  it("is what the shipped schema admits for a credential, and nothing else", () => {
    const refs = (values: { $ref?: string }[]) => values.flatMap((v) => (v.$ref ? [v.$ref] : []));
    const expected = REFERENCE_KINDS.map((k) => `#/definitions/${k.name}Reference`);
    expect(refs(schema.definitions.secretValue.anyOf)).toEqual(expected);
    expect(refs(schema.definitions.configValue.anyOf)).toEqual(expected);
    const defined = Object.keys(schema.definitions).filter((d) => d.endsWith("Reference"));
    expect(defined.sort()).toEqual(REFERENCE_KINDS.map((k) => `${k.name}Reference`).sort());
  });

  it("names every kind in the message for a reference that is none of them", () => {
    for (const kind of REFERENCE_KINDS) expect(REFERENCE_RULES.forms).toContain(kind.form);
  });

  it("has one kind per name, each recognising only its own example", () => {
    expect(new Set(REFERENCE_KINDS.map((k) => k.name)).size).toBe(REFERENCE_KINDS.length);
    for (const kind of REFERENCE_KINDS) {
      expect(REFERENCE_KINDS.filter((other) => other.written(kind.example)).map((k) => k.name)).toEqual([kind.name]);
    }
  });
});
