import type { RemoteAccount } from "../plan/live-account";
import { terminalSafe } from "../text/terminal-text";

export interface AccountListPage {
  items: RemoteAccount[];
  nextCursor: string | null;
}

/**
 * Reads one account object defensively: the API's shape has moved between versions. Every string
 * is escaped here, where it enters this tool: a status holding an escape sequence would otherwise
 * travel into the state, the stack outputs (as a map key, too) and every terminal that shows them.
 */
export function toRemoteAccount(raw: unknown): RemoteAccount | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const a = raw as Record<string, any>;
  if (typeof a.id !== "string") return undefined;
  const str = (v: unknown) => (typeof v === "string" ? terminalSafe(v) : undefined);
  const val = a.state?.val && typeof a.state.val === "object" ? a.state.val : {};
  const alias = str(a.alias) ?? null;
  return {
    id: terminalSafe(a.id),
    alias,
    ...(alias !== null && alias !== a.alias ? { aliasEscaped: true as const } : {}),
    status: str(a.status) ?? "UNKNOWN",
    statusReason: str(a.status_reason),
    isDisabled: a.is_disabled === true,
    toolkit: str(a.toolkit?.slug) ?? str(a.toolkit) ?? "",
    userId: str(a.user_id) ?? str(a.userId) ?? "",
    authScheme: str(a.state?.authScheme) ?? str(a.auth_config?.auth_scheme) ?? "",
    credentialKeys: Object.keys(val).map(terminalSafe).sort(),
  };
}

export function toAccountListPage(raw: unknown): AccountListPage {
  const body = (raw ?? {}) as { items?: unknown; next_cursor?: unknown };
  const items = Array.isArray(body.items) ? body.items.map(toRemoteAccount).filter((a): a is RemoteAccount => a !== undefined) : [];
  // The cursor is only sent back (URL-encoded), never shown: it stays as the API wrote it.
  return { items, nextCursor: typeof body.next_cursor === "string" && body.next_cursor !== "" ? body.next_cursor : null };
}
