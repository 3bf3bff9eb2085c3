/**
 * Slows requests down before the rate limiter answers 429. Composio counts requests per
 * organisation in a fixed window and tells how many remain (`X-RateLimit-Remaining`); when few
 * remain, the next requests are spread over the window instead of spending it at once.
 * One pacer per client, so every resource of a provider process shares it.
 */
export class Pacer {
  private nextSlot: number;
  private spacingMs: number;

  constructor() {
    // Set here, not as field initializers: Pulumi's closure serializer drops initializers.
    this.nextSlot = 0;
    this.spacingMs = 0;
  }

  /** Resolves when the next request may start; each caller claims its own slot. */
  async wait(): Promise<void> {
    if (this.spacingMs === 0) return;
    const now = Date.now();
    const slot = Math.max(this.nextSlot, now);
    this.nextSlot = slot + this.spacingMs;
    if (slot > now) await new Promise((resolve) => setTimeout(resolve, slot - now));
  }

  /** Learns from a response's rate-limit headers (a 429's too). */
  observe(headers: Record<string, string | string[] | undefined>): void {
    const remaining = Number(first(headers["x-ratelimit-remaining"]));
    if (!Number.isFinite(remaining)) return;
    const limit = Number(first(headers["x-ratelimit"]));
    // Pace only the last fifth of the window's budget, spread evenly over a whole window: the reset
    // time is not told, and a whole window is the longest the budget can last.
    const lowWater = Number.isFinite(limit) && limit > 0 ? limit / 5 : 50;
    this.spacingMs = remaining >= lowWater ? 0 : parseWindow(first(headers["x-ratelimit-window-size"])) / lowWater;
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** "60s", "60000ms", "1m", "60" (seconds) or absent (Composio's window is one minute). */
export function parseWindow(raw: string | undefined): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw ?? "");
  if (!m) return 60_000;
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}
