/**
 * The contract every reference kind (env, file, config, …) implements: a value-free check that
 * `validate` and the Pulumi program report with positions, the form the program registers with the
 * engine (names and paths, never a value), and a read that only the provider process calls. A new
 * kind is one module implementing this, listed in kinds.ts.
 */
import type { AccountFile, CredentialRef } from "../accounts/account";
import type { RegisteredRef } from "../plan/account-state";

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
  account: AccountFile;
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

export interface ReferenceKind<W extends CredentialRef = CredentialRef, R extends RegisteredRef = RegisteredRef> {
  /** The YAML key that selects this kind (`env`, `file`, `config`). */
  readonly name: string;
  /** Whether a reference as written belongs to this kind. */
  written(ref: CredentialRef): ref is W;
  /** Whether a registered reference belongs to this kind. */
  registered(ref: RegisteredRef): ref is R;
  /** Problems found without reading the value. */
  check(ref: W, ctx: ReferenceCheckContext): ReferenceProblem[];
  /** The form the program registers: names and project-relative paths. */
  register(ref: W, account: AccountFile, projectRoot: string): R;
  /** The value, in the provider process only; asynchronous where reading waits on another process (sops). */
  read(ref: R, ctx: ReferenceReadContext): ReadResult | Promise<ReadResult>;
  /** How the reference reads in a message (`env GH_KEY`). */
  describe(ref: R | W): string;
}
