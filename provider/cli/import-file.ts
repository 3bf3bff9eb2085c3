/**
 * The account file `connected-accounts import` writes for an account that already exists in Composio.
 * Pure: a RemoteAccount in, YAML text out. The API only reports credential key names (values come back
 * "REDACTED"), so each credential becomes a placeholder that `validate` flags until a person says where
 * the secret lives.
 */
import { Document, YAMLMap } from "yaml";
import type { ManageMode } from "../accounts/account";
import { AUTH_SCHEMES, isNonSecretField, PATCHABLE_SCHEMES, type AuthScheme } from "../accounts/fields";
import { IMPORT_PLACEHOLDER_KEY } from "../accounts/validate";
import type { RemoteAccount } from "../plan/live-account";

/** The placeholder's text for a secret field: the three reference kinds an account file accepts. */
export const SECRET_PLACEHOLDER = "replace with { env: NAME }, { config: key } or { file: path }";
/** Configuration fields (region, subdomain, ...) may be written as plain values. */
export const CONFIG_PLACEHOLDER = "replace with the value (not a secret), or { env: NAME }, { config: key } or { file: path }";

/** The same rules as the schema's `id` and `toolkit`; both also name the file and its folder. */
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const TOOLKIT_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

export interface ImportFileOptions {
  /** full: alias and credentials (as placeholders); observe: recorded only, never written. */
  manage: ManageMode;
  /** Path of account.schema.json relative to the file's folder, for the editor modeline; omitted when unknown. */
  schemaRef?: string;
  /** Where each secret field's value lives, when import was told (--secrets); else a todo placeholder. */
  secretRef?: (field: string) => { sops: string; key: string };
}

/**
 * Why no valid account file can be written for this account, or undefined when one can. The id and
 * toolkit become path segments, so anything outside the schema's patterns is refused here rather
 * than written somewhere unexpected.
 */
export function cannotImport(account: RemoteAccount): string | undefined {
  if (!ID_PATTERN.test(account.id)) return "its id is not a connected account nanoid the account files accept";
  if (!TOOLKIT_PATTERN.test(account.toolkit)) return `its toolkit slug ${JSON.stringify(account.toolkit)} is not one the account files accept`;
  if (account.userId === "") return "the API reported no user id for it";
  // Written as its escaped display, the alias would rename the account on the first up.
  if (account.aliasEscaped) return `its alias holds control or bidirectional characters (shown escaped: "${account.alias}"), which account files do not accept (they can disguise a value in a review or a terminal): rename the account in Composio, then import it again`;
  if (!(AUTH_SCHEMES as readonly string[]).includes(account.authScheme)) return `its auth scheme ${JSON.stringify(account.authScheme)} is unknown to this version`;
  return undefined;
}

/** `<toolkit>/<id>.yaml`, relative to the accounts folder; only for accounts `cannotImport` accepts. */
export function importFilePath(account: RemoteAccount): string {
  return `${account.toolkit}/${account.id}.yaml`;
}

/**
 * The file's text: modeline, a comment on what to do next, then id, toolkit, userId, alias (only when
 * the account has one, so an absent alias stays unmanaged), authScheme, enabled (as Composio reports
 * it), and manage or credentials.
 */
export function renderImportedAccount(account: RemoteAccount, opts: ImportFileOptions): string {
  const scheme = account.authScheme as AuthScheme;
  const credentialKeys = placeholderKeys(account, opts.manage);
  const header = [
    ...(opts.schemaRef ? [`# yaml-language-server: $schema=${opts.schemaRef}`] : []),
    `# Imported by connected-accounts import. ${nextStep(scheme, opts.manage, credentialKeys.filter((k) => !(opts.secretRef && !isNonSecretField(k))).length > 0, opts.secretRef !== undefined && credentialKeys.some((k) => !isNonSecretField(k)))}`,
  ];
  const doc = new Document();
  const root = new YAMLMap();
  const set = (key: string, value: unknown) => root.add(doc.createPair(key, value));
  set("id", account.id);
  set("toolkit", account.toolkit);
  set("userId", account.userId);
  if (account.alias) set("alias", account.alias);
  set("authScheme", scheme);
  // As Composio has it now: from here on the file decides, and a switch in the dashboard is drift.
  set("enabled", !account.isDisabled);
  if (opts.manage === "observe") set("manage", "observe");
  if (credentialKeys.length > 0) {
    const credentials = new YAMLMap();
    for (const key of credentialKeys) {
      const ref = opts.secretRef && !isNonSecretField(key) ? opts.secretRef(key) : undefined;
      const placeholder = doc.createNode(ref ?? { [IMPORT_PLACEHOLDER_KEY]: isNonSecretField(key) ? CONFIG_PLACEHOLDER : SECRET_PLACEHOLDER });
      placeholder.flow = true;
      credentials.add(doc.createPair(key, placeholder));
    }
    set("credentials", credentials);
  }
  doc.contents = root;
  return `${header.join("\n")}\n${doc.toString({ lineWidth: 0 })}`;
}

/** The credential fields written as `{ todo: ... }` placeholders: only where credentials can be managed. */
export function placeholderKeys(account: RemoteAccount, manage: ManageMode): string[] {
  return manage === "full" && PATCHABLE_SCHEMES.includes(account.authScheme as AuthScheme) ? account.credentialKeys : [];
}

function nextStep(scheme: AuthScheme, manage: ManageMode, hasTodos: boolean, inSops: boolean): string {
  if (manage === "observe") return "Observed only: refreshed from Composio, never written; set manage: full to manage its alias and credentials.";
  if (!PATCHABLE_SCHEMES.includes(scheme)) return `Composio does not accept ${scheme} credentials through its API, so only the alias is managed here.`;
  const fill = "fill in its secrets in the SOPS file with sops edit (delete a line to leave that field unmanaged)";
  if (hasTodos && inSops) return `Replace each todo with the value (or delete the line), ${fill}, then run connected-accounts validate.`;
  if (inSops) return `${fill[0].toUpperCase()}${fill.slice(1)}, then run connected-accounts validate.`;
  if (hasTodos) return "Replace each todo with where the value lives (or delete the line to leave that field unmanaged), then run connected-accounts validate.";
  return "Composio reported no credential fields; add a credentials map to manage them, or keep managing only the alias.";
}
