import type { RemoteAccount } from "../plan/live-account";
import { listByIds, readOne } from "./batched-reader";
import type { ComposioClient } from "./client";

/**
 * Reads for Check. The engine checks resources one at a time, each Check waiting for the one
 * before, so reads cannot be coalesced by waiting for others to arrive (as a refresh's are): a
 * read that misses reads ahead instead, the account asked for and the next ones the caller expects
 * to be asked for, in one list call. A first preview of 1,000 accounts costs ten requests. An id
 * the list does not return is confirmed with a GET when (and only when) it is asked for.
 */
export class ReadAhead {
  /** Each id read or being read → the list call that covers it. */
  private readonly covered = new Map<string, Promise<Map<string, RemoteAccount>>>();

  constructor(private readonly client: ComposioClient, private readonly batchSize: number) {}

  /** The account, or undefined when Composio does not have it (404). `upcoming` lists the ids likely asked for next. */
  async read(id: string, upcoming: () => readonly string[]): Promise<RemoteAccount | undefined> {
    let listed = this.covered.get(id);
    if (!listed) {
      const ahead = upcoming().filter((next) => next !== id && !this.covered.has(next)).slice(0, this.batchSize - 1);
      const ids = [id, ...ahead];
      listed = ids.length > 1 ? listByIds(this.client, ids) : Promise.resolve(new Map<string, RemoteAccount>());
      for (const covered of ids) this.covered.set(covered, listed);
    }
    return (await listed).get(id) ?? readOne(this.client, id);
  }
}
