/**
 * The provider process must not outlive the engine. Killed with `kill -9`, the Pulumi CLI cannot
 * stop the dynamic-provider server it started: the server's gRPC listener keeps it alive, and its
 * queued requests and retries would still reach Composio, changes nobody will record. The CLI
 * starts the server itself (whichever language host runs the program, Pulumi's or ours), so the
 * server's parent is the engine: when the process is handed to another parent, the engine is gone.
 */

/** How often the parent is looked at: a request may still start within this long of the engine's end. */
const WATCH_INTERVAL_MS = 100;

export function exitWithEngine(): void {
  const engine = process.ppid;
  // Started by init itself (or in a container as its first process): there is no engine to watch.
  if (engine <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== engine) process.exit(1);
  }, WATCH_INTERVAL_MS);
  // Never the reason the process stays up.
  timer.unref();
}
