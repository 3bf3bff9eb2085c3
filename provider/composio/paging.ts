import { LIMITS } from "../settings";

/**
 * Follows the list endpoint's `next_cursor` so that a cursor that never ends cannot loop forever:
 * a cursor coming back, or more pages than any project needs, ends the walk with an error.
 */
export class CursorTrail {
  private readonly seen = new Set<string>();
  private pages = 0;

  constructor(private readonly maxPages: number = LIMITS.maxListPages) {}

  /** The cursor of the next page after one more page was read, or undefined at the end. */
  next(cursor: string | null): string | undefined {
    this.pages++;
    if (cursor === null) return undefined;
    if (this.seen.has(cursor)) {
      throw new Error(`Composio's list of connected accounts does not end: cursor ${shown(cursor)} came back after ${this.pages} pages; nothing was changed, try again later or report it to Composio`);
    }
    if (this.pages >= this.maxPages) {
      throw new Error(`Composio's list of connected accounts did not end after ${this.pages} pages (the limit); nothing was changed, narrow the request (filters, a larger page size) or report it to Composio`);
    }
    this.seen.add(cursor);
    return cursor;
  }
}

function shown(cursor: string): string {
  return JSON.stringify(cursor.length > 40 ? `${cursor.slice(0, 40)}…` : cursor);
}
