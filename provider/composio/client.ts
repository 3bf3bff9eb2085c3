import { isNonSecretField } from "../accounts/fields";
import type { RemoteAccount } from "../plan/live-account";
import type { PatchBody } from "../plan/patch-plan";
import type { StatusBody } from "../plan/status-plan";
import type { ApiSettings } from "../settings";
import { terminalSafe } from "../text/terminal-text";
import { CursorTrail } from "./paging";
import { toAccountListPage, toRemoteAccount, type AccountListPage } from "./remote-account";
import { MIN_REPLACED_LENGTH, urlCredentials } from "./transport/scrub";
import { Transport } from "./transport/transport";

export interface AccountFilter {
  ids?: string[];
  toolkits?: string[];
  userIds?: string[];
  statuses?: string[];
}

export interface PatchResult {
  id: string;
  status?: string;
}

/**
 * The Composio connected-accounts API: its endpoints, over one Transport. One instance serves every
 * resource of a provider process, so its transport's limiter bounds the requests of the whole process.
 */
export class ComposioClient {
  private readonly transport: Transport;

  constructor(private readonly settings: ApiSettings) {
    this.transport = new Transport(settings);
  }

  async patchConnectedAccount(nanoid: string, body: PatchBody): Promise<PatchResult> {
    const secrets = secretsOf(body, this.settings);
    const res = await this.transport.send("PATCH", `/api/v3/connected_accounts/${encodeURIComponent(nanoid)}`, nanoid, secrets, body);
    const parsed = res as { id?: unknown; status?: unknown };
    // The status is recorded and shown: escaped where it enters, as in toRemoteAccount.
    return { id: typeof parsed.id === "string" ? terminalSafe(parsed.id) : nanoid, status: typeof parsed.status === "string" ? terminalSafe(parsed.status) : undefined };
  }

  /**
   * Enables or disables the account. Composio answers only `{success}`; a refusal is a ComposioError
   * like the PATCH's, named after what was asked ("could not disable connected account ...").
   */
  async setConnectedAccountEnabled(nanoid: string, body: StatusBody): Promise<void> {
    const operation = body.enabled ? "enable" : "disable";
    await this.transport.send("PATCH", `/api/v3/connected_accounts/${encodeURIComponent(nanoid)}/status`, nanoid, secretsOf(undefined, this.settings), body, operation);
  }

  async getConnectedAccount(nanoid: string): Promise<RemoteAccount> {
    const raw = await this.transport.send("GET", `/api/v3/connected_accounts/${encodeURIComponent(nanoid)}`, nanoid, secretsOf(undefined, this.settings));
    const account = toRemoteAccount(raw);
    if (!account) throw new Error(`Composio answered an unreadable account for ${nanoid}`);
    // An answer about another account (a proxy's cache, a misrouted request, an id that differs
    // only in case) would be checked, adopted and recorded as this one: it fails this account instead.
    if (account.id !== nanoid) throw new Error(anotherAccount(nanoid, account.id));
    return account;
  }

  /** One page of the list endpoint; filters are sent comma separated, as the API documents them. */
  async listConnectedAccounts(filter: AccountFilter, cursor?: string, limit = 100): Promise<AccountListPage> {
    const query = new URLSearchParams();
    const add = (name: string, values?: string[]) => values && values.length > 0 && query.set(name, values.join(","));
    add("connected_account_ids", filter.ids);
    add("toolkit_slugs", filter.toolkits);
    add("user_ids", filter.userIds);
    add("statuses", filter.statuses);
    query.set("limit", String(limit));
    if (cursor) query.set("cursor", cursor);
    const raw = await this.transport.send("GET", `/api/v3/connected_accounts?${query}`, "(list)", secretsOf(undefined, this.settings));
    return toAccountListPage(raw);
  }

  /**
   * Every account matching the filter, following `next_cursor` to the end; `onPage` sees each page as it arrives.
   */
  async listAll(filter: AccountFilter, pageSize = 100, onPage?: (page: AccountListPage) => void): Promise<RemoteAccount[]> {
    const all: RemoteAccount[] = [];
    const trail = new CursorTrail();
    let cursor: string | undefined;
    do {
      const page = await this.listConnectedAccounts(filter, cursor, pageSize);
      all.push(...page.items);
      onPage?.(page);
      cursor = trail.next(page.nextCursor);
    } while (cursor);
    return all;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/**
 * What must never appear in an error: the API key, the base URL's user name and password, and every
 * credential value sent, whatever its field (a value read from a reference is a secret even in a
 * field such as `username`; a literal shown in the file anyway loses nothing by being masked).
 * The one exception: a configuration field's value too short to cut out (`region: eu`) is an
 * ordinary word, and withholding every message that uses it would hide the API's errors.
 */
function secretsOf(body: PatchBody | undefined, settings: ApiSettings): string[] {
  const out: string[] = [...(settings.apiKey ? [settings.apiKey] : []), ...urlCredentials(settings.baseUrl)];
  const val = body?.connection?.state.val ?? {};
  for (const [key, v] of Object.entries(val)) {
    if (typeof v === "string" && !(isNonSecretField(key) && v.length < MIN_REPLACED_LENGTH)) out.push(v);
  }
  return out;
}

/** The error for an answer that names another account than the one asked for (its id already escaped). */
function anotherAccount(asked: string, answered: string): string {
  return (
    `Composio answered GET /api/v3/connected_accounts/${asked} with the account ${answered}, not ${asked}; ` +
    "that answer is not used and nothing is sent to either account. Check connected-accounts:baseUrl (or COMPOSIO_BASE_URL) and any proxy in between"
  );
}
