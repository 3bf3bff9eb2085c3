/**
 * `{ sops: path, key: a.b }`: a value in a SOPS-encrypted file committed to the repository. The path
 * is relative to the account file and stays inside the repository (as for `file:`); `key` names the
 * value in the decrypted document, dotted (`stripe.api_key`), or as a list of keys when one holds a
 * dot (`[stripe, "api.key"]`).
 *
 * Checked without decrypting (SOPS keeps keys in clear): the file exists, is SOPS-encrypted YAML or
 * JSON, has the key, and the value there is an encrypted string. Read only in the provider process:
 * each file is decrypted once per process by the `sops` binary and the plaintext kept in memory.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isInside } from "../accounts/validate";
import type { RegisteredRef } from "../plan/account-state";
import { LIMITS } from "../settings";
import type { ReferenceKind, ReferringFile, ReviewSides, Rotation } from "./kind";
import { wasReencrypted } from "./sops-rekey";
import { locateInRepository, readAtMost } from "./secret-file";
import { decryptSopsFile } from "./sops-decrypt";
import { terminalSafe } from "../text/terminal-text";
import { approvedKeyServices, unapprovedKeyServices, unapprovedProblem, type ApprovedKeyServices, type KeyServiceConfigProblem } from "./sops-key-services";
import { ageKeyEnv, missingAgeKeyFile } from "./age-key";
import {
  describeKeyPath,
  findStoredValue,
  isStructuredSopsFile,
  keyPath,
  parseSopsText,
  typeProblem,
  type SopsDocument,
  type SopsKeyPath,
  type SopsTextProblem,
  type StoredSopsFiles,
  type StoredValue,
} from "./sops-document";

/** As written in an account file. */
export type SopsRef = { sops: string; key: string | string[] };
/** As the program registers it: the path relative to the project root (POSIX), the key as its segments. */
export type RegisteredSopsRef = { sops: string; key: string[] };

/** A problem with one reference; `at` is the sub-field it is about (`sops` or `key`). */
export type SopsProblem = SopsTextProblem & { at: ["sops"] | ["key"] };

/** The SOPS configuration whose creation rules approve key services: sops's own file name. */
const SOPS_CONFIG = ".sops.yaml";
const MAX_SOPS_CONFIG_BYTES = 256 * 1024;

/**
 * Refused before anything is decrypted: a file naming a key service (KMS, Vault, …) that the
 * repository's `.sops.yaml` does not name. Age alone contacts nothing and needs no approval.
 */
export function keyServiceProblem(ref: string, target: string, doc: SopsDocument, files: StoredSopsFiles): SopsTextProblem | undefined {
  if (doc.keyServices.length === 0) return undefined;
  const approved = files.approved(target);
  if ("message" in approved) return approved;
  const unapproved = unapprovedKeyServices(doc.keyServices, approved);
  return unapproved.length > 0 ? unapprovedProblem(ref, unapproved, approved.source) : undefined;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });

export function isSopsRef(ref: object): ref is SopsRef {
  return "sops" in ref;
}

export function sopsTarget(account: ReferringFile, ref: SopsRef): string {
  return path.resolve(path.dirname(account.path), ref.sops);
}

/** The stored value a reference names (its ciphertext), or the problem that keeps it from being used. */
export function storedSopsValue(ref: SopsRef, account: ReferringFile, files: StoredSopsFiles): StoredValue | SopsProblem {
  if (!isStructuredSopsFile(ref.sops)) {
    return { message: `SOPS file ${ref.sops} must be YAML or JSON (.yaml, .yml or .json): only those keep the keys a reference names`, fix: "keep the credentials in a .sops.yaml (or .sops.json) file", at: ["sops"] };
  }
  const doc = files.get(sopsTarget(account, ref), ref.sops);
  if ("missing" in doc) return { message: `SOPS file ${ref.sops} does not exist`, fix: "create it with sops edit (SOPS files are committed), or correct the path: it is relative to the account file", at: ["sops"] };
  if ("message" in doc) return { ...doc, at: ["sops"] };
  const key = keyPath(ref.key);
  const value = findStoredValue(ref.sops, doc, key);
  return "message" in value ? { ...value, at: ["key"] } : value;
}

/**
 * Who a SOPS file is encrypted for, and which services it names, changed between two sides (its
 * values unchanged): said as such in a plan, since the metadata is outside the MAC and a key
 * service added there is contacted on the next decryption. Undefined when nothing changed.
 */
export function sopsRecipientsChange(ref: string, baseTarget: string, base: StoredSopsFiles, headTarget: string, head: StoredSopsFiles): string | undefined {
  const before = base.get(baseTarget, ref);
  const after = head.get(headTarget, ref);
  if (!("recipients" in before) || !("recipients" in after)) return undefined;
  const was = new Set(before.recipients);
  const now = new Set(after.recipients);
  const added = after.recipients.filter((r) => !was.has(r));
  const removed = before.recipients.filter((r) => !now.has(r));
  if (added.length === 0 && removed.length === 0) return undefined;
  const parts = [added.length > 0 ? `added ${added.map(terminalSafe).join(", ")}` : "", removed.length > 0 ? `removed ${removed.map(terminalSafe).join(", ")}` : ""];
  return `recipients changed in ${ref}: ${parts.filter(Boolean).join("; ")}`;
}

/** The stored file's key services, when the repository does not approve them all. */
function unapprovedServices(ref: SopsRef, account: ReferringFile, files: StoredSopsFiles): SopsProblem | undefined {
  const target = sopsTarget(account, ref);
  const doc = files.get(target, ref.sops);
  if (!("keyServices" in doc)) return undefined;
  const problem = keyServiceProblem(ref.sops, target, doc, files);
  return problem && { ...problem, at: ["sops"] };
}

/** What `validate`, `plan` and the program can say about a reference without any key. */
export function checkSopsRef(ref: SopsRef, account: ReferringFile, files: StoredSopsFiles): SopsProblem[] {
  const value = storedSopsValue(ref, account, files);
  if ("message" in value) return [value];
  const unapproved = unapprovedServices(ref, account, files);
  if (unapproved) return [unapproved];
  const key = keyPath(ref.key);
  const wrongType = typeProblem(ref.sops, key, value.type);
  if (wrongType) return [{ ...wrongType, at: ["key"] }];
  if (value.empty) return [{ message: `key ${describeKeyPath(key)} in SOPS file ${ref.sops} is empty; an empty value is never sent`, fix: `set it: sops edit ${ref.sops}`, at: ["key"] }];
  return [];
}

/**
 * The kind as validate, the program and the provider use it: the same check at both stages (a SOPS
 * file is committed, so it is there wherever the repository is), the read in the provider only.
 */
export const sopsKind: ReferenceKind<SopsRef, RegisteredSopsRef> = {
  name: "sops",
  form: "{ sops: path, key: name }",
  example: { sops: "../../secrets/credentials.sops.yaml", key: "github.api_key" },
  schema: {
    type: "object",
    description: "A value in a SOPS-encrypted YAML or JSON file committed to the repository, decrypted only by the provider process.",
    required: ["sops", "key"],
    additionalProperties: false,
    properties: {
      sops: { type: "string", minLength: 1, description: "SOPS file (.sops.yaml, .sops.json), relative to this account file, inside the repository." },
      key: {
        description: "The value's key in the decrypted document: dotted (stripe.api_key), or a list of keys when one holds a dot ([stripe, \"api.key\"]).",
        anyOf: [
          { type: "string", pattern: "^[^.]+(\\.[^.]+)*$" },
          { type: "array", minItems: 1, items: { type: "string", minLength: 1 } },
        ],
      },
    },
  },
  written: (ref): ref is SopsRef => isSopsRef(ref),
  registered: (ref: RegisteredRef): ref is RegisteredSopsRef =>
    "sops" in ref && typeof ref.sops === "string" && Array.isArray((ref as RegisteredSopsRef).key) && (ref as RegisteredSopsRef).key.every((s) => typeof s === "string"),
  refused(ref, site) {
    if (typeof ref.sops !== "string" || isInside(site.repoRoot, path.resolve(path.dirname(site.accountPath), ref.sops))) return [];
    return [{ message: `SOPS file "${ref.sops}" is outside the repository`, fix: "commit the SOPS file inside the repository (it is encrypted), and reference it by a path relative to the account file", at: ["sops"] }];
  },
  explainInvalid: (field, ref) => ("sops" in ref ? describeInvalidSops(field, ref) : undefined),
  check(ref, ctx) {
    const files = workingTreeSopsFiles(ctx.repoRoot);
    const problems = checkSopsRef(ref, ctx.account, files);
    if (problems.length > 0 || ctx.stage !== "deploy" || !ctx.env) return problems;
    const missing = missingAgeKey(ref, ctx.account, files, ctx.env, ctx.projectRoot);
    return missing ? [missing] : [];
  },
  checkStored: (ref, account, stored) => checkSopsRef(ref, account, stored),
  register: (ref, account, projectRoot) => registerSopsRef(ref, account, projectRoot),
  read: (ref, ctx) => readSopsRef(ref, ctx),
  describe: (ref) => `sops ${ref.sops} ${describeKeyPath(keyPath(ref.key))}`,
  target: (ref, account) => sopsTarget(account, ref),
  commit: "expected",
  // Encrypted, it is meant to be committed.
  committedProblem: () => undefined,
  sameSource: (from, fromAccount, to, toAccount) => sopsTarget(fromAccount, from) === sopsTarget(toAccount, to) && keyPath(from.key).join("\0") === keyPath(to.key).join("\0"),
  rotation: (from, fromAccount, to, toAccount, sides) => sopsRotation(from, fromAccount, to, toAccount, sides),
};

/**
 * A value rotated inside a SOPS file: the same file and key on both sides, another ciphertext (SOPS
 * keeps a value's ciphertext while the value stays the same, and re-encrypts it when it changes).
 * Undefined when nothing changed.
 */
function sopsRotation(from: SopsRef, fromAccount: ReferringFile, to: SopsRef, toAccount: ReferringFile, sides: ReviewSides): Rotation {
  const before = storedSopsValue(from, fromAccount, sides.base);
  const after = storedSopsValue(to, toAccount, sides.head);
  if ("message" in after) return undefined;
  if ("message" in before) return `key added to ${to.sops}`;
  const target = sopsTarget(toAccount, to);
  if (before.ciphertext === after.ciphertext) return sopsRecipientsChange(to.sops, sopsTarget(fromAccount, from), sides.base, target, sides.head);
  const docBefore = sides.base.get(sopsTarget(fromAccount, from), from.sops);
  const docAfter = sides.head.get(target, to.sops);
  if ("data" in docBefore && "data" in docAfter && wasReencrypted(docBefore, docAfter)) return { reencrypted: target, written: to.sops };
  return `encrypted value changed in ${to.sops}`;
}

/** A `{ sops, key }` reference the schema refuses, in its own words. */
function describeInvalidSops(field: string, ref: Readonly<Record<string, unknown>>): { message: string; fix: string } {
  const example = `${field}: { sops: ../../secrets/credentials.sops.yaml, key: ${field} }`;
  const extra = Object.keys(ref).filter((k) => k !== "sops" && k !== "key");
  if (typeof ref.sops !== "string" || ref.sops === "") return { message: `"${field}": sops must be the path of a SOPS file`, fix: `write ${example}` };
  if (!("key" in ref)) return { message: `"${field}": a sops reference needs a key naming the value in the file`, fix: `write ${example}` };
  if (extra.length > 0) return { message: `"${field}": a sops reference takes only sops and key, not ${extra.join(", ")}`, fix: `write ${example}` };
  return {
    message: `"${field}": key must name a value in the file: keys separated by dots (stripe.api_key), or a list of keys when one holds a dot`,
    fix: `write key: stripe.api_key, or key: [stripe, "api.key"] for a key with a dot in it`,
  };
}

/**
 * On the machine that deploys, a file encrypted for age keys only, with no age key anywhere sops
 * looks: every account it feeds is named up front (as for an unset variable), instead of the
 * engine stopping at the first one whose Check fails. Only presence is looked at, never a key. A
 * wrong key, or a key service sops reaches by itself (KMS, Vault, PGP), is for the decryption to say.
 */
function missingAgeKey(ref: SopsRef, account: ReferringFile, files: StoredSopsFiles, env: Record<string, string | undefined>, projectRoot: string): SopsProblem | undefined {
  const doc = files.get(sopsTarget(account, ref), ref.sops);
  if (!("recipients" in doc) || doc.recipients.length === 0 || doc.recipients.some((r) => !r.startsWith("age "))) return undefined;
  if (ageKeySources(ageKeyEnv(env, projectRoot)).some((source) => source)) return undefined;
  // A key file named but not there is what the user needs to hear, not that no key is set.
  const keyFile = missingAgeKeyFile(env, projectRoot);
  if (keyFile) return { ...keyFile, message: `${keyFile.message}: no age key here can decrypt SOPS file ${ref.sops}`, at: ["sops"] };
  return {
    message: `no age key is set here to decrypt SOPS file ${ref.sops} (it is encrypted for ${doc.recipients.join(", ")})`,
    fix: "set SOPS_AGE_KEY (or SOPS_AGE_KEY_FILE) to the age identity of one of those recipients (in CI: the SOPS_AGE_KEY secret)",
    at: ["sops"],
  };
}

/** Where sops finds age identities (its age keysource), as present or not. */
function ageKeySources(env: Record<string, string | undefined>): boolean[] {
  const home = env.HOME ?? "";
  const config = env.XDG_CONFIG_HOME || (process.platform === "darwin" ? path.join(home, "Library/Application Support") : path.join(home, ".config"));
  const exists = (file: string | undefined) => !!file && fs.existsSync(file);
  return [
    !!env.SOPS_AGE_KEY, !!env.SOPS_AGE_KEY_CMD, exists(env.SOPS_AGE_KEY_FILE),
    exists(env.SOPS_AGE_SSH_PRIVATE_KEY_FILE), !!env.SOPS_AGE_SSH_PRIVATE_KEY_CMD,
    exists(path.join(config, "sops/age/keys.txt")), exists(path.join(home, ".ssh/id_ed25519")), exists(path.join(home, ".ssh/id_rsa")),
  ];
}

export function registerSopsRef(ref: SopsRef, account: ReferringFile, projectRoot: string): RegisteredSopsRef {
  return { sops: path.relative(projectRoot, sopsTarget(account, ref)).split(path.sep).join("/"), key: [...keyPath(ref.key)] };
}

/**
 * The files of the working tree, each read and parsed once while it is unchanged. The target is
 * checked before it is opened, like a `file:` reference: where it really points, what kind of file
 * it is, how large.
 */
export function workingTreeSopsFiles(repoRoot: string): StoredSopsFiles {
  return { get: (target, ref) => readStoredFile(target, ref, repoRoot), approved: (target) => workingTreeApproval(target, repoRoot) };
}

const parsedConfigs = new Map<string, { signature: string; approved: ApprovedKeyServices | KeyServiceConfigProblem }>();

/** The nearest `.sops.yaml` from the file's folder up to the repository root, read like a SOPS file is. */
function workingTreeApproval(target: string, repoRoot: string): ApprovedKeyServices | KeyServiceConfigProblem {
  for (const dir of foldersUp(path.dirname(target), repoRoot)) {
    const config = path.join(dir, SOPS_CONFIG);
    const shown = path.relative(repoRoot, config).split(path.sep).join("/");
    const at = locateInRepository(config, repoRoot);
    if ("missing" in at) continue;
    if (!("realPath" in at) || at.kind) return { message: `${shown} is not a regular file inside the repository, so no key service is approved`, fix: `replace ${shown} with the SOPS configuration itself` };
    if (at.stat.size > MAX_SOPS_CONFIG_BYTES) return { message: `${shown} is ${at.stat.size} bytes; a SOPS configuration is limited to ${MAX_SOPS_CONFIG_BYTES}`, fix: `shorten ${shown}` };
    // Read and parsed once while it is unchanged, however many files and accounts ask.
    const signature = `${shown}:${at.stat.ino}:${at.stat.size}:${at.stat.mtimeMs}`;
    const cached = parsedConfigs.get(at.realPath);
    if (cached?.signature === signature) return cached.approved;
    const bytes = readAtMost(at.realPath, MAX_SOPS_CONFIG_BYTES);
    const approved = "message" in bytes ? { message: `${shown} ${bytes.message}`, fix: bytes.fix } : approvedKeyServices(shown, bytes.data.toString("utf8"));
    parsedConfigs.set(at.realPath, { signature, approved });
    return approved;
  }
  return { source: SOPS_CONFIG, ids: new Set() };
}

/** `from`, its parent, … up to and including `root` (nothing when `from` is not inside it). */
function foldersUp(from: string, root: string): string[] {
  const out: string[] = [];
  const top = path.resolve(root);
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const rel = path.relative(top, dir);
    if (rel.startsWith("..") || path.isAbsolute(rel)) return out;
    out.push(dir);
    if (dir === top || dir === path.dirname(dir)) return out;
  }
}

/** The repository holding `dir` (the nearest folder with `.git`), or `dir` itself outside git. */
export function repositoryRootOf(dir: string): string {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, ".git"))) return at;
    if (at === path.dirname(at)) return path.resolve(dir);
  }
}

/**
 * Stored files by absolute path, e.g. read from a git revision: the bytes, or only the size of one
 * too large to read. `.sops.yaml` files among them approve key services for the files below them,
 * up to `repoRoot`.
 */
export function sopsFilesFrom(texts: ReadonlyMap<string, Buffer | { size: number }>, repoRoot?: string): StoredSopsFiles {
  const parsed = new Map<string, SopsDocument | SopsTextProblem | { missing: true }>();
  return {
    approved(target) {
      for (const dir of repoRoot ? foldersUp(path.dirname(target), repoRoot) : []) {
        const bytes = texts.get(path.join(dir, SOPS_CONFIG));
        if (bytes === undefined) continue;
        const shown = path.relative(repoRoot!, path.join(dir, SOPS_CONFIG)).split(path.sep).join("/");
        if (!Buffer.isBuffer(bytes)) return { message: `${shown} is ${bytes.size} bytes; a SOPS configuration is limited to ${MAX_SOPS_CONFIG_BYTES}`, fix: `shorten ${shown}` };
        return approvedKeyServices(shown, bytes.toString("utf8"));
      }
      return { source: SOPS_CONFIG, ids: new Set() };
    },
    get(target, ref) {
      let doc = parsed.get(target);
      if (!doc) {
        const bytes = texts.get(target);
        doc = bytes === undefined ? { missing: true } : Buffer.isBuffer(bytes) ? parseBytes(ref, bytes) : tooLarge(ref, bytes.size);
        parsed.set(target, doc);
      }
      return doc;
    },
  };
}

const parsedFiles = new Map<string, { signature: string; doc: SopsDocument | SopsTextProblem }>();

function readStoredFile(target: string, ref: string, repoRoot: string): SopsDocument | SopsTextProblem | { missing: true } {
  const at = locateInRepository(target, repoRoot);
  if ("missing" in at) return at;
  if ("dangling" in at) return { message: `SOPS file ${ref} is a symbolic link that leads nowhere (or in a loop)`, fix: "point the link at the SOPS file, or replace the link with the file itself" };
  if ("outside" in at) return { message: `SOPS file ${ref} is outside the repository`, fix: "commit the SOPS file inside the repository (it is encrypted), and reference it by a relative path" };
  if (at.kind) return { message: `SOPS file ${ref} is ${at.kind}, not a regular file`, fix: "point the reference at the SOPS-encrypted file" };
  const { realPath: real, stat } = at;
  if (stat.size > LIMITS.maxSopsFileBytes) return tooLarge(ref, stat.size);
  const signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  const cached = parsedFiles.get(real);
  if (cached?.signature === signature) return cached.doc;
  const bytes = readAtMost(real, LIMITS.maxSopsFileBytes + 1);
  const doc = "message" in bytes ? { message: `SOPS file ${ref} ${bytes.message}`, fix: bytes.fix } : parseBytes(ref, bytes.data);
  parsedFiles.set(real, { signature, doc });
  return doc;
}

function parseBytes(ref: string, bytes: Buffer): SopsDocument | SopsTextProblem {
  if (bytes.length > LIMITS.maxSopsFileBytes) return tooLarge(ref, bytes.length);
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    return { message: `file ${ref} is not UTF-8 text, so not a SOPS YAML or JSON file`, fix: `encrypt the credentials as YAML: sops edit ${ref}` };
  }
  return parseSopsText(ref, text);
}

function tooLarge(ref: string, size: number): SopsTextProblem {
  return { message: `SOPS file ${ref} is ${size} bytes; SOPS files are limited to ${LIMITS.maxSopsFileBytes} bytes`, fix: "split the credentials over several SOPS files" };
}

/** What a read in the provider process may use. */
export interface SopsReadContext {
  projectRoot: string;
  env: Record<string, string | undefined>;
  /** Memo for this process: each file is decrypted once however many accounts need it. */
  once<T>(key: string, read: () => T): T;
}

/**
 * The plaintext value of a registered reference, in the provider process: the stored file is checked
 * first (so a missing key or a file that is not SOPS reads as such, with no sops run), then decrypted
 * once for the whole process (concurrent reads of one file share the one sops run).
 */
export async function readSopsRef(ref: RegisteredSopsRef, ctx: SopsReadContext): Promise<{ value: string } | SopsProblem> {
  const target = path.resolve(ctx.projectRoot, ref.sops);
  const files = workingTreeSopsFiles(ctx.projectRoot);
  const stored = ctx.once(`sops-stored:${target}`, () => files.get(target, ref.sops));
  if ("missing" in stored) return { message: `SOPS file ${ref.sops} does not exist`, fix: "commit the SOPS file, or correct the path in the account file", at: ["sops"] };
  if ("message" in stored) return { ...stored, at: ["sops"] };
  const key: SopsKeyPath = ref.key;
  const value = findStoredValue(ref.sops, stored, key);
  if ("message" in value) return { ...value, at: ["key"] };
  const wrongType = typeProblem(ref.sops, key, value.type);
  if (wrongType) return { ...wrongType, at: ["key"] };
  // Checked again here, right before sops runs: the program's check ran in another process.
  const repoRoot = ctx.once(`repository-root:${ctx.projectRoot}`, () => repositoryRootOf(ctx.projectRoot));
  const unapproved = keyServiceProblem(ref.sops, target, stored, workingTreeSopsFiles(repoRoot));
  if (unapproved) return { ...unapproved, at: ["sops"] };
  const decrypted = ctx.once(`sops-decrypted:${target}`, () => decryptSopsFile({ file: target, ref: ref.sops, recipients: stored.recipients, keyServices: stored.keyServices, env: ageKeyEnv(ctx.env, ctx.projectRoot) }));
  const plainDoc = await decrypted;
  if ("message" in plainDoc) {
    // No key worked, and the key file the user named is not there: that is the cause to name.
    const keyFile = plainDoc.keyUnavailable !== undefined && plainDoc.keyUnavailable !== "wrong key" && stored.recipients.some((r) => r.startsWith("age ")) ? missingAgeKeyFile(ctx.env, ctx.projectRoot) : undefined;
    if (keyFile) return { ...keyFile, message: `${keyFile.message}: no key available here can decrypt SOPS file ${ref.sops}`, at: ["sops"] };
    return { message: plainDoc.message, fix: plainDoc.fix, at: ["sops"] };
  }
  const plain = valueAt(plainDoc.data, key);
  if (typeof plain !== "string") {
    const wrong = typeProblem(ref.sops, key, typeof plain === "number" ? "int" : typeof plain === "boolean" ? "bool" : typeof plain);
    return { ...(wrong ?? { message: `key ${describeKeyPath(key)} is not in the decrypted ${ref.sops}`, fix: `check the file with sops edit ${ref.sops}` }), at: ["key"] };
  }
  if (plain === "") return { message: `key ${describeKeyPath(key)} in SOPS file ${ref.sops} is empty; an empty value is never sent`, fix: `set it: sops edit ${ref.sops}`, at: ["key"] };
  return { value: plain };
}

function valueAt(data: unknown, key: SopsKeyPath): unknown {
  let node = data;
  for (const segment of key) {
    if (Array.isArray(node)) node = /^(0|[1-9]\d*)$/.test(segment) ? node[Number(segment)] : undefined;
    else if (node && typeof node === "object" && Object.hasOwn(node, segment)) node = (node as Record<string, unknown>)[segment];
    else return undefined;
  }
  return node;
}
