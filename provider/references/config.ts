/**
 * `{ config: key }`: a stack secret, `connected-accounts:<key>`. The provider reads it from the
 * config the engine sends in `configure`, so the program never registers it. A plain (non-secret)
 * config value is refused: Pulumi keeps it in plain text in the stack file and the state.
 */
import type { RegisteredRef } from "../plan/account-state";
import { CONFIG_NAMESPACE, REFUSED_REFERENCES } from "../settings";
import type { ReadResult, ReferenceKind, ReferenceProblem } from "./kind";

type ConfigRef = { config: string };

export const configKind: ReferenceKind<ConfigRef, ConfigRef> = {
  name: "config",
  form: "{ config: key }",
  example: { config: "github_api_key" },
  schema: {
    type: "object",
    required: ["config"],
    additionalProperties: false,
    properties: { config: { type: "string", pattern: "^[A-Za-z0-9_.-]+$", description: "Pulumi stack config key (connected-accounts:<key>), set with --secret." } },
  },
  written: (ref): ref is ConfigRef => "config" in ref,
  registered: (ref: RegisteredRef): ref is ConfigRef => "config" in ref && typeof (ref as ConfigRef).config === "string",
  refused(ref, site) {
    if (typeof ref.config !== "string" || !(REFUSED_REFERENCES.config as readonly string[]).includes(ref.config)) return [];
    return [{
      message: `stack config ${CONFIG_NAMESPACE}:${ref.config} is a setting of this tool and cannot be sent to Composio`,
      fix: `store the credential under its own key: pulumi config set --secret ${CONFIG_NAMESPACE}:${site.suggestedName.toLowerCase()} <value>, and reference it`,
      at: ["config"],
    }];
  },
  explainInvalid: () => undefined,
  check(ref, ctx) {
    const full = `${CONFIG_NAMESPACE}:${ref.config}`;
    if (!ctx.config) return [];
    if (!ctx.config.has(full)) return ctx.stage === "deploy" ? [unset(ref.config)] : [];
    if (!ctx.config.isSecret(full)) return [{ ...plainConfig(ref.config), at: ["config"] }];
    return [];
  },
  // A revision's stack file is checked by the command that reads it (stack-secrets.ts).
  checkStored: () => [],
  register: (ref) => ({ config: ref.config }),
  read(ref, ctx): ReadResult {
    const value = ctx.config(`${CONFIG_NAMESPACE}:${ref.config}`);
    if (value === undefined || value === "") return unset(ref.config);
    return { value };
  },
  describe: (ref) => `config ${ref.config}`,
  target: () => undefined,
  commit: "no target",
  committedProblem: () => undefined,
  sameSource: (from, _b, to) => from.config === to.config,
  // A stack secret's ciphertext changes on every write, whether or not the value did: it tells nothing.
  rotation: () => undefined,
};

function unset(key: string): ReferenceProblem {
  return { message: `stack config ${CONFIG_NAMESPACE}:${key} is not set`, fix: `pulumi config set --secret ${CONFIG_NAMESPACE}:${key} <value>` };
}

/** A credential in plain stack config: in plain text in git (the stack file) and in the state backend. */
export function plainConfig(key: string): ReferenceProblem {
  return {
    message: `stack config ${CONFIG_NAMESPACE}:${key} is not a stack secret: Pulumi keeps a plain value in plain text in the stack file and in the state`,
    fix: `pulumi config set --secret ${CONFIG_NAMESPACE}:${key} <value> (then rotate the credential: the plain value is in the stack file's history)`,
  };
}
