import type { RemoteAccount } from "../plan/live-account";
import { LIMITS } from "../settings";
import type { ComposioClient } from "./client";
import { CursorTrail } from "./paging";

interface Waiting {
  id: string;
  resolve(account: RemoteAccount | undefined): void;
  reject(err: unknown): void;
}

/**
 * Coalesces the per-resource reads of a refresh into list calls. Pulumi asks the provider to read
 * every resource at once; reads arriving within a short window become one
 * `GET /connected_accounts?connected_account_ids=…`, so refreshing 1,000 accounts costs ten
 * requests instead of a thousand. An id the list does not return is confirmed with a GET, so a
 * list endpoint that ignored the filter would cost speed, never correctness.
 */
export class BatchedReader {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private batchStartedAt = 0;

  constructor(private readonly client: ComposioClient, private readonly maxBatch: number, private readonly windowMs: number) {}

  /** The account, or undefined when Composio no longer has it (404). */
  read(id: string): Promise<RemoteAccount | undefined> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) this.batchStartedAt = Date.now();
      this.waiting.push({ id, resolve, reject });
      if (this.waiting.length >= this.maxBatch) return this.flush();
      // Wait for a quiet moment rather than a fixed tick, so reads trickling in from a busy engine
      // still share a call; but never hold the first read longer than ten windows.
      clearTimeout(this.timer);
      const wait = Math.min(this.windowMs, this.batchStartedAt + 10 * this.windowMs - Date.now());
      this.timer = setTimeout(() => this.flush(), Math.max(0, wait));
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.waiting.splice(0, this.maxBatch);
    if (this.waiting.length > 0) {
      this.batchStartedAt = Date.now();
      this.timer = setTimeout(() => this.flush(), this.windowMs);
    }
    if (batch.length > 0) void this.load(batch);
  }

  private async load(batch: Waiting[]): Promise<void> {
    const found = batch.length > 1 ? await listByIds(this.client, batch.map((w) => w.id)) : new Map<string, RemoteAccount>();
    await Promise.all(
      batch.map(async (w) => {
        const hit = found.get(w.id);
        if (hit) return w.resolve(hit);
        try {
          w.resolve(await readOne(this.client, w.id));
        } catch (err) {
          w.reject(err);
        }
      }),
    );
  }
}

/**
 * The accounts of `ids` that one list call (or a few pages of it) returns; when the list fails, those
 * found until then: the caller reads the others by themselves, which reports each account's own error.
 */
export async function listByIds(client: ComposioClient, idList: readonly string[]): Promise<Map<string, RemoteAccount>> {
  const found = new Map<string, RemoteAccount>();
  try {
    const ids = new Set(idList);
    const trail = new CursorTrail(LIMITS.maxBatchListPages);
    let cursor: string | undefined;
    // Stop as soon as every id is in: an API that ignored the filter must not page the whole project.
    do {
      const page = await client.listConnectedAccounts({ ids: [...ids] }, cursor, Math.min(ids.size, 1000));
      for (const a of page.items) if (ids.has(a.id)) found.set(a.id, a);
      cursor = found.size < ids.size ? trail.next(page.nextCursor) : undefined;
    } while (cursor);
    return found;
  } catch {
    return found;
  }
}

/** One account by a GET; undefined when Composio says it does not exist (404). */
export async function readOne(client: ComposioClient, id: string): Promise<RemoteAccount | undefined> {
  try {
    return await client.getConnectedAccount(id);
  } catch (err) {
    if (isAccountGone(err)) return undefined;
    throw err;
  }
}

/**
 * Only the API's own "not found" (its JSON error envelope) means the account is gone: a proxy's
 * HTML 404 or a wrong base URL must not make a refresh drop every account from the state.
 */
function isAccountGone(err: unknown): boolean {
  const e = err as { status?: number; slug?: string };
  return e.status === 404 && e.slug !== undefined && e.slug !== "HTTP_404";
}
