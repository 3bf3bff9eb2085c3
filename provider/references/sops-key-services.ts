/**
 * The key services a SOPS file's metadata names, and the ones the repository approves. A file's
 * `sops` metadata sits outside its MAC: anyone who can commit can add `hc_vault: vault_address:
 * http://elsewhere` to a file that still decrypts, and `sops --decrypt` would then contact that
 * address with the machine's Vault token (or its cloud credentials, for a KMS entry). So before any
 * decryption, every service a file names other than age (which reads only local keys) must be one
 * the repository's `.sops.yaml` creation rules name: a change there is reviewed like code. Pure:
 * parsed YAML in, facts out.
 */
import { parseDocument } from "yaml";
import { terminalSafe } from "../text/terminal-text";

/** The families sops reaches beyond the machine (or, for PGP, through gpg). */
export type KeyServiceKind = "AWS KMS" | "GCP KMS" | "Azure Key Vault" | "Vault transit" | "HuaweiCloud KMS" | "PGP";

export interface KeyService {
  /** A KeyServiceKind, or the metadata key of a kind this version does not know (never approved). */
  kind: KeyServiceKind | string;
  /** What identifies it exactly (ARN with role and profile, key URL, fingerprint): compared with the approved ones. */
  id: string;
}

/** Approved key services, by `${kind} ${id}`; `source` names where they were read, for messages. */
export interface ApprovedKeyServices {
  source: string;
  ids: ReadonlySet<string>;
}

export type KeyServiceConfigProblem = { message: string; fix: string };

const MAX_CONFIG_ALIASES = 100;

export function serviceKey(s: KeyService): string {
  return `${s.kind} ${s.id}`;
}

const trimSlashes = (s: string) => s.replace(/\/+$/, "");
const str = (v: unknown) => (typeof v === "string" ? v : "");

function kmsId(arn: string, role: string, profile: string): string {
  return `${arn.trim()}${role.trim() ? ` role ${role.trim()}` : ""}${profile.trim() ? ` profile ${profile.trim()}` : ""}`;
}

/** Every non-age key service in a file's `sops` metadata (top level and key groups), without repeats. */
export function keyServicesOf(meta: Record<string, unknown>): KeyService[] {
  const groups = [meta, ...(Array.isArray(meta.key_groups) ? meta.key_groups : [])] as unknown[];
  const out = new Map<string, KeyService>();
  const add = (kind: KeyServiceKind, id: string) => {
    if (id !== "") out.set(`${kind} ${id}`, { kind, id });
  };
  const each = (list: unknown, f: (k: Record<string, unknown>) => void) => {
    if (Array.isArray(list)) for (const k of list) if (k && typeof k === "object" && !Array.isArray(k)) f(k as Record<string, unknown>);
  };
  for (const g of groups) {
    if (!g || typeof g !== "object" || Array.isArray(g)) continue;
    const group = g as Record<string, unknown>;
    each(group.kms, (k) => add("AWS KMS", str(k.arn) && kmsId(str(k.arn), str(k.role), str(k.aws_profile))));
    each(group.gcp_kms, (k) => add("GCP KMS", str(k.resource_id).trim()));
    each(group.azure_kv, (k) => add("Azure Key Vault", str(k.vault_url) && `${trimSlashes(str(k.vault_url))}/keys/${str(k.name)}/${str(k.version)}`));
    each(group.hc_vault, (k) => add("Vault transit", str(k.vault_address) && `${trimSlashes(str(k.vault_address))}/v1/${str(k.engine_path)}/keys/${str(k.key_name)}`));
    each(group.hckms, (k) => add("HuaweiCloud KMS", str(k.key_id).trim()));
    each(group.pgp, (k) => add("PGP", str(k.fp).replace(/\s+/g, "").toUpperCase()));
    // Entries of a kind this version does not know still make sops reach somewhere: named as such.
    for (const [name, list] of Object.entries(group)) {
      if (KNOWN_METADATA.has(name) || !Array.isArray(list) || list.length === 0) continue;
      out.set(`${name} ${JSON.stringify(list)}`, { kind: name, id: JSON.stringify(list).slice(0, 200) });
    }
  }
  return [...out.values()];
}

/** Keys of the `sops` metadata (and of a key group) that are not key services, or are age. */
const KNOWN_METADATA = new Set([
  "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", "pgp", "age", "key_groups", "shamir_threshold", "lastmodified", "mac",
  "unencrypted_suffix", "encrypted_suffix", "unencrypted_regex", "encrypted_regex", "unencrypted_comment_regex",
  "encrypted_comment_regex", "mac_only_encrypted", "version",
]);

/** `a,b` or `[a, b]` (how `.sops.yaml` writes a rule's keys) as a list. */
function keyList(v: unknown): string[] {
  const items = typeof v === "string" ? v.split(",") : Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  return items.map((s) => s.trim()).filter((s) => s !== "");
}

/** `https://vault:8200/v1/sops/keys/name` → the id a file's metadata gives the same key. */
function vaultId(uri: string): string {
  const m = /^(.*?)\/v1\/(.+)\/keys\/([^/]+)\/*$/.exec(uri.trim());
  return m ? `${trimSlashes(m[1])}/v1/${m[2]}/keys/${m[3]}` : trimSlashes(uri.trim());
}

/** `https://x.vault.azure.net/keys/name/version` → the id a file's metadata gives the same key. */
function azureId(url: string): string {
  const m = /^(.*?)\/keys\/([^/]+)\/([^/]*)\/*$/.exec(url.trim());
  return m ? `${trimSlashes(m[1])}/keys/${m[2]}/${m[3]}` : trimSlashes(url.trim());
}

/** The key services `.sops.yaml` creation rules name (the text of the file called `source`). */
export function approvedKeyServices(source: string, text: string): ApprovedKeyServices | KeyServiceConfigProblem {
  const doc = parseDocument(text, { prettyErrors: false, strict: true });
  let data: unknown;
  try {
    data = doc.errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES });
  } catch {
    data = undefined;
  }
  if (doc.errors.length > 0 || (data !== null && data !== undefined && (typeof data !== "object" || Array.isArray(data)))) {
    return { message: `${source} is not a SOPS configuration (not a YAML mapping), so no key service is approved`, fix: `correct ${source}: creation_rules is a list of rules naming the keys files are encrypted for` };
  }
  const ids = new Set<string>();
  const add = (kind: KeyServiceKind, id: string) => {
    if (id !== "") ids.add(`${kind} ${id}`);
  };
  const rules = (data as { creation_rules?: unknown } | null)?.creation_rules;
  for (const r of Array.isArray(rules) ? rules : []) {
    if (!r || typeof r !== "object") continue;
    const rule = r as Record<string, unknown>;
    for (const k of keyList(rule.kms)) {
      const [arn, role = ""] = k.split("+");
      add("AWS KMS", kmsId(arn, role, str(rule.aws_profile)));
    }
    for (const k of keyList(rule.gcp_kms)) add("GCP KMS", k);
    for (const k of keyList(rule.azure_keyvault)) add("Azure Key Vault", azureId(k));
    for (const k of keyList(rule.hc_vault_transit_uri)) add("Vault transit", vaultId(k));
    for (const k of keyList(rule.hckms)) add("HuaweiCloud KMS", k);
    for (const k of keyList(rule.pgp)) add("PGP", k.replace(/\s+/g, "").toUpperCase());
    const groups = Array.isArray(rule.key_groups) ? rule.key_groups : [];
    for (const g of groups) {
      if (!g || typeof g !== "object") continue;
      const group = g as Record<string, unknown>;
      for (const k of Array.isArray(group.kms) ? group.kms : []) if (k && typeof k === "object") add("AWS KMS", str(k.arn) && kmsId(str(k.arn), str(k.role), str(k.aws_profile)));
      for (const k of Array.isArray(group.gcp_kms) ? group.gcp_kms : []) if (k && typeof k === "object") add("GCP KMS", str(k.resource_id).trim());
      for (const k of Array.isArray(group.azure_keyvault) ? group.azure_keyvault : []) if (k && typeof k === "object") add("Azure Key Vault", str(k.vaultUrl) && `${trimSlashes(str(k.vaultUrl))}/keys/${str(k.key)}/${str(k.version)}`);
      for (const k of keyList(group.hc_vault)) add("Vault transit", vaultId(k));
      for (const k of Array.isArray(group.hckms) ? group.hckms : []) if (k && typeof k === "object") add("HuaweiCloud KMS", str(k.key_id).trim());
      for (const k of keyList(group.pgp)) add("PGP", k.replace(/\s+/g, "").toUpperCase());
    }
  }
  return { source, ids };
}

/** The services a file names that the repository does not approve; empty when every one is approved. */
export function unapprovedKeyServices(services: readonly KeyService[], approved: ApprovedKeyServices | undefined): KeyService[] {
  return services.filter((s) => !approved?.ids.has(serviceKey(s)));
}

/** The problem of a SOPS file naming services the repository does not approve (`config`: where approval would be). */
export function unapprovedProblem(ref: string, unapproved: readonly KeyService[], config: string): KeyServiceConfigProblem {
  const listed = unapproved.map((s) => `${terminalSafe(s.kind)} ${terminalSafe(s.id)}`).join(", ");
  return {
    message: `SOPS file ${terminalSafe(ref)} names ${unapproved.length === 1 ? "a key service" : "key services"} the repository does not approve (${config} does not name ${unapproved.length === 1 ? "it" : "them"}): ${listed}; sops is not run for it, since decrypting would contact ${unapproved.length === 1 ? "that service" : "those services"} with this machine's credentials`,
    fix: `if the file is meant to be encrypted for ${unapproved.length === 1 ? "it" : "them"}, add ${unapproved.length === 1 ? "it" : "them"} to a creation rule in ${config} (reviewed like code); otherwise restore the file from a trusted revision (git log -p -- ${terminalSafe(ref)}): its sops metadata is not covered by its MAC`,
  };
}
