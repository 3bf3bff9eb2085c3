/**
 * Progress of a long run, told from the provider process. Pulumi prints nothing for an unchanged
 * account, so a no-op preview of thousands of accounts is silent for minutes; and on the local and
 * S3 backends a first `up` slows down as the state it rewrites after each step grows. Every so often
 * the provider prints one line with what it has done so far (the CLI shows a provider's stderr on
 * the stack's row, and again under Diagnostics at the end, so the lines are few).
 */

/** Fleets below this many operations finish before a line would help. */
export const PROGRESS_MIN_OPERATIONS = 1_000;
/** At most one line this often: each one is repeated in the CLI's closing diagnostics. */
export const PROGRESS_INTERVAL_MS = 15_000;

export type Operation = "checked" | "adopted" | "updated";

export interface FleetProgressOptions {
  write?: (line: string) => void;
  now?: () => number;
  minOperations?: number;
  intervalMs?: number;
}

export class FleetProgress {
  private readonly counts: Record<Operation, number> = { checked: 0, adopted: 0, updated: 0 };
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly minOperations: number;
  private readonly intervalMs: number;
  private readonly startedAt: number;
  private reportedAt: number;

  constructor(opts: FleetProgressOptions = {}) {
    this.write = opts.write ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = opts.now ?? Date.now;
    this.minOperations = opts.minOperations ?? PROGRESS_MIN_OPERATIONS;
    this.intervalMs = opts.intervalMs ?? PROGRESS_INTERVAL_MS;
    this.startedAt = this.now();
    this.reportedAt = this.startedAt;
  }

  /** One more account checked, adopted or updated; prints a line when one is due. */
  count(op: Operation): void {
    this.counts[op]++;
    const total = this.counts.checked + this.counts.adopted + this.counts.updated;
    const now = this.now();
    if (total < this.minOperations || now - this.reportedAt < this.intervalMs) return;
    this.reportedAt = now;
    this.write(this.line(now));
  }

  private line(now: number): string {
    const { checked, adopted, updated } = this.counts;
    const seconds = Math.max(1, Math.round((now - this.startedAt) / 1000));
    const done = [`${checked.toLocaleString("en-US")} accounts checked`];
    if (adopted > 0) done.push(`${adopted.toLocaleString("en-US")} adopted (${(adopted / seconds).toFixed(1)}/s)`);
    if (updated > 0) done.push(`${updated.toLocaleString("en-US")} updated`);
    return `connected-accounts: ${done.join(", ")} in ${seconds} s so far`;
  }
}
