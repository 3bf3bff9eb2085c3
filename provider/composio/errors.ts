/** An error answered by the Composio API, with everything a user needs to act on it. */
export class ComposioError extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly apiMessage: string,
    readonly accountId: string,
    readonly requestId?: string,
    readonly suggestedFix?: string,
    readonly details: string[] = [],
    readonly operation = "update",
  ) {
    super(
      [
        `Composio could not ${operation} connected account ${accountId}: ${apiMessage}`,
        `  slug: ${slug}, HTTP ${status}${requestId ? `, request_id: ${requestId}` : ""}`,
        ...details.map((d) => `  - ${d}`),
        ...(suggestedFix ? [`  suggested fix: ${suggestedFix}`] : []),
        ...(hint(status) ? [`  ${hint(status)}`] : []),
      ].join("\n"),
    );
    this.name = "ComposioError";
  }
}

function hint(status: number): string | undefined {
  if (status === 401) return "check connected-accounts:apiKey (or COMPOSIO_API_KEY): the key was refused";
  if (status === 403) return "the API key's project may not own this account";
  if (status === 404) return "the account does not exist or was deleted: reconnect it in Composio, or delete its file to stop managing it";
  return undefined;
}

/**
 * Reads whatever the API answered into a ComposioError. The usual envelope is `{error: {...}}`, but
 * 429s and proxies answer other shapes, so every field is read defensively.
 */
export function toComposioError(status: number, bodyText: string, accountId: string, headers: Record<string, unknown> = {}, operation?: string): ComposioError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const envelope = (parsed && typeof parsed === "object" ? ((parsed as { error?: unknown }).error ?? parsed) : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const requestId = str(envelope.request_id) ?? str(headers["x-request-id"]);
  const message = str(envelope.message) ?? (bodyText.trim().slice(0, 300) || `HTTP ${status}`);
  const slug = str(envelope.slug) ?? `HTTP_${status}`;
  const details = Array.isArray(envelope.errors) ? envelope.errors.filter((e): e is string => typeof e === "string") : [];
  return new ComposioError(status, slug, message, accountId, requestId, str(envelope.suggested_fix), details, operation);
}

/** Replaces every known secret in a text; used on anything that may echo a request back. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join("[secret]");
  }
  return out;
}
