/**
 * The sandbox: a local stand-in for Composio's connected-accounts API. The same server backs
 * `connected-accounts sandbox` (trying the project without a Composio project) and every test,
 * which drive it over real HTTP and read back what went over the wire.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, envelope, internalError, newRequestId, payloadTooLarge, routeNotFound, unauthorized } from "./api-error";
import { FaultQueue, type Fault, type StatusFault } from "./faults";
import { FixedWindow, type RateLimit } from "./rate-limit";
import { routeDashboardEdit } from "./dashboard";
import { formatRequestLine } from "./request-log";
import { routeConnectedAccounts, type Answer, type ReceivedBody } from "./routes";
import { AccountStore, type SandboxAccount, type SandboxAccountSeed } from "./store";

export type { Fault, RateLimit, SandboxAccount, SandboxAccountSeed };

export interface SandboxOptions {
  /** Default 0: a free port, read it back from `Sandbox.port`. */
  port?: number;
  /** Default 127.0.0.1: the sandbox holds credentials in plain, keep it off the network. */
  host?: string;
  /** The key every request must carry in `x-api-key` (reads may use `x-user-api-key` instead). */
  apiKey: string;
  accounts?: SandboxAccountSeed[];
  /** JSON file holding the accounts across restarts: read at start when present, rewritten after each change. */
  statePath?: string;
  /** Off by default. */
  rateLimit?: RateLimit;
  /** Receives one line per request; secret values and the API key never appear in it. */
  log?: (line: string) => void;
}

export interface RecordedRequest {
  method: string;
  /** Path with query, as sent. */
  path: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON body; undefined when empty or not JSON. */
  body: unknown;
  rawBody: string;
  /** Status answered; undefined while the answer is held back or when the connection was reset. */
  status?: number;
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:8787, without a trailing slash. */
  url: string;
  port: number;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  clearRequests(): void;
  /** The stored record, credential values in plain; undefined when the id is unknown. */
  account(id: string): SandboxAccount | undefined;
  /** Every stored record in id order. */
  accounts(): SandboxAccount[];
  /** Queues a fault for the next matching request(s); see Fault. */
  inject(fault: Fault): void;
  clearFaults(): void;
  /** Stops listening and drops open connections (keep-alive ones and held answers included). */
  close(): Promise<void>;
}

type IncomingBody = ReceivedBody & { tooLarge: boolean };

/** Request bodies here are a few hundred bytes; a megabyte is a client bug. */
const MAX_BODY_BYTES = 1024 * 1024;

export async function startSandbox(opts: SandboxOptions): Promise<Sandbox> {
  if (!opts.apiKey) throw new Error("the sandbox needs an API key");
  const apiKey = opts.apiKey;
  const store = AccountStore.open(opts.accounts ?? [], opts.statePath);
  const limiter = opts.rateLimit ? new FixedWindow(opts.rateLimit) : undefined;
  const faults = new FaultQueue();
  const requests: RecordedRequest[] = [];
  const heldAnswers = new Set<NodeJS.Timeout>();

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const started = performance.now();
    const method = req.method ?? "GET";
    const target = req.url ?? "/";
    let received: IncomingBody;
    try {
      received = await readBody(req);
    } catch {
      return; // the client went away mid-body: nobody to answer
    }
    const recorded: RecordedRequest = { method, path: target, headers: flattenHeaders(req.headers), body: received.json, rawBody: received.text };
    requests.push(recorded);
    const log = (outcome: number | "reset") =>
      opts.log?.(formatRequestLine({ method, path: target, outcome, ms: performance.now() - started, rawBody: received.text, body: received.json }, apiKey));

    const fault = faults.take(method, target);
    if (fault && "reset" in fault) {
      req.socket.destroy();
      log("reset");
      return;
    }
    const requestId = newRequestId();
    let answer: Answer;
    if (fault && "status" in fault) {
      answer = injectedAnswer(fault, requestId, limiter);
    } else {
      answer = handle(method, target, received, req.headers, requestId);
    }
    const send = () => {
      if (res.destroyed) return;
      const text = typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        "content-type": typeof answer.body === "string" ? "text/plain; charset=utf-8" : "application/json",
        "x-request-id": requestId,
        ...answer.headers,
      });
      res.end(text);
      recorded.status = answer.status;
      log(answer.status);
    };
    if (fault && "delayMs" in fault) {
      const timer = setTimeout(() => {
        heldAnswers.delete(timer);
        send();
      }, fault.delayMs);
      heldAnswers.add(timer);
    } else {
      send();
    }
  };

  /**
   * Rate limit, then key, then endpoint. Every request that arrives counts against the window, even
   * one refused for its key: stricter than Composio's per-organisation budget, and never looser.
   */
  const handle = (method: string, target: string, body: IncomingBody, headers: http.IncomingHttpHeaders, requestId: string): Answer => {
    const rate = limiter?.take();
    if (limiter && rate && !rate.allowed) return { status: 429, body: { message: limiter.describe() }, headers: rate.headers };
    let answer: Answer;
    try {
      authenticate(method, headers, apiKey);
      if (body.tooLarge) throw payloadTooLarge(MAX_BODY_BYTES);
      const url = new URL(target, "http://sandbox");
      const routed = routeConnectedAccounts(store, method, url, body) ?? routeDashboardEdit(store, method, url, body);
      if (!routed) throw routeNotFound(method, url.pathname);
      answer = routed;
    } catch (err) {
      const apiError = err instanceof ApiError ? err : internalError(`sandbox failure: ${err instanceof Error ? err.message : String(err)}`);
      answer = { status: apiError.status, body: envelope(apiError, requestId) };
    }
    return { ...answer, headers: { ...answer.headers, ...rate?.headers } };
  };

  const server = http.createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      // serve answers its own failures; reaching here means the socket broke while answering
      const route = (req.url ?? "/").split("?")[0];
      opts.log?.(`sandbox: could not answer ${req.method} ${route}: ${err instanceof Error ? err.message : String(err)}`);
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostInUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostInUrl}:${address.port}`,
    port: address.port,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    account: (id) => {
      const record = store.get(id);
      return record && structuredClone(record);
    },
    accounts: () => structuredClone(store.list()),
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const timer of heldAnswers) clearTimeout(timer);
        heldAnswers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * `x-api-key` for everything; `x-user-api-key` for reads only. Both at once is refused, as Composio
 * does, rather than guessing which one the caller meant.
 */
function authenticate(method: string, headers: http.IncomingHttpHeaders, apiKey: string): void {
  const projectKey = headerValue(headers["x-api-key"]);
  const userKey = headerValue(headers["x-user-api-key"]);
  if (projectKey !== undefined && userKey !== undefined) {
    throw unauthorized("Send either x-api-key or x-user-api-key, not both", "remove one of the two headers");
  }
  if (projectKey === undefined && userKey === undefined) {
    throw unauthorized("Missing API key", "send the project API key in the x-api-key header");
  }
  if (userKey !== undefined && method !== "GET") {
    throw unauthorized(`x-user-api-key is accepted for reads only, not ${method}`, "send the project API key in the x-api-key header");
  }
  if (!sameSecret(projectKey ?? userKey ?? "", apiKey)) {
    throw unauthorized("Invalid API key", "check the API key (the sandbox's is printed when it starts)");
  }
}

function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(", ") : value;
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = headerValue(value) as string;
  return out;
}

function injectedAnswer(fault: StatusFault, requestId: string, limiter: FixedWindow | undefined): Answer {
  let body = fault.body;
  if (body === undefined) {
    body = fault.status === 429
      ? { message: limiter?.describe() ?? "Rate limit exceeded. Limit: 2000 requests per 1 minutes" }
      : envelope(new ApiError(fault.status, "Sandbox_InjectedFault", 199, `Injected fault: HTTP ${fault.status}`), requestId);
  }
  return { status: fault.status, body, headers: fault.headers ?? {} };
}

async function readBody(req: http.IncomingMessage): Promise<IncomingBody> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Keep draining past the limit so the refusal can still be answered on this connection.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) return { text: "", json: undefined, tooLarge: true };
  const text = Buffer.concat(chunks).toString("utf8");
  let json: unknown;
  try {
    json = text.trim() === "" ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { text, json, tooLarge: false };
}
