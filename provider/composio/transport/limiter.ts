/**
 * At most `limit` requests in flight for the whole provider process (Pulumi runs every resource's
 * operation at once). Requests wait here, before their time budget starts, rather than in the
 * connection pool, where the wait would count against their timeout.
 */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}
