/**
 * A SOPS-encrypted file read as it is stored, without decrypting: SOPS keeps every key in clear and
 * replaces each value with `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, plus a `sops` mapping of
 * metadata (who can decrypt, the MAC). That is enough to check a reference (the file is SOPS, the key
 * is there, its value is an encrypted string) and to see a rotation (the value's ciphertext changed)
 * with no key at all. Pure: text in, facts out.
 */
import { parseDocument } from "yaml";
import { keyServicesOf, type KeyService } from "./sops-key-services";

/** The key path of a `{ sops, key }` reference: `a.b` as written, or `[a, "b.c"]` when a key holds a dot. */
export type SopsKeyPath = readonly string[];

const ENCRYPTED = /^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:(\w+)\]$/;
/** The document formats whose keys SOPS keeps readable in a structure (dotenv and INI flatten them). */
const STRUCTURED = /\.(ya?ml|json)$/i;
/** Aliases in an encrypted file are rare; beyond this many it is an attack on memory. */
const MAX_ALIAS_COUNT = 100;

export interface SopsDocument {
  /** The decryptable part: the document without its `sops` metadata, values still encrypted. */
  data: unknown;
  /** Who can decrypt it, as the metadata says (public: recipients, key ARNs, fingerprints). */
  recipients: string[];
  /** The key services other than age it names (sops contacts them to decrypt); outside the MAC, like all metadata. */
  keyServices: KeyService[];
}

export type SopsTextProblem = { message: string; fix: string };

/** The key path as written: `a.b` splits at dots; a list is taken segment by segment. */
export function keyPath(key: string | readonly string[]): SopsKeyPath {
  return typeof key === "string" ? key.split(".") : key;
}

/** The key path as a person writes it back: dotted, or a flow list when a segment holds a dot. */
export function describeKeyPath(key: SopsKeyPath): string {
  return key.some((s) => s.includes(".") || s === "") ? `[${key.map((s) => JSON.stringify(s)).join(", ")}]` : key.join(".");
}

/** Whether a file of this name can be referenced: SOPS's YAML and JSON formats keep a structure. */
export function isStructuredSopsFile(name: string): boolean {
  return STRUCTURED.test(name);
}

/** Parses the stored (encrypted) text of a SOPS file named `ref`. */
export function parseSopsText(ref: string, text: string): SopsDocument | SopsTextProblem {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, strict: true });
  if (doc.errors.length > 0) {
    return { message: `SOPS file ${ref} is not valid ${/\.json$/i.test(ref) ? "JSON" : "YAML"} (${doc.errors[0].message.split("\n")[0]})`, fix: `restore it from git (git checkout -- ${ref}), or re-create it with sops edit ${ref}` };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch {
    return { message: `SOPS file ${ref} uses YAML aliases too often`, fix: `re-create it with sops edit ${ref}` };
  }
  const metadata = data && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>).sops : undefined;
  if (!metadata || typeof metadata !== "object" || Array.isArray(metadata)) {
    return { message: `file ${ref} is not SOPS-encrypted (it has no sops metadata)`, fix: `encrypt it: sops --encrypt --in-place ${ref} (with a .sops.yaml creation rule naming your keys), then commit the encrypted file` };
  }
  const meta = metadata as Record<string, unknown>;
  if (typeof meta.mac !== "string" || meta.mac === "") {
    return { message: `SOPS file ${ref} has no MAC in its sops metadata, so nothing shows whether it was tampered with`, fix: `re-encrypt it with sops (sops edit ${ref}, then save), and commit the result` };
  }
  const { sops: _metadata, ...rest } = data as Record<string, unknown>;
  return { data: rest, recipients: recipientsOf(meta), keyServices: keyServicesOf(meta) };
}

/** What a key path leads to in the stored document. */
export type StoredValue =
  | { ciphertext: string; type: string; empty: false }
  /** SOPS stores an empty string as an empty string (nothing to encrypt). */
  | { ciphertext: ""; type: "str"; empty: true };

export function findStoredValue(ref: string, doc: SopsDocument, key: SopsKeyPath): StoredValue | SopsTextProblem {
  const shown = describeKeyPath(key);
  if (key.length === 0 || key.some((s) => s === "")) {
    return { message: `key ${JSON.stringify(shown)} has an empty segment`, fix: "name the value as the file's keys read, separated by dots (a.b.c); write [a, \"b.c\"] when a key itself holds a dot" };
  }
  if (key[0] === "sops") return { message: "key sops names SOPS's own metadata, not a value", fix: `name a key of the document in ${ref}` };
  let node: unknown = doc.data;
  for (const [depth, segment] of key.entries()) {
    const at = describeKeyPath(key.slice(0, depth));
    if (Array.isArray(node)) {
      const index = /^(0|[1-9]\d*)$/.test(segment) ? Number(segment) : -1;
      if (index < 0 || index >= node.length) {
        return { message: `key ${shown} is not in SOPS file ${ref}: ${at} is a list of ${node.length} item${node.length === 1 ? "" : "s"}, and ${JSON.stringify(segment)} is not one of its positions`, fix: `name an item by its position, 0 to ${node.length - 1}` };
      }
      node = node[index];
    } else if (node && typeof node === "object") {
      if (!Object.hasOwn(node, segment)) {
        const keys = Object.keys(node);
        const listed = keys.length === 0 ? "it has no keys" : `keys there: ${keys.slice(0, MAX_KEYS_LISTED).join(", ")}${keys.length > MAX_KEYS_LISTED ? `, and ${keys.length - MAX_KEYS_LISTED} more` : ""}`;
        return { message: `key ${shown} is not in SOPS file ${ref} (${depth === 0 ? "at the top" : `under ${at}`}, ${listed})`, fix: `add it with sops set ${ref} '${jsonPath(key)}' '"<value>"' (or sops edit ${ref}), or correct the key` };
      }
      node = (node as Record<string, unknown>)[segment];
    } else {
      return { message: `key ${shown} is not in SOPS file ${ref}: ${at} holds a value, not keys`, fix: `name ${at} itself, or correct the key` };
    }
  }
  if (node === "") return { ciphertext: "", type: "str", empty: true };
  if (typeof node !== "string") {
    const what = node === null ? "null" : Array.isArray(node) ? "a list" : typeof node === "object" ? "a mapping" : `a ${typeof node} in clear`;
    return node !== null && typeof node === "object"
      ? { message: `key ${shown} in SOPS file ${ref} holds ${what}, not a value`, fix: `name one of its keys (${shown}.<key>)` }
      : notEncrypted(ref, shown, what);
  }
  const m = ENCRYPTED.exec(node);
  if (!m) return notEncrypted(ref, shown, "a string in clear");
  return { ciphertext: node, type: m[4], empty: false };
}

const MAX_KEYS_LISTED = 10;

function notEncrypted(ref: string, shown: string, what: string): SopsTextProblem {
  return {
    message: `key ${shown} in SOPS file ${ref} holds ${what}, not an encrypted value (sops leaves a value in clear when its key matches unencrypted_suffix or unencrypted_regex, or misses encrypted_regex)`,
    fix: `a credential must be encrypted: rename the key or change the file's rules so sops encrypts it, re-encrypt (sops edit ${ref}), and rotate the credential if it was committed in clear`,
  };
}

/** `["a", "b.c", "0"]` → `["a"]["b.c"][0]`: the path syntax of `sops set` and `sops decrypt --extract`. */
export function jsonPath(key: SopsKeyPath): string {
  return key.map((s) => (/^(0|[1-9]\d*)$/.test(s) ? `[${s}]` : `[${JSON.stringify(s)}]`)).join("");
}

/** The problem when a stored value's type is not a string (SOPS records int, float, bool, … as such). */
export function typeProblem(ref: string, key: SopsKeyPath, type: string): SopsTextProblem | undefined {
  if (type === "str") return undefined;
  const shown = describeKeyPath(key);
  return {
    message: `key ${shown} in SOPS file ${ref} holds ${type === "int" || type === "float" ? "a number" : type === "bool" ? "a boolean" : `a value of type ${type}`}, not a string; credentials are sent as strings`,
    fix: `store it as a string: sops set ${ref} '${jsonPath(key)}' '"<value>"' (quoted), or quote it in sops edit ${ref}`,
  };
}

/** Every key service a file is encrypted for, in words (public identifiers only). */
function recipientsOf(meta: Record<string, unknown>): string[] {
  const groups = [meta, ...(Array.isArray(meta.key_groups) ? meta.key_groups : [])] as Record<string, unknown>[];
  const out: string[] = [];
  const add = (kind: string, list: unknown, field: (k: Record<string, unknown>) => unknown) => {
    if (!Array.isArray(list)) return;
    for (const k of list) {
      const id = k && typeof k === "object" ? field(k as Record<string, unknown>) : undefined;
      if (typeof id === "string" && id !== "") out.push(`${kind} ${id}`);
    }
  };
  for (const g of groups) {
    if (!g || typeof g !== "object") continue;
    add("age", g.age, (k) => k.recipient);
    add("AWS KMS", g.kms, (k) => k.arn);
    add("GCP KMS", g.gcp_kms, (k) => k.resource_id);
    add("Azure Key Vault", g.azure_kv, (k) => (typeof k.vault_url === "string" ? `${k.vault_url}/keys/${String(k.name ?? "")}` : undefined));
    add("Vault transit", g.hc_vault, (k) => (typeof k.vault_address === "string" ? `${k.vault_address}/${String(k.engine_path ?? "")}/keys/${String(k.key_name ?? "")}` : undefined));
    add("HuaweiCloud KMS", g.hckms, (k) => k.key_id);
    add("PGP", g.pgp, (k) => k.fp);
  }
  return [...new Set(out)];
}
