import { LIMITS } from "../../settings";

/**
 * Holds requests back while the API's rate-limit window is spent, so that they start when it reopens
 * instead of collecting 429s, and start at once when it does. Composio counts requests in a fixed
 * window; what it tells varies (any of `X-RateLimit`, `X-RateLimit-Remaining`,
 * `X-RateLimit-Window-Size`, and `Retry-After` on a 429), so the pacer uses what it is told and
 * learns the rest:
 * - a 429's Retry-After closes the gate for every request, not only the refused one;
 * - Remaining reaching 0 closes it until the window ends, once that is known: the window's start is
 *   when a reset was seen (Remaining jumping up), its length is told or learned between two resets.
 * Values out of range (negative, longer than LIMITS.maxRateWindowMs, not numbers) count as absent;
 * a Retry-After shorter than `minHoldMs` (`0`, from an API that wants to be hammered) holds that long.
 * One pacer per client, so every resource of a provider process shares it.
 */
export class Pacer {
  private openAt = 0;
  private lowest: number | undefined;
  private windowStart: number | undefined;
  private learnedWindowMs: number | undefined;

  /**
   * `slack`: how far apart the Remaining of one window's answers may arrive (the requests in flight).
   * `minHoldMs`: the least a 429's or 503's Retry-After closes the gate for.
   */
  constructor(private readonly slack: number, private readonly minHoldMs = 0) {}

  /** How long requests must still wait, 0 when they may start. */
  delayMs(now = Date.now()): number {
    return Math.max(0, this.openAt - now);
  }

  /**
   * Resolves when a request may start. Throws when that is past `deadline` (the request's time
   * budget): waiting would only end in a timeout, later.
   */
  async wait(deadline: number): Promise<void> {
    for (let delay = this.delayMs(); delay > 0; delay = this.delayMs()) {
      if (Date.now() + delay > deadline) throw rateLimitBeyondBudget(delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Learns from an answer's headers (a 429's and a retried answer's too). */
  observe(headers: Record<string, string | string[] | undefined>, status?: number): void {
    const now = Date.now();
    if (status === 429 || status === 503) {
      const retryAfter = parseRetryAfter(headers["retry-after"]);
      if (retryAfter !== undefined) this.openAt = Math.max(this.openAt, now + Math.max(retryAfter, this.minHoldMs));
    }
    const remaining = wholeNumber(firstHeader(headers["x-ratelimit-remaining"]));
    if (remaining === undefined) return;
    // Within one window Remaining only falls; answers overtaking each other blur that by the requests in flight.
    if (this.lowest !== undefined && remaining > this.lowest + this.slack) {
      if (this.windowStart !== undefined) this.learnedWindowMs = sane(now - this.windowStart);
      this.windowStart = now;
      this.lowest = remaining;
    } else {
      this.lowest = Math.min(this.lowest ?? remaining, remaining);
    }
    if (remaining > 0 || this.windowStart === undefined) return;
    const windowMs = parseWindow(firstHeader(headers["x-ratelimit-window-size"])) ?? this.learnedWindowMs;
    if (windowMs !== undefined) this.openAt = Math.max(this.openAt, this.windowStart + windowMs);
  }
}

function rateLimitBeyondBudget(delayMs: number): Error {
  return new Error(
    `the API's rate limit asks to wait ${Math.ceil(delayMs / 1000)} s, past this request's time budget (connected-accounts:retryBudgetMs); run again once the limit has reset`,
  );
}

/** A header's one value (undici gives a repeated header as a list). */
export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function wholeNumber(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Number(raw);
}

/** A duration within (0, LIMITS.maxRateWindowMs], else undefined: absurd values are not obeyed. */
function sane(ms: number): number | undefined {
  return Number.isFinite(ms) && ms >= 0 && ms <= LIMITS.maxRateWindowMs ? ms : undefined;
}

/** "60s", "60000ms", "1m", "60" (seconds); undefined when absent or out of range. */
export function parseWindow(raw: string | undefined): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw ?? "");
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
  return ms > 0 ? sane(ms) : undefined;
}

/** Retry-After in seconds or as an HTTP date; undefined when absent, negative or absurdly far. */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const raw = firstHeader(value);
  if (raw === undefined || raw.trim() === "") return undefined;
  if (/^\s*-?\d+(\.\d+)?\s*$/.test(raw)) return sane(Number(raw) * 1000);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : sane(Math.max(0, at - Date.now()));
}
