/** `{ env: NAME }`: a variable of the deploying process's environment (the provider inherits the CLI's). */
import type { RegisteredRef } from "../plan/account-state";
import { matchesNamePattern, REFUSED_REFERENCES } from "../settings";
import type { ReadResult, ReferenceKind, ReferenceProblem } from "./kind";

type EnvRef = { env: string };

export const envKind: ReferenceKind<EnvRef, EnvRef> = {
  name: "env",
  form: "{ env: NAME }",
  example: { env: "GITHUB_API_KEY" },
  schema: {
    type: "object",
    required: ["env"],
    additionalProperties: false,
    properties: { env: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$", description: "Environment variable holding the value." } },
  },
  written: (ref): ref is EnvRef => "env" in ref,
  registered: (ref: RegisteredRef): ref is EnvRef => "env" in ref && typeof (ref as EnvRef).env === "string",
  refused(ref, site) {
    if (typeof ref.env !== "string" || !matchesNamePattern(ref.env, REFUSED_REFERENCES.env)) return [];
    return [{
      message: `environment variable ${ref.env} holds this deployment's own or the CI's credentials and cannot be sent to Composio`,
      fix: `reference a variable that holds only this account's credential, e.g. { env: ${site.suggestedName} }`,
      at: ["env"],
    }];
  },
  explainInvalid: () => undefined,
  check(ref, ctx) {
    if (ctx.allowedEnv && !matchesNamePattern(ref.env, ctx.allowedEnv)) {
      return [{ message: `environment variable ${ref.env} is not allowed by stack config connected-accounts:allowedEnv (${ctx.allowedEnv.join(", ")})`, fix: `add a pattern matching ${ref.env} to connected-accounts:allowedEnv, or reference an allowed variable` }];
    }
    if (ctx.stage !== "deploy" || !ctx.env) return [];
    const problem = presence(ref.env, ctx.env[ref.env]);
    return problem ? [problem] : [];
  },
  // The environment is the deploying machine's: a revision holds nothing of it.
  checkStored: () => [],
  register: (ref) => ({ env: ref.env }),
  read(ref, ctx): ReadResult {
    const value = ctx.env[ref.env];
    return presence(ref.env, value) ?? { value: value! };
  },
  describe: (ref) => `env ${ref.env}`,
  target: () => undefined,
  commit: "no target",
  committedProblem: () => undefined,
  sameSource: (from, _b, to) => from.env === to.env,
  // A new value in the same variable shows only in the preview's fingerprints.
  rotation: () => undefined,
};

function presence(name: string, value: string | undefined): ReferenceProblem | undefined {
  if (value === undefined) return { message: `environment variable ${name} is not set`, fix: `export ${name}=... before running pulumi (in CI, map it from a repository secret)` };
  if (value === "") return { message: `environment variable ${name} is empty`, fix: `set ${name} to the credential value; an empty value is never sent` };
  return undefined;
}
