/**
 * The provider process must not outlive the engine. Killed with `kill -9`, the Pulumi CLI cannot
 * stop the dynamic-provider server it started: the server's gRPC listener keeps it alive, and its
 * queued requests and retries would still reach Composio, changes nobody will record.
 *
 * Two signs, either enough. The parent: when the process is handed to another parent, the process
 * that started it is gone. That is the engine only when the launcher `exec`s node; Pulumi's own
 * `pulumi-resource-pulumi-nodejs` is a `/bin/sh` script that runs node without `exec`, so the
 * parent is that shell, which outlives the engine. Hence the engine itself: the engine passes the
 * address of its gRPC server as the server's argument, and a connection held open to it is closed
 * by the kernel the moment the engine's process ends, however it ends and whoever launched us.
 */
import * as net from "node:net";

/** How often the parent is looked at: a request may still start within this long of the engine's end. */
const WATCH_INTERVAL_MS = 100;
/** A connection attempt that fails for another reason than a refusal (file descriptors exhausted, …) is retried after this long. */
const RETRY_MS = 1_000;

/**
 * The client connection preface and an empty SETTINGS frame (RFC 9113 §3.4): the engine's gRPC
 * server then holds the connection as an idle HTTP/2 client's, instead of closing it after its
 * preface timeout and logging a malformed connection.
 */
const HTTP2_PREFACE = Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);

export function exitWithEngine(args: readonly string[] = process.argv.slice(2)): void {
  watchParent();
  const address = engineAddress(args);
  if (address) watchEngineConnection(address);
}

function watchParent(): void {
  const parent = process.ppid;
  // Started by init itself (or in a container as its first process): there is no parent to watch.
  if (parent <= 1) return;
  const timer = setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, WATCH_INTERVAL_MS);
  // Never the reason the process stays up.
  timer.unref();
}

/** The engine's address among the server's arguments (`[flags…] HOST:PORT [engine ref]`). */
export function engineAddress(args: readonly string[]): { host: string; port: number } | undefined {
  for (const arg of args) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(arg);
    if (m && Number(m[2]) > 0 && Number(m[2]) < 65536) return { host: m[1].replace(/^\[|\]$/g, ""), port: Number(m[2]) };
  }
  return undefined;
}

/**
 * Holds a connection to the engine's gRPC server. When it closes, the engine either ended (the
 * address now refuses: exit) or dropped an idle connection (a new one succeeds: keep watching). A
 * first attempt that is refused means no engine answers there at all (a stand-in address): only
 * the parent is watched then.
 */
function watchEngineConnection(address: { host: string; port: number }, answeredBefore = false): void {
  const socket = net.connect({ host: address.host, port: address.port });
  let connected = false;
  let connectedAt = 0;
  let refused = false;
  socket.setNoDelay(true);
  socket.on("connect", () => {
    connected = true;
    connectedAt = Date.now();
    socket.write(HTTP2_PREFACE);
  });
  // Whatever the server sends (its SETTINGS, pings) is not needed.
  socket.on("data", () => undefined);
  socket.on("error", (err: NodeJS.ErrnoException) => {
    refused = err.code === "ECONNREFUSED";
  });
  socket.on("close", () => {
    // A connection the server dropped at once is not retried in a tight loop.
    if (connected && Date.now() - connectedAt >= RETRY_MS) return watchEngineConnection(address, true);
    if (connected) return void setTimeout(() => watchEngineConnection(address, true), RETRY_MS).unref();
    if (refused && answeredBefore) process.exit(1);
    if (refused) return;
    const retry = setTimeout(() => watchEngineConnection(address, answeredBefore), RETRY_MS);
    retry.unref();
  });
  // Never the reason the process stays up.
  socket.unref();
}
