import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { AUTH_SCHEMES, PATCHABLE_SCHEMES, type AuthScheme } from "../accounts/fields";
import { accountNotFound, badRequest, duplicateAlias } from "./api-error";

/** A connected account as a test or the account files describe it; everything else gets a default. */
export interface SandboxAccountSeed {
  id: string;
  toolkit: string;
  userId: string;
  authScheme: AuthScheme;
  alias?: string | null;
  /** Default ACTIVE; INACTIVE also marks the account disabled. */
  status?: string;
  val?: Record<string, string>;
}

/** What the sandbox keeps for one connected account. Credential values are in plain: tests read them. */
export interface SandboxAccount {
  id: string;
  toolkit: string;
  userId: string;
  authScheme: AuthScheme;
  alias: string | null;
  status: string;
  statusReason: string | null;
  isDisabled: boolean;
  createdAt: string;
  updatedAt: string;
  authConfigId: string;
  val: Record<string, string>;
}

/** A validated PATCH body: only what is present changes. */
export interface AccountUpdate {
  alias?: string;
  connection?: { authScheme: string; val: Record<string, string | null> };
}

/**
 * What someone can change in Composio's dashboard (or Composio itself, for the status): for drift
 * and health drills. Only what is present changes.
 */
export interface DashboardEdit {
  /** null or "": the alias removed. */
  alias?: string | null;
  enabled?: boolean;
  status?: ConnectionStatus;
  /** Shown as status_reason; cleared when the status changes without one. */
  statusReason?: string | null;
}

/** The statuses Composio reports for a connected account. */
export const CONNECTION_STATUSES = ["INITIALIZING", "INITIATED", "ACTIVE", "FAILED", "EXPIRED", "INACTIVE"] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export interface AccountFilter {
  ids?: string[];
  toolkits: string[];
  userIds: string[];
  statuses: string[];
}

const STATE_FORMAT = "connected-accounts-sandbox/1";

/**
 * The sandbox's accounts, with Composio's rules for changing them. With a state path every change is
 * on disk before it is answered, so a restarted sandbox continues where it stopped.
 */
export class AccountStore {
  private readonly records = new Map<string, SandboxAccount>();

  private constructor(private readonly statePath?: string) {}

  /**
   * Accounts from the state file when there is one, plus every seed whose id it does not hold yet,
   * so an account file added between two runs still appears.
   */
  static open(seeds: readonly SandboxAccountSeed[], statePath?: string): AccountStore {
    const store = new AccountStore(statePath && path.resolve(statePath));
    if (store.statePath) removeStaleTemps(store.statePath);
    for (const record of store.statePath ? readState(store.statePath) : []) store.records.set(record.id, record);
    const seeded = new Set<string>();
    for (const seed of seeds) {
      if (seeded.has(seed.id)) throw new Error(`sandbox seed ${seed.id} is listed twice`);
      seeded.add(seed.id);
      if (!store.records.has(seed.id)) store.records.set(seed.id, fromSeed(seed));
    }
    store.save();
    return store;
  }

  get(id: string): SandboxAccount | undefined {
    return this.records.get(id);
  }

  /** Every account in id order, the order the list endpoint pages in. */
  list(filter?: AccountFilter): SandboxAccount[] {
    const match = (wanted: string[], value: string) => wanted.length === 0 || wanted.includes(value);
    return [...this.records.values()]
      .filter((a) => !filter || (match(filter.ids ?? [], a.id) && match(filter.toolkits, a.toolkit) && match(filter.userIds, a.userId) && match(filter.statuses, a.status)))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Applies a PATCH all or nothing: every rule is checked before anything changes. */
  update(id: string, update: AccountUpdate): SandboxAccount {
    const account = this.require(id);
    if (update.connection) {
      const sent = update.connection.authScheme;
      if (!PATCHABLE_SCHEMES.includes(account.authScheme)) {
        throw badRequest(
          `Credentials of ${account.authScheme} connected accounts cannot be updated; connection is accepted only for ${PATCHABLE_SCHEMES.join(", ")}`,
          "send only the alias, or reconnect the account to change its credentials",
        );
      }
      if (sent !== account.authScheme) {
        throw badRequest(
          `authScheme ${sent} does not match the connected account's auth scheme ${account.authScheme}`,
          `send connection.state.authScheme "${account.authScheme}"`,
        );
      }
    }
    const alias = update.alias === undefined ? account.alias : update.alias === "" ? null : update.alias;
    if (alias !== null && alias !== account.alias) {
      const holder = [...this.records.values()].find((a) => a.id !== id && a.userId === account.userId && a.toolkit === account.toolkit && a.alias === alias);
      if (holder) throw duplicateAlias(alias);
    }
    if (update.alias === undefined && !update.connection) return account;
    account.alias = alias;
    for (const [key, value] of Object.entries(update.connection?.val ?? {})) {
      if (value === null) delete account.val[key];
      else account.val[key] = value;
    }
    this.touch(account);
    return account;
  }

  /**
   * `PATCH .../status`: disabling makes an ACTIVE account INACTIVE, enabling makes an INACTIVE one
   * ACTIVE, as Composio documents. A connection that is broken (EXPIRED, FAILED) or was never
   * completed keeps its status either way: switching it on does not repair it.
   */
  setEnabled(id: string, enabled: boolean): SandboxAccount {
    const account = this.require(id);
    account.isDisabled = !enabled;
    if (account.status === (enabled ? "INACTIVE" : "ACTIVE")) account.status = enabled ? "ACTIVE" : "INACTIVE";
    this.touch(account);
    return account;
  }

  /**
   * A change made outside the API the provider uses, all or nothing: the alias (unique per user and
   * toolkit, as in the dashboard), enabled (as the status endpoint does), and the connection's
   * status, which only Composio sets: an EXPIRED or FAILED account stays so until reconnected.
   */
  dashboardEdit(id: string, edit: DashboardEdit): SandboxAccount {
    const account = this.require(id);
    const alias = edit.alias === undefined ? account.alias : edit.alias || null;
    if (alias !== null && alias !== account.alias) {
      const holder = [...this.records.values()].find((a) => a.id !== id && a.userId === account.userId && a.toolkit === account.toolkit && a.alias === alias);
      if (holder) throw duplicateAlias(alias);
    }
    account.alias = alias;
    if (edit.enabled !== undefined) {
      account.isDisabled = !edit.enabled;
      if (account.status === (edit.enabled ? "INACTIVE" : "ACTIVE")) account.status = edit.enabled ? "ACTIVE" : "INACTIVE";
    }
    if (edit.status !== undefined) {
      account.status = edit.status;
      account.statusReason = edit.statusReason ?? null;
      if (edit.status === "INACTIVE") account.isDisabled = true;
      if (edit.status === "ACTIVE" && edit.enabled === undefined) account.isDisabled = false;
    } else if (edit.statusReason !== undefined) {
      account.statusReason = edit.statusReason;
    }
    this.touch(account);
    return account;
  }

  /** Composio's soft delete: from then on the account reads as not found. */
  delete(id: string): void {
    this.require(id);
    this.records.delete(id);
    this.save();
  }

  private require(id: string): SandboxAccount {
    const account = this.records.get(id);
    if (!account) throw accountNotFound(id);
    return account;
  }

  private touch(account: SandboxAccount): void {
    // Strictly later than the previous value, so two writes in one millisecond still read as two.
    const previous = Date.parse(account.updatedAt);
    account.updatedAt = new Date(Math.max(Date.now(), previous + 1)).toISOString();
    this.save();
  }

  /**
   * Temp file + rename: a crash mid-write leaves the previous state, never half a file. The temp file
   * is flushed to disk before the rename, so a power loss cannot leave the new name on empty content.
   */
  private save(): void {
    if (!this.statePath) return;
    const body = JSON.stringify({ format: STATE_FORMAT, accounts: this.list() }, null, 2) + "\n";
    const temp = `${this.statePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    fs.mkdirSync(path.dirname(this.statePath), { recursive: true });
    // The state holds credential values in plain: readable by its owner only.
    const fd = fs.openSync(temp, "wx", 0o600);
    try {
      fs.writeFileSync(fd, body);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, this.statePath);
  }
}

/**
 * Temp files a killed sandbox left beside the state file (`kill -9` between write and rename): they
 * hold credentials in plain, so they go as soon as a sandbox opens the state again. Those of a
 * sandbox still running (its pid alive) are its writes in progress and stay.
 */
function removeStaleTemps(statePath: string): void {
  const dir = path.dirname(statePath);
  const prefix = `${path.basename(statePath)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    // `<state>.<pid>.<hex>.tmp`, as `save` names them.
    const [pid, hex, ...rest] = name.slice(prefix.length, -".tmp".length).split(".");
    if (rest.length === 0 && /^\d+$/.test(pid) && /^[0-9a-f]+$/.test(hex ?? "") && !isAlive(Number(pid))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function fromSeed(seed: SandboxAccountSeed): SandboxAccount {
  if (!seed.id) throw new Error("a sandbox seed needs an id");
  if (!AUTH_SCHEMES.includes(seed.authScheme)) throw new Error(`sandbox seed ${seed.id}: unknown auth scheme "${String(seed.authScheme)}"`);
  const now = new Date().toISOString();
  const status = seed.status ?? "ACTIVE";
  return {
    id: seed.id,
    toolkit: seed.toolkit,
    userId: seed.userId,
    authScheme: seed.authScheme,
    alias: seed.alias || null,
    status,
    statusReason: null,
    isDisabled: status === "INACTIVE",
    createdAt: now,
    updatedAt: now,
    authConfigId: `ac_sandbox_${seed.toolkit}`,
    val: { ...seed.val },
  };
}

function readState(statePath: string): SandboxAccount[] {
  if (!fs.existsSync(statePath)) return [];
  const invalid = (why: string) =>
    new Error(`sandbox state file ${statePath} ${why}; delete it to start again from the seeded accounts`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(statePath, "utf8"));
  } catch (err) {
    throw invalid(`is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const doc = parsed as { format?: unknown; accounts?: unknown };
  if (doc?.format !== STATE_FORMAT || !Array.isArray(doc.accounts)) throw invalid(`is not a sandbox state file (expected format "${STATE_FORMAT}")`);
  for (const a of doc.accounts as Partial<SandboxAccount>[]) {
    if (typeof a?.id !== "string" || typeof a.toolkit !== "string" || typeof a.userId !== "string" || !AUTH_SCHEMES.includes(a.authScheme as AuthScheme) ||
      typeof a.val !== "object" || a.val === null) {
      throw invalid(`has a malformed account record (${JSON.stringify(a?.id ?? null)})`);
    }
  }
  return doc.accounts as SandboxAccount[];
}
