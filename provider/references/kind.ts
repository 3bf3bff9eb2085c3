/**
 * The contract every reference kind (env, file, config, sops) implements, so that everything about
 * a kind lives in its own module: how it is written (schema) and what of it is refused, a value-free
 * check that `validate` and the Pulumi program report with positions, the form the program registers
 * with the engine (names and paths, never a value), the read that only the provider process makes,
 * how it reads in a message, how a review sees that the value behind it changed, and whether the file
 * it names may be committed. A new kind is one module implementing this, listed in kinds.ts, with
 * its definition in the shipped schema file (a test holds the two together).
 */
import type { AccountFile, CredentialRef } from "../accounts/account";
import type { WrittenReference } from "../accounts/validate";
import type { RegisteredRef } from "../plan/account-state";
import type { StoredSopsFiles } from "./sops-document";

/** Something wrong with one reference: what and how to fix it. `at` is the sub-field it points at (`["file"]`). */
export interface ReferenceProblem {
  message: string;
  fix: string;
  at?: string[];
}

/** What a check may look at. Nothing here holds a credential value. */
export interface ReferenceCheckContext {
  /**
   * "files": `validate` and `plan`, which run anywhere (a pull request, a fork): only what the files
   * themselves show. "deploy": the Pulumi program, on the machine that will deploy: the referenced
   * variables and files must be there too.
   */
  stage: "files" | "deploy";
  account: ReferringFile;
  /** The folder of Pulumi.yaml; `file:` targets must stay inside it (and inside the repository). */
  projectRoot: string;
  /** Bounds `file:` references (the git repository, or the project root outside git). */
  repoRoot: string;
  /** The deploying process's environment ("deploy" only). Only presence and emptiness are looked at. */
  env?: Record<string, string | undefined>;
  /** Stack setting `allowedEnv`: the only variable names files may reference; undefined: any not refused. */
  allowedEnv?: readonly string[];
  /** The stack's config keys, when the stack is known: which are set, which are secrets. */
  config?: StackConfigKeys;
  /** Repository paths git tracks among the `file:` targets (a tracked secret file is a committed secret). */
  tracked?: ReadonlySet<string>;
}

/** The stack config as a check sees it: keys only, never a value. Keys are full (`connected-accounts:x`). */
export interface StackConfigKeys {
  /** Set to a non-empty value. */
  has(fullKey: string): boolean;
  isSecret(fullKey: string): boolean;
}

/** What a read may use: the provider process's own sources. */
export interface ReferenceReadContext {
  projectRoot: string;
  env: Record<string, string | undefined>;
  /** Stack config as `configure` delivered it (secrets decrypted), by full key. */
  config(fullKey: string): string | undefined;
  /** Memo for this process: a file is read once however many accounts or calls need it. */
  once<T>(key: string, read: () => T): T;
}

export type ReadResult = { value: string } | ReferenceProblem;

/** An account file as a kind sees it: where it is (references are relative to it). */
export type ReferringFile = Pick<AccountFile, "path">;

/**
 * Committed files of one side of a review (the base or the head revision), as stored: enough for a
 * kind whose file is committed encrypted to tell that a value changed without decrypting it.
 */
/**
 * What the committed files show of a value behind the same source: why it changed (a sentence), that
 * its whole file was re-encrypted (`reencrypted`: the file's absolute path, `written`: as the account
 * file names it; every ciphertext changed, so the files cannot tell which values did; only a read
 * can), or nothing (undefined).
 */
export type Rotation = string | { reencrypted: string; written: string } | undefined;

export interface ReviewSides {
  base: StoredSopsFiles;
  head: StoredSopsFiles;
}

/**
 * Whether the file a reference names may be in git: "refused" (a tracked target is a committed
 * secret), "expected" (it is committed, encrypted, and can be read at any revision), or "no target".
 */
export type TargetCommit = "refused" | "expected" | "no target";

export interface ReferenceKind<W extends CredentialRef = CredentialRef, R extends RegisteredRef = RegisteredRef> {
  /** The YAML key that selects this kind (`env`, `file`, `config`, `sops`). */
  readonly name: string;
  /** How the kind is written, for messages listing every kind (`{ env: NAME }`). */
  readonly form: string;
  /** One reference of this kind as written, valid against its schema. */
  readonly example: W;
  /** The JSON Schema of the reference as written: the shipped schema file holds the same definition. */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Whether a reference as written belongs to this kind. */
  written(ref: CredentialRef): ref is W;
  /** Whether a registered reference belongs to this kind. */
  registered(ref: RegisteredRef): ref is R;
  /**
   * What the kind refuses in a reference as written, whatever else is wrong with the file: names it
   * must never send (this tool's own credentials), places it must not read (outside the repository).
   * `ref` is the YAML as written, not yet checked against the schema.
   */
  refused(ref: Readonly<Record<string, unknown>>, site: WrittenReference): ReferenceProblem[];
  /** The words for a reference of this kind that the schema refuses, when the general words would not help. */
  explainInvalid(field: string, ref: Readonly<Record<string, unknown>>): { message: string; fix: string } | undefined;
  /** Problems found without reading the value. */
  check(ref: W, ctx: ReferenceCheckContext): ReferenceProblem[];
  /** Problems found without any key against files as stored at a revision (only a committed target can tell). */
  checkStored(ref: W, account: ReferringFile, stored: StoredSopsFiles): ReferenceProblem[];
  /** The form the program registers: names and project-relative paths. */
  register(ref: W, account: ReferringFile, projectRoot: string): R;
  /** The value, in the provider process only; asynchronous where reading waits on another process (sops). */
  read(ref: R, ctx: ReferenceReadContext): ReadResult | Promise<ReadResult>;
  /** How the reference reads in a message (`env GH_KEY`). */
  describe(ref: R | W): string;
  /** The absolute path of the file the reference names; undefined for a kind that names no file. */
  target(ref: W, account: ReferringFile): string | undefined;
  /** Whether that file may be committed. */
  readonly commit: TargetCommit;
  /** What it means that git tracks the file (`committed`, repository-relative): a committed secret, or nothing. */
  committedProblem(ref: W, committed: string): ReferenceProblem | undefined;
  /** Whether two references name the same source, each read relative to its own account file. */
  sameSource(from: W, fromAccount: ReferringFile, to: W, toAccount: ReferringFile): boolean;
  /**
   * Why the value behind the same source changed between the two sides of a review, when the
   * committed files show it (a SOPS ciphertext); undefined when they show nothing.
   */
  rotation(from: W, fromAccount: ReferringFile, to: W, toAccount: ReferringFile, sides: ReviewSides): Rotation;
}
