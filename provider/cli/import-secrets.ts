/**
 * `connected-accounts import --secrets sops:<file>`: the imported accounts' secret fields become
 * references into one SOPS file, one key per account and field (`<toolkit>_<alias or id>_<field>`,
 * never shared), each written as an empty placeholder. SOPS stores an empty value as it is, so
 * `validate` lists every key still to be filled in, without a key, even once the file is encrypted.
 *
 * The file is encrypted at once when `sops` and a recipient are available (a `.sops.yaml` creation
 * rule, or SOPS_AGE_RECIPIENTS and the like); otherwise it is written unencrypted (it holds no value
 * yet) next to an example creation rule, and the user is told to encrypt it before filling it in.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Document, YAMLMap, parseDocument } from "yaml";
import type { RemoteAccount } from "../plan/live-account";
import { candidatesOnPath } from "../pulumi-cli/locate";
import { parseSopsText } from "../references/sops-document";
import { UsageError } from "./flags";

/** `sops --encrypt` reads the recipients from these when no creation rule names them. */
const RECIPIENT_VARIABLES = ["SOPS_AGE_RECIPIENTS", "SOPS_KMS_ARN", "SOPS_PGP_FP", "SOPS_GCP_KMS_IDS", "SOPS_AZURE_KEYVAULT_URLS", "SOPS_VAULT_URIS", "SOPS_HUAWEICLOUD_KMS_IDS"];
const CONFIG_FILE = ".sops.yaml";
const EXAMPLE_FILE = ".sops.yaml.example";
/** Encrypting a few hundred empty values takes milliseconds; a KMS call a second. */
const ENCRYPT_TIMEOUT_MS = 60_000;

/** Where `--secrets sops:<file>` puts the secrets. */
export interface SopsSecretsTarget {
  /** Absolute path of the SOPS file. */
  file: string;
  /** As the user gave it, for messages. */
  shown: string;
  /** Keys already in the (unencrypted) file from an earlier run, kept. */
  existing: Record<string, unknown>;
}

/** `--secrets sops:secrets/x.sops.yaml` → the target, checked before anything is listed. */
export function parseSecretsOption(raw: string, cwd: string, projectRoot: string): SopsSecretsTarget {
  const m = /^sops:(.+)$/.exec(raw);
  if (!m) throw new UsageError(`--secrets must be sops:<file>, e.g. --secrets sops:secrets/imported.sops.yaml, not "${raw}"`);
  const shown = m[1];
  if (!/\.sops\.ya?ml$/i.test(shown)) throw new UsageError(`--secrets sops:${shown}: name the file *.sops.yaml, so sops and editors know it for a SOPS YAML file`);
  const file = path.resolve(cwd, shown);
  const rel = path.relative(projectRoot, file);
  if (rel.startsWith("..") || path.isAbsolute(rel)) throw new UsageError(`--secrets sops:${shown} is outside the project ${projectRoot}: SOPS files are committed with the account files`);
  let existing: Record<string, unknown> = {};
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8");
    const stored = parseSopsText(shown, text);
    if (!("message" in stored)) {
      throw new UsageError(`${shown} is already encrypted; import adds keys only to a new or not yet encrypted file: name another one (--secrets sops:${shown.replace(/\.sops\.ya?ml$/i, "-2.sops.yaml")})`, false);
    }
    const data: unknown = parseDocument(text).toJS();
    if (data !== null && (typeof data !== "object" || Array.isArray(data))) throw new UsageError(`${shown} exists and is not a YAML mapping: name another file`, false);
    existing = (data ?? {}) as Record<string, unknown>;
  }
  return { file, shown, existing };
}

/** One key per account and field: the alias reads best; the id when the alias names another account's key too. */
export class SopsKeyNames {
  private readonly taken: Set<string>;
  constructor(existing: Iterable<string>) {
    this.taken = new Set(existing);
  }

  name(account: RemoteAccount, field: string): string {
    const candidates = [account.alias ? `${account.toolkit}_${account.alias}_${field}` : undefined, `${account.toolkit}_${account.id}_${field}`]
      .filter((c): c is string => c !== undefined)
      .map(keySafe);
    let name = candidates.find((c) => !this.taken.has(c));
    for (let n = 2; name === undefined; n++) if (!this.taken.has(`${candidates.at(-1)}_${n}`)) name = `${candidates.at(-1)}_${n}`;
    this.taken.add(name);
    return name;
  }
}

/** Dots would split the key path, and anything unusual makes the key hard to type: both become `_`. */
function keySafe(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_");
}

export interface PlaceholderKey {
  key: string;
  account: RemoteAccount;
  field: string;
}

/** The document: the earlier run's keys, then one empty value per new key with a comment naming its account. */
export function renderSecretsDocument(target: SopsSecretsTarget, keys: readonly PlaceholderKey[]): string {
  const doc = new Document();
  const root = new YAMLMap();
  for (const [key, value] of Object.entries(target.existing)) root.add(doc.createPair(key, value));
  for (const { key, account, field } of keys) {
    const pair = doc.createPair(key, "");
    (pair.key as { commentBefore?: string }).commentBefore = ` ${account.toolkit} ${account.id}${account.alias ? ` (${account.alias})` : ""}: ${field}`;
    root.add(pair);
  }
  doc.contents = root;
  doc.commentBefore =
    " Credentials of the accounts written by connected-accounts import, one key per account and field.\n" +
    ` Encrypt this file before filling in any value: sops --encrypt --in-place ${target.shown}\n` +
    ` then fill in each "" with: sops edit ${target.shown}`;
  return doc.toString({ lineWidth: 0 });
}

export type EncryptOutcome = { encrypted: true } | { encrypted: false; why: string; example?: string };

/**
 * Encrypts the written file in place when sops and a recipient are there; otherwise leaves it (empty
 * values only) and writes an example creation rule beside it, unless the project has a rule already.
 */
export function encryptOrExplain(file: string, repoRoot: string, env: NodeJS.ProcessEnv): EncryptOutcome {
  const sops = candidatesOnPath("sops", env.PATH)[0];
  const config = findConfig(path.dirname(file), repoRoot);
  const fromEnv = RECIPIENT_VARIABLES.some((v) => env[v]);
  if (sops && (config || fromEnv)) {
    const result = spawnSync(sops, ["--encrypt", "--in-place", file], {
      cwd: path.dirname(file),
      env: { ...env, SOPS_DISABLE_VERSION_CHECK: "1" },
      stdio: ["ignore", "ignore", "pipe"],
      timeout: ENCRYPT_TIMEOUT_MS,
      killSignal: "SIGKILL",
    });
    if (result.status === 0) return { encrypted: true };
    // The file holds empty values only: sops's message cannot quote a secret here.
    const said = result.stderr?.toString("utf8").trim().split("\n")[0] || (result.error ? result.error.message : `exit code ${result.status}`);
    return { encrypted: false, why: `sops could not encrypt it (${said})`, example: config ? undefined : writeExample(file, repoRoot) };
  }
  const why = !sops ? "sops is not installed here" : "no .sops.yaml creation rule and no SOPS_AGE_RECIPIENTS say whom to encrypt it for";
  return { encrypted: false, why, example: config ? undefined : writeExample(file, repoRoot) };
}

/** The `.sops.yaml` sops would find from `dir` upwards, not above the repository. */
function findConfig(dir: string, repoRoot: string): string | undefined {
  for (let at = dir; ; at = path.dirname(at)) {
    const candidate = path.join(at, CONFIG_FILE);
    if (fs.existsSync(candidate)) return candidate;
    if (at === repoRoot || path.dirname(at) === at) return undefined;
  }
}

/** An example creation rule beside the file, matching SOPS files in its folder; never over an existing one. */
function writeExample(file: string, repoRoot: string): string {
  const example = path.join(path.dirname(file), EXAMPLE_FILE);
  if (fs.existsSync(example)) return example;
  const folder = path.relative(repoRoot, path.dirname(file)).split(path.sep).join("/");
  const regex = `${folder === "" ? "" : `${folder.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/`}.*\\.sops\\.(yaml|json)$`;
  fs.writeFileSync(
    example,
    [
      "# A sops creation rule: copy this file to .sops.yaml at the repository root (sops looks for it",
      "# from where it runs, upwards) and list the public keys that may decrypt the credentials:",
      "#   age-keygen -o ci.agekey   # the CI's key: its AGE-SECRET-KEY line is the SOPS_AGE_KEY repository secret",
      "#   age-keygen -o me.agekey   # one for each person who edits credentials; keep the files out of git",
      "# Cloud keys work too (kms:, gcp_kms:, azure_keyvault:, hc_vault_transit_uri:), see sops's README.",
      "creation_rules:",
      `  - path_regex: ${regex}`,
      "    age: >-",
      "      age1<public key of the CI>,",
      "      age1<your public key>",
      "",
    ].join("\n"),
  );
  return example;
}
