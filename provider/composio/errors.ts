import { terminalSafe } from "../text/terminal-text";
import { scrub } from "./scrub";

/** What the Composio API answered when it refused a request. */
export interface ComposioErrorInfo {
  status: number;
  slug: string;
  apiMessage: string;
  accountId: string;
  requestId?: string;
  suggestedFix?: string;
  details: string[];
  operation: string;
  /** Where the refused key came from (ApiSettings.apiKeySource), named in a 401's hint. */
  apiKeySource?: string;
}

/** An Error carrying the API's answer, with a message that is the whole story for the user. */
export class ComposioError extends Error {
  declare readonly status: number;
  declare readonly slug: string;
  declare readonly apiMessage: string;
  declare readonly accountId: string;
  declare readonly requestId?: string;
  declare readonly suggestedFix?: string;
  declare readonly details: string[];
  declare readonly operation: string;
  declare readonly apiKeySource?: string;

  constructor(info: ComposioErrorInfo) {
    const { status, slug, apiMessage, accountId, requestId, suggestedFix, details, operation, apiKeySource } = info;
    super([
      `Composio could not ${operation} connected account ${accountId}: ${apiMessage}`,
      `  slug: ${slug}, HTTP ${status}${requestId ? `, request_id: ${requestId}` : ""}`,
      ...details.map((d) => `  - ${d}`),
      ...(suggestedFix ? [`  suggested fix: ${suggestedFix}`] : []),
      ...(hint(status, apiKeySource) ? [`  ${hint(status, apiKeySource)}`] : []),
    ].join("\n"));
    Object.assign(this, info, { name: "ComposioError" });
  }
}

export function isComposioError(err: unknown): err is ComposioError {
  return err instanceof Error && err.name === "ComposioError";
}

function hint(status: number, apiKeySource = "connected-accounts:apiKey (or COMPOSIO_API_KEY)"): string | undefined {
  if (status === 401) return `check ${apiKeySource}: the key was refused`;
  if (status === 403) return "the API key's project may not own this account";
  if (status === 404) return "the account does not exist or was deleted: reconnect it in Composio, or delete its file to stop managing it";
  return undefined;
}

/**
 * Reads what the API answered into a ComposioError. Only the envelope's fields are shown (`slug`,
 * `message`, `request_id`, `suggested_fix`, `errors`), each scrubbed of every secret: a body is
 * never shown as it came, since an API (or a proxy before it) may echo the request. The usual
 * envelope is `{error: {...}}`, but 429s and proxies answer other shapes, so every field is read
 * defensively.
 */
export function toComposioError(status: number, rawBody: string, accountId: string, headers: Record<string, unknown> = {}, operation = "update", secrets: readonly string[] = [], apiKeySource?: string): ComposioError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch {
    parsed = undefined;
  }
  const envelope = (parsed && typeof parsed === "object" ? ((parsed as { error?: unknown }).error ?? parsed) : {}) as Record<string, unknown>;
  // Escaped as well as scrubbed: the message reaches terminals, CI logs and PR comments.
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? terminalSafe(scrub(v, secrets)) : undefined);
  const requestId = str(envelope.request_id) ?? str(headers["x-request-id"]);
  const message = str(envelope.message) ?? `HTTP ${status} without an error message (the answer is not shown: it may quote what was sent)`;
  const slug = str(envelope.slug) ?? `HTTP_${status}`;
  const details = Array.isArray(envelope.errors) ? envelope.errors.filter((e): e is string => typeof e === "string").map((e) => terminalSafe(scrub(e, secrets))) : [];
  return new ComposioError({ status, slug, apiMessage: message, accountId, requestId, suggestedFix: str(envelope.suggested_fix), details, operation, apiKeySource });
}
