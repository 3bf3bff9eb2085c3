/**
 * A loopback HTTP server of the test's own, answering whatever the test says: the hostile or broken
 * API the client must survive. Records every request as it arrived on the wire.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { ComposioClient } from "../../provider/composio/client";
import { apiSettings } from "../../provider/settings";
import { CLI, type CliResult } from "./git-repo";

export interface SeenRequest {
  method: string;
  url: string;
  body: string;
  at: number;
}

export type Answer = (req: SeenRequest, res: http.ServerResponse) => void;

export interface HostileApi {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export async function startHostileApi(answer: Answer): Promise<HostileApi> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const seen = { method: req.method ?? "", url: req.url ?? "", body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
      requests.push(seen);
      answer(seen, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export const HOSTILE_API_KEY = "hostile-api-key-Zr8Lq2Wd5Hv";

/** A client with fast retries against `baseUrl`; `over` sets stack settings by short name. */
export function clientFor(baseUrl: string, over: Record<string, string> = {}): ComposioClient {
  const config: Record<string, string> = { retryBaseMs: "10", ...over };
  return new ComposioClient(apiSettings((k) => config[k.replace(/^connected-accounts:/, "")], { COMPOSIO_API_KEY: HOSTILE_API_KEY, COMPOSIO_BASE_URL: baseUrl }));
}

/** What the user reads: the error message, or "ok". */
export async function outcome(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "ok";
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Runs the compiled CLI without blocking this process, so a loopback server of the test can answer
 * it (`runCli` waits synchronously).
 */
export function runCliAsync(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: "utf8" }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
