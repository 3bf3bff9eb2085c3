/**
 * Misbehaviour injected by reliability tests. Faults wait in a queue; each incoming request takes the
 * first fault whose `method` and `path` (tested against path + query) match, when given. A fault
 * serves `times` requests (default 1), then leaves the queue.
 *
 * - `{ status, body?, headers? }`: answer this instead of handling the request (nothing changes).
 *   The body defaults to an error envelope, or to the rate-limit body for 429; a string body is
 *   sent as is (e.g. an HTML page from a proxy).
 * - `{ reset: true }`: destroy the connection without answering (nothing changes).
 * - `{ delayMs }`: handle the request (changes apply), then hold the answer back, e.g. past a client
 *   timeout. Closing the sandbox drops held answers.
 */
export type Fault = FaultScope & (StatusFault | { reset: true } | { delayMs: number });

export interface FaultScope {
  times?: number;
  method?: string;
  path?: RegExp;
}

export interface StatusFault {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export class FaultQueue {
  private readonly queue: { fault: Fault; left: number }[] = [];

  add(fault: Fault): void {
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new Error(`fault.times must be a positive whole number, not ${times}`);
    this.queue.push({ fault, left: times });
  }

  /** The fault the request falls to, if any, used up by this call. */
  take(method: string, path: string): Fault | undefined {
    const index = this.queue.findIndex(({ fault }) => (!fault.method || fault.method.toUpperCase() === method) && (!fault.path || matches(fault.path, path)));
    if (index === -1) return undefined;
    const entry = this.queue[index];
    if (--entry.left === 0) this.queue.splice(index, 1);
    return entry.fault;
  }

  clear(): void {
    this.queue.length = 0;
  }
}

function matches(pattern: RegExp, path: string): boolean {
  // A /g or /y pattern keeps lastIndex between calls; a fault must match the same way every time.
  pattern.lastIndex = 0;
  return pattern.test(path);
}
