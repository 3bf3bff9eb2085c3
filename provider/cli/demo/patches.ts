import { maskBody } from "../../sandbox/request-log";
import type { RecordedRequest } from "../../sandbox/server";

/**
 * The PATCH requests the sandbox received, one per line with its body as JSON, every value masked
 * as in the sandbox's log (the alias and auth scheme shown, a removal shown as null), in path order
 * (the engine sends them concurrently).
 */
export function formatPatches(requests: readonly RecordedRequest[]): string {
  const patches = requests.filter((r) => r.method === "PATCH");
  if (patches.length === 0) return "(none)\n";
  return patches
    .map((r) => `PATCH ${r.path} ${r.status ?? "-"} ${JSON.stringify(maskBody(r.body))}`)
    .sort()
    .join("\n") + "\n";
}
