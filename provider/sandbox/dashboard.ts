/**
 * The sandbox's own endpoint for what happens in Composio outside this tool: an alias renamed or an
 * account switched off in the dashboard, a connection that EXPIRED or FAILED. Composio's API has no
 * such call (the status is Composio's to set); drills need one to produce drift and unhealthy
 * accounts against a running sandbox. `connected-accounts sandbox edit` calls it.
 *
 *   PATCH /_sandbox/connected_accounts/{id}
 *   {"alias": "renamed-by-hand"} | {"enabled": false} | {"status": "EXPIRED", "status_reason": "token revoked"}
 *
 * The same `x-api-key` as the API; answers the account as the API shows it.
 */
import { badRequest, methodNotAllowed } from "./api-error";
import { present, type Answer, type ReceivedBody } from "./routes";
import { CONNECTION_STATUSES, type AccountStore, type ConnectionStatus, type DashboardEdit } from "./store";

export const DASHBOARD_PATH = "/_sandbox/connected_accounts";
const ROUTE = /^\/_sandbox\/connected_accounts\/([A-Za-z0-9_-]{1,64})$/;
const FIELDS = ["alias", "enabled", "status", "status_reason"];

/** The answer for a dashboard edit, or undefined for a path that is not this endpoint. */
export function routeDashboardEdit(store: AccountStore, method: string, url: URL, body: ReceivedBody): Answer | undefined {
  if (!url.pathname.startsWith(`${DASHBOARD_PATH}/`)) return undefined;
  const match = ROUTE.exec(url.pathname);
  if (!match) throw badRequest(`"${url.pathname.slice(DASHBOARD_PATH.length + 1)}" is not a valid connected account id`, "use the connected account nanoid, e.g. ca_8x2kPq");
  if (method !== "PATCH") throw methodNotAllowed(method, url.pathname, ["PATCH"]);
  return { status: 200, body: present(store.dashboardEdit(match[1], readEdit(body))) };
}

function readEdit(body: ReceivedBody): DashboardEdit {
  const doc = body.json;
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw badRequest("Request body must be a JSON object", `send one or more of ${FIELDS.join(", ")}`);
  const fields = doc as Record<string, unknown>;
  const problems: string[] = [];
  const unknown = Object.keys(fields).filter((k) => !FIELDS.includes(k));
  if (unknown.length > 0) problems.push(`unknown field${unknown.length === 1 ? "" : "s"} ${unknown.join(", ")}`);
  if (Object.keys(fields).length === 0) problems.push(`nothing to change: send one or more of ${FIELDS.join(", ")}`);
  const edit: DashboardEdit = {};
  if ("alias" in fields) {
    if (fields.alias !== null && (typeof fields.alias !== "string" || fields.alias.length > 256)) problems.push("alias must be a string (at most 256 characters) or null");
    else edit.alias = fields.alias as string | null;
  }
  if ("enabled" in fields) {
    if (typeof fields.enabled !== "boolean") problems.push("enabled must be a boolean");
    else edit.enabled = fields.enabled;
  }
  if ("status" in fields) {
    if (!CONNECTION_STATUSES.includes(fields.status as ConnectionStatus)) problems.push(`status must be one of ${CONNECTION_STATUSES.join(", ")}`);
    else edit.status = fields.status as ConnectionStatus;
  }
  if ("status_reason" in fields) {
    if (fields.status_reason !== null && (typeof fields.status_reason !== "string" || fields.status_reason.length > 1024)) problems.push("status_reason must be a string (at most 1024 characters) or null");
    else edit.statusReason = fields.status_reason as string | null;
  }
  if (problems.length > 0) throw badRequest(`Invalid dashboard edit: ${problems.join("; ")}`, '{"alias": "renamed-by-hand"}, {"enabled": false} or {"status": "EXPIRED"}', problems);
  return edit;
}
