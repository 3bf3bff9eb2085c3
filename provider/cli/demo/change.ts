/**
 * The change the demo makes after the adoption, the way a user makes one: an alias renamed and a
 * credential key removed by editing account files (comments and layout kept), and a key rotated by
 * giving its environment variable a new value, as when a CI secret is replaced. Each part is
 * chosen from the accounts there are; a part with no account to apply it to is left out.
 */
import * as fs from "node:fs";
import { parseDocument } from "yaml";
import type { AccountFile } from "../../accounts/account";
import { envKind } from "../../references/env";
import { rotatedDemoValue } from "./inputs";

export interface DemoChange {
  /** One line per part, for people: file, field, what changed (never a value). */
  described: string[];
  /** Environment variables with their new values (the rotation), for the child processes only. */
  env: Record<string, string>;
}

export function applyDemoChange(accounts: readonly AccountFile[]): DemoChange {
  const managed = accounts.filter((a) => a.manage === "full" && !a.paused);
  const described: string[] = [];
  const env: Record<string, string> = {};

  const renamed = managed.find((a) => a.alias);
  if (renamed) {
    const alias = `${renamed.alias}-renamed`;
    editYaml(renamed.path, (doc) => doc.set("alias", alias));
    described.push(`${renamed.file}: alias "${renamed.alias}" → "${alias}" (renamed)`);
  }

  const rotated = managed.find((a) => Object.keys(a.credentials).some((k) => envNameOf(a, k) !== undefined));
  if (rotated) {
    const key = Object.keys(rotated.credentials).find((k) => envNameOf(rotated, k) !== undefined)!;
    const name = envNameOf(rotated, key)!;
    env[name] = rotatedDemoValue(name);
    described.push(`${rotated.file}: ${key} rotated (${name} has a new value, as when the CI secret is replaced; the file does not change, so plan cannot see it; pulumi preview shows it by fingerprint)`);
  }

  // A key dropped from a file is removed remotely (sent as null); keep the rotated key out of it.
  const removable = (a: AccountFile) => Object.keys(a.credentials).filter((k) => a.credentials[k].kind !== "remove" && !(a === rotated && isEnvRef(a, k)));
  const trimmed = managed.find((a) => a !== renamed && removable(a).length >= 2) ?? managed.find((a) => removable(a).length >= 2);
  if (trimmed) {
    const key = removable(trimmed).at(-1)!;
    editYaml(trimmed.path, (doc) => doc.deleteIn(["credentials", key]));
    described.push(`${trimmed.file}: credentials.${key} deleted from the file (removed in Composio, sent as null)`);
  }
  return { described, env };
}

function isEnvRef(a: AccountFile, key: string): boolean {
  return envNameOf(a, key) !== undefined;
}

/** The variable a credential is read from, when it is an `env:` reference. */
function envNameOf(a: AccountFile, key: string): string | undefined {
  const spec = a.credentials[key];
  return spec.kind === "ref" && envKind.written(spec.ref) ? spec.ref.env : undefined;
}

function editYaml(file: string, edit: (doc: ReturnType<typeof parseDocument>) => void): void {
  const doc = parseDocument(fs.readFileSync(file, "utf8"));
  edit(doc);
  fs.writeFileSync(file, doc.toString());
}
