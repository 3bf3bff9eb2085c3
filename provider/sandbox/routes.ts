import { AUTH_SCHEMES } from "../accounts/fields";
import { accountNotFound, badRequest, methodNotAllowed } from "./api-error";
import type { AccountStore, AccountUpdate, SandboxAccount } from "./store";

/** What a route answers; the server adds the transport headers (request id, rate limit). */
export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A request body as received: `json` is undefined when the text is empty or not JSON. */
export interface ReceivedBody {
  text: string;
  json: unknown;
}

/** The same nanoid rule as the account file schema. */
const NANOID = /^[A-Za-z0-9_-]{1,64}$/;
const ROUTE = /^\/api\/v3(?:\.1)?\/connected_accounts(?:\/([^/]+)(\/status)?)?$/;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 1000;

/**
 * The connected-accounts endpoints under /api/v3 and /api/v3.1 (identical here, as in Composio).
 * Returns undefined for a path that is not one of them; refusals are thrown as ApiError.
 */
export function routeConnectedAccounts(store: AccountStore, method: string, url: URL, body: ReceivedBody): Answer | undefined {
  const match = ROUTE.exec(url.pathname);
  if (!match) return undefined;
  const [, rawId, statusSuffix] = match;
  if (rawId === undefined) {
    if (method !== "GET") throw methodNotAllowed(method, url.pathname, ["GET"]);
    return { status: 200, body: listAccounts(store, url.searchParams) };
  }
  const id = decodeNanoid(rawId);
  if (statusSuffix) {
    if (method !== "PATCH") throw methodNotAllowed(method, url.pathname, ["PATCH"]);
    const enabled = readStatusBody(body);
    store.setEnabled(id, enabled);
    return { status: 200, body: { success: true } };
  }
  if (method === "GET") {
    const account = store.get(id);
    if (!account) throw accountNotFound(id);
    return { status: 200, body: present(account) };
  }
  if (method === "PATCH") {
    const account = store.update(id, readPatchBody(body));
    return { status: 200, body: { success: true, id: account.id, status: account.status } };
  }
  if (method === "DELETE") {
    store.delete(id);
    return { status: 200, body: { success: true } };
  }
  throw methodNotAllowed(method, url.pathname, ["GET", "PATCH", "DELETE"]);
}

/** The account as the API shows it: credentials are write-only, so every value reads "REDACTED". */
export function present(account: SandboxAccount): Record<string, unknown> {
  return {
    id: account.id,
    alias: account.alias,
    status: account.status,
    status_reason: account.statusReason,
    is_disabled: account.isDisabled,
    created_at: account.createdAt,
    updated_at: account.updatedAt,
    toolkit: { slug: account.toolkit },
    auth_config: { id: account.authConfigId, is_composio_managed: false, is_disabled: false },
    state: { authScheme: account.authScheme, val: Object.fromEntries(Object.keys(account.val).map((k) => [k, "REDACTED"])) },
    user_id: account.userId,
  };
}

function listAccounts(store: AccountStore, query: URLSearchParams): Record<string, unknown> {
  // Filters are comma separated; a repeated parameter is accepted too.
  const list = (name: string) => query.getAll(name).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  const limit = readLimit(query.get("limit"));
  const matching = store.list({ ids: list("connected_account_ids"), toolkits: list("toolkit_slugs"), userIds: list("user_ids"), statuses: list("statuses") });
  const cursor = query.get("cursor");
  // The cursor names the last id already served: pages stay stable while accounts change between calls.
  const start = cursor ? matching.findIndex((a) => a.id > decodeCursor(cursor)) : 0;
  const from = start === -1 ? matching.length : start;
  const items = matching.slice(from, from + limit);
  const more = from + limit < matching.length;
  return {
    items: items.map(present),
    next_cursor: more ? encodeCursor(items[items.length - 1].id) : null,
    total_pages: Math.ceil(matching.length / limit),
    current_page: Math.floor(from / limit) + 1,
    total_items: matching.length,
  };
}

function readLimit(raw: string | null): number {
  if (raw === null || raw === "") return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > MAX_LIMIT) {
    throw badRequest(`limit must be a whole number from 1 to ${MAX_LIMIT}, not "${raw}"`, `omit limit (default ${DEFAULT_LIMIT}) or page with next_cursor`);
  }
  return n;
}

function encodeCursor(lastId: string): string {
  return Buffer.from(JSON.stringify({ after: lastId })).toString("base64url");
}

function decodeCursor(cursor: string): string {
  try {
    const after = (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { after?: unknown }).after;
    if (typeof after === "string") return after;
  } catch {
    // fall through to the refusal
  }
  throw badRequest(`cursor "${cursor}" is not a cursor this API returned`, "pass back next_cursor from the previous page unchanged");
}

function decodeNanoid(raw: string): string {
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    id = raw;
  }
  if (!NANOID.test(id)) throw badRequest(`"${id}" is not a valid connected account id`, "use the connected account nanoid, e.g. ca_8x2kPq");
  return id;
}

function readObject(body: ReceivedBody): Record<string, unknown> {
  if (body.text.trim() === "") throw badRequest("Request body is empty; a JSON object is required");
  if (body.json === undefined) throw badRequest("Request body is not valid JSON", "send a JSON object with content-type application/json");
  if (!isObject(body.json)) throw badRequest("Request body must be a JSON object");
  return body.json;
}

function readStatusBody(body: ReceivedBody): boolean {
  const doc = readObject(body);
  if (typeof doc.enabled !== "boolean") {
    throw badRequest("Invalid request body: enabled must be a boolean", 'send {"enabled": true} or {"enabled": false}', ["enabled must be a boolean"]);
  }
  return doc.enabled;
}

/**
 * Checks the PATCH body's shape, naming every problem at once. Unknown fields are refused rather than
 * ignored: a client that misspells a field would otherwise see a 200 for a change that never happened.
 */
function readPatchBody(body: ReceivedBody): AccountUpdate {
  const doc = readObject(body);
  const errors: string[] = [];
  for (const key of Object.keys(doc)) if (key !== "alias" && key !== "connection") errors.push(`unknown field "${key}" (allowed: alias, connection)`);
  const update: AccountUpdate = {};
  if (doc.alias !== undefined) {
    if (typeof doc.alias === "string") update.alias = doc.alias;
    else errors.push(`alias must be a string, not ${typeName(doc.alias)}`);
  }
  if (doc.connection !== undefined) {
    const state = isObject(doc.connection) ? doc.connection.state : undefined;
    if (!isObject(doc.connection)) errors.push(`connection must be an object, not ${typeName(doc.connection)}`);
    else if (!isObject(state)) errors.push("connection.state is required and must be an object");
    else {
      const { authScheme, val } = state;
      if (typeof authScheme !== "string" || !(AUTH_SCHEMES as readonly string[]).includes(authScheme)) {
        errors.push(`connection.state.authScheme must be one of ${AUTH_SCHEMES.join(", ")}`);
      }
      if (!isObject(val)) errors.push("connection.state.val is required and must be an object");
      else {
        for (const [key, value] of Object.entries(val)) {
          if (value !== null && typeof value !== "string") errors.push(`connection.state.val.${key} must be a string or null, not ${typeName(value)}`);
        }
      }
      if (errors.length === 0) update.connection = { authScheme: authScheme as string, val: val as Record<string, string | null> };
    }
  }
  if (errors.length > 0) {
    throw badRequest(`Invalid request body: ${errors[0]}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ""}`, "see the errors list", errors);
  }
  return update;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}
