/** Body fields whose values say what a request does without revealing anything: shown as sent. */
const SHOWN_FIELDS = ["alias", "connection.state.authScheme", "enabled"];

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
 * whatever a client sends; the API key is blanked out wherever it appears.
 */
export function formatRequestLine(r: LoggedRequest, apiKey: string): string {
  const fields = describeBody(r.rawBody, r.body);
  const line = `${r.method} ${r.path} ${r.outcome} ${Math.round(r.ms)}ms${fields ? ` ${fields}` : ""}`;
  return apiKey.length >= 4 ? line.split(apiKey).join("***") : line;
}

function describeBody(raw: string, body: unknown): string {
  if (raw.trim() === "") return "";
  if (body === undefined) return `(${Buffer.byteLength(raw)} bytes, not JSON)`;
  const parts: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length > 0) {
      for (const [key, inner] of Object.entries(value)) walk(inner, at ? `${at}.${key}` : key);
      return;
    }
    const shown = SHOWN_FIELDS.includes(at) && (value === null || typeof value === "boolean" || typeof value === "string");
    parts.push(`${at || "(body)"}=${shown ? JSON.stringify(value) : "***"}`);
  };
  walk(body, "");
  return parts.join(" ");
}
