/** Body fields whose values say what a request does without revealing anything: shown as sent. */
const SHOWN_FIELDS = ["alias", "connection.state.authScheme", "enabled"];
/** What a masked value prints as. */
export const MASK = "***";

export interface LoggedRequest {
  method: string;
  path: string;
  /** "reset" when the connection was dropped without an answer. */
  outcome: number | "reset";
  ms: number;
  rawBody: string;
  body: unknown;
}

/**
 * One line per request: method, path, status, time and the body's fields. Every value outside
 * SHOWN_FIELDS prints as ***, credentials or not, so no secret can reach a terminal or a CI log,
 * whatever a client sends; the API key is blanked out wherever it appears. `null` (a removal)
 * reveals nothing and prints as null.
 */
export function formatRequestLine(r: LoggedRequest, apiKey: string): string {
  const fields = describeBody(r.rawBody, r.body);
  const line = `${r.method} ${r.path} ${r.outcome} ${Math.round(r.ms)}ms${fields ? ` ${fields}` : ""}`;
  return apiKey.length >= 4 ? line.split(apiKey).join(MASK) : line;
}

/**
 * A request body with the same values masked as in the log line, its shape kept (for showing a
 * PATCH as JSON): objects are walked, every other value outside SHOWN_FIELDS becomes "***".
 */
export function maskBody(body: unknown, at = ""): unknown {
  if (isNonEmptyObject(body)) {
    return Object.fromEntries(Object.entries(body).map(([key, inner]) => [key, maskBody(inner, at ? `${at}.${key}` : key)]));
  }
  return isShown(at, body) ? body : MASK;
}

function describeBody(raw: string, body: unknown): string {
  if (raw.trim() === "") return "";
  if (body === undefined) return `(${Buffer.byteLength(raw)} bytes, not JSON)`;
  const parts: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (isNonEmptyObject(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, at ? `${at}.${key}` : key);
      return;
    }
    parts.push(`${at || "(body)"}=${isShown(at, value) ? JSON.stringify(value) : MASK}`);
  };
  walk(body, "");
  return parts.join(" ");
}

function isNonEmptyObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0;
}

function isShown(at: string, value: unknown): boolean {
  if (value === null) return true;
  return SHOWN_FIELDS.includes(at) && (typeof value === "boolean" || typeof value === "string");
}
