/** The rate-limit headers Composio may send; an API (or a proxy before it) may send any subset. */
export const RATE_LIMIT_HEADERS = ["X-RateLimit", "X-RateLimit-Remaining", "X-RateLimit-Window-Size"] as const;
export type RateLimitHeader = (typeof RATE_LIMIT_HEADERS)[number];

export interface RateLimit {
  requests: number;
  windowMs: number;
  /** Which rate-limit headers answers carry (default: all three); a refusal always has Retry-After. */
  headers?: readonly RateLimitHeader[];
}

export interface RateDecision {
  allowed: boolean;
  /** Sent on every answer; Retry-After only on a refusal. */
  headers: Record<string, string>;
}

/**
 * Composio's limiter: one fixed window shared by every endpoint, opened by the first request after
 * the previous window ended. Refused requests still count, as they do against the real budget.
 */
export class FixedWindow {
  private windowStart = -Infinity;
  private used = 0;

  constructor(private readonly limit: RateLimit, private readonly now: () => number = Date.now) {
    if (!Number.isInteger(limit.requests) || limit.requests < 1) throw new Error(`rateLimit.requests must be a positive whole number, not ${limit.requests}`);
    if (!Number.isFinite(limit.windowMs) || limit.windowMs <= 0) throw new Error(`rateLimit.windowMs must be a positive number, not ${limit.windowMs}`);
  }

  take(): RateDecision {
    const now = this.now();
    if (now >= this.windowStart + this.limit.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    this.used++;
    const allowed = this.used <= this.limit.requests;
    const all: Record<RateLimitHeader, string> = {
      "X-RateLimit": String(this.limit.requests),
      "X-RateLimit-Remaining": String(Math.max(0, this.limit.requests - this.used)),
      "X-RateLimit-Window-Size": `${Math.ceil(this.limit.windowMs / 1000)}s`,
    };
    const headers: Record<string, string> = {};
    for (const name of this.limit.headers ?? RATE_LIMIT_HEADERS) headers[name] = all[name];
    if (!allowed) headers["Retry-After"] = String(Math.max(1, Math.ceil((this.windowStart + this.limit.windowMs - now) / 1000)));
    return { allowed, headers };
  }

  /** Composio's wording, e.g. "Limit: 2000 requests per 1 minutes". */
  describe(): string {
    const { requests, windowMs } = this.limit;
    const per = windowMs % 60_000 === 0 ? `${windowMs / 60_000} minutes` : `${windowMs / 1000} seconds`;
    return `Rate limit exceeded. Limit: ${requests} requests per ${per}`;
  }
}
