import type { Dispatcher, RetryHandler } from "undici";
import { LIMITS, type ApiSettings } from "../../settings";
import { terminalSafe } from "../../text/terminal-text";
import { toComposioError, type ComposioError } from "../errors";
import { displayUrl, scrub } from "../scrub";
import { Limiter } from "./limiter";
import { firstHeader, Pacer, parseRetryAfter } from "./pacer";

/** Errors from the socket layer worth another try: the request may never have reached the server. */
const RETRIED_ERROR_CODES = [
  "ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "ENOTFOUND",
  "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT",
];

/**
 * How a request reaches the Composio API and what comes back: one pooled undici dispatcher, retries
 * with backoff, the pacer's rate-limit gate, the limiter's bound on requests in flight, one time
 * budget per call, the wait on a 409 lease, and answers bounded in size and checked to be the API's.
 * It knows no endpoint: the client names the path, the secrets to scrub and the operation to report.
 */
export class Transport {
  private readonly dispatcher: Dispatcher;
  private readonly pacer: Pacer;
  private readonly limiter: Limiter;
  private readonly undici: typeof import("undici");

  constructor(private readonly settings: ApiSettings) {
    // Loaded with the first transport, not with the module: undici is most of the provider's load
    // time, and a no-op preview of recorded accounts never asks the API anything.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    this.undici = require("undici") as typeof import("undici");
    const { Agent, RetryAgent } = this.undici;
    this.pacer = new Pacer(settings.maxConcurrency, minimumWaitMs(settings.retryBaseMs, 1));
    this.limiter = new Limiter(settings.maxConcurrency);
    const pool = new Agent({
      connections: settings.maxConcurrency,
      connect: { timeout: settings.connectTimeoutMs },
      headersTimeout: settings.requestTimeoutMs,
      bodyTimeout: settings.requestTimeoutMs,
      // An answer that never ends (or a 700 MB error page) must fail this account, not exhaust memory.
      maxResponseSize: LIMITS.maxResponseBytes,
    });
    const { maxRetries, retryBaseMs } = settings;
    this.dispatcher = new RetryAgent(pool, {
      // PATCH sets values (alias, credential fields) rather than adding to them, so sending it twice
      // leaves the account as sending it once: it is safe to retry, unlike undici's default assumption.
      methods: ["GET", "PATCH"],
      statusCodes: [429, 500, 502, 503, 504],
      errorCodes: RETRIED_ERROR_CODES,
      maxRetries,
      // Answer with the last response once retries are spent, so the user reads the API's own error.
      throwOnError: false,
      retry: backoff({ maxRetries, baseMs: retryBaseMs }, this.pacer),
    });
  }

  /**
   * One call: `secrets` are cut out of every error it raises, `operation` names it in them
   * ("could not update connected account ...").
   */
  async send(method: "GET" | "PATCH", path: string, accountId: string, secrets: string[], body?: unknown, operation = method === "PATCH" ? "update" : "read"): Promise<unknown> {
    const apiKey = this.settings.apiKey;
    if (!apiKey) {
      throw new Error(`no Composio API key for connected account ${accountId}: set it with \`pulumi config set --secret connected-accounts:apiKey <key>\` or export COMPOSIO_API_KEY`);
    }
    const fail = (err: unknown) => new Error(`could not ${operation} connected account ${accountId} at ${displayUrl(this.settings.baseUrl)}: ${scrub(describeNetworkError(err, this.settings), secrets)}`);
    return this.limiter.run(async () => {
      // One time budget for the whole call, retries and every wait included; it starts once the call may run.
      const budgetMs = this.settings.retryBudgetMs + this.settings.requestTimeoutMs;
      const signal = AbortSignal.timeout(budgetMs);
      const deadline = Date.now() + budgetMs;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.pacer.wait(deadline);
        } catch (err) {
          throw new Error(scrub(`could not ${operation} connected account ${accountId}: ${(err as Error).message}`, secrets));
        }
        let status: number;
        let text: string;
        let headers: Dispatcher.ResponseData["headers"];
        try {
          const res = await this.undici.request(this.settings.baseUrl + path, {
            method,
            dispatcher: this.dispatcher,
            headers: { "x-api-key": apiKey, "content-type": "application/json", accept: "application/json" },
            body: body === undefined ? undefined : JSON.stringify(body),
            signal,
            // Read by `backoff` (undici hands request options to the retry callback): no retry waits past it.
            deadline,
          } as Parameters<typeof import("undici").request>[1] & BudgetedRequest);
          ({ statusCode: status, headers } = res);
          text = await res.body.text();
        } catch (err) {
          throw fail(err);
        }
        this.pacer.observe(headers, status);
        if (status >= 200 && status < 300) return successBody(method, status, text, headers, accountId, operation);
        const error = toComposioError(status, text, accountId, headers, operation, secrets, this.settings.apiKeySource);
        // A 409 is either a duplicate alias (permanent) or another write holding the connection's
        // lease (gone in a moment). Only the body tells them apart, which undici's retry cannot read.
        const leaseWaitMs = jittered(this.settings.retryBaseMs * 2 ** attempt);
        if (isLeaseConflict(error) && attempt <= this.settings.maxRetries && Date.now() + leaseWaitMs < deadline) {
          await sleep(leaseWaitMs);
          continue;
        }
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }
}

/**
 * A 2xx is only an answer when it is the API's JSON, and for a PATCH only when it says
 * `success: true`: a proxy's or captive portal's HTML page answered 200 must not be recorded as
 * applied, or the next run would send nothing and the change would never reach Composio.
 * The body is not shown (it may quote what was sent).
 */
function successBody(method: string, status: number, text: string, headers: Dispatcher.ResponseData["headers"], accountId: string, operation: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const isObject = parsed !== null && typeof parsed === "object" && !Array.isArray(parsed);
  const unconfirmed = method === "PATCH" && isObject && (parsed as { success?: unknown }).success !== true;
  if (isObject && !unconfirmed) return parsed;
  const type = terminalSafe(firstHeader(headers["content-type"]) ?? "");
  const what = !isObject
    ? `a body that is not a JSON object (${type ? `content-type ${type.split(";")[0].trim()}` : "no content-type"}, ${Buffer.byteLength(text)} bytes)`
    : "JSON without `success: true`";
  const requestId = terminalSafe(firstHeader(headers["x-request-id"]) ?? "");
  throw new Error(
    `Composio's answer to the ${operation} of connected account ${accountId} is not the API's: HTTP ${status} with ${what}${requestId ? `, request_id: ${requestId}` : ""}. ` +
      (method === "PATCH" ? "Nothing is recorded as applied: the next run sends the change again. " : "") +
      "Is connected-accounts:baseUrl (or COMPOSIO_BASE_URL) the Composio API, not a proxy or login page?",
  );
}

export function isLeaseConflict(error: ComposioError): boolean {
  return error.status === 409 && !/alias/i.test(`${error.slug} ${error.apiMessage}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Request options carrying the call's deadline to the retry callback. */
interface BudgetedRequest {
  deadline?: number;
}

/**
 * Half fixed, half random: parallel resources do not retry in lockstep, and no retry comes sooner
 * than half its step (full jitter may retry at once, which is what a struggling API does not need).
 */
function jittered(stepMs: number): number {
  return stepMs / 2 + (Math.random() * stepMs) / 2;
}

/** The shortest wait before retry number `retry` (1 for the first): half its backoff step. */
function minimumWaitMs(baseMs: number, retry: number): number {
  return (baseMs * 2 ** (retry - 1)) / 2;
}

/**
 * Exponential backoff, honouring Retry-After (seconds or HTTP date; negative or absurd values count as
 * absent) and the pacer's gate, which a 429 closes for every request. A retry that would start past
 * the call's deadline is not waited for: the caller gets the last answer now.
 */
export function backoff(opts: { maxRetries: number; baseMs: number }, pacer: Pacer): RetryHandler.RetryCallback {
  return (err, { state, opts: req }, cb) => {
    const { statusCode, code, headers } = err as Error & { statusCode?: number; code?: string; headers?: Record<string, string> };
    // Responses retried here never reach the caller: let the pacer learn from their rate-limit headers.
    if (headers) pacer.observe(headers, statusCode);
    const retry = req.retryOptions ?? {};
    const retriable =
      (statusCode !== undefined ? retry.statusCodes?.includes(statusCode) : code !== undefined && retry.errorCodes?.includes(code)) &&
      retry.methods?.includes(req.method as never);
    if (!retriable || state.counter > opts.maxRetries) return cb(err);
    const retryAfterMs = parseRetryAfter(headers?.["retry-after"]);
    // Retry-After may lengthen a wait, never shorten it below the backoff's own minimum: `0` on every
    // answer would otherwise spend all retries at once, for every account.
    const stepMs = opts.baseMs * 2 ** (state.counter - 1);
    const waitMs = Math.max(retryAfterMs ?? jittered(stepMs), minimumWaitMs(opts.baseMs, state.counter), pacer.delayMs());
    const deadline = (req as BudgetedRequest).deadline ?? Infinity;
    if (Date.now() + waitMs >= deadline) return cb(err);
    setTimeout(() => cb(null), waitMs);
  };
}

function describeNetworkError(err: unknown, settings: ApiSettings): string {
  const e = err as { code?: string; name?: string; message?: string };
  if (e.name === "TimeoutError") return `gave up after ${Math.round((settings.retryBudgetMs + settings.requestTimeoutMs) / 1000)} s of retries (connected-accounts:retryBudgetMs)`;
  if (e.code === "UND_ERR_HEADERS_TIMEOUT" || e.code === "UND_ERR_BODY_TIMEOUT") {
    return `no answer within ${settings.requestTimeoutMs} ms (connected-accounts:requestTimeoutMs); the API may be down`;
  }
  if (e.code === "UND_ERR_CONNECT_TIMEOUT") return `could not connect within ${settings.connectTimeoutMs} ms (connected-accounts:connectTimeoutMs)`;
  if (e.code === "UND_ERR_RES_EXCEEDED_MAX_SIZE") return `the answer was larger than ${LIMITS.maxResponseBytes} bytes, far more than any answer to this request: is connected-accounts:baseUrl (or COMPOSIO_BASE_URL) the Composio API?`;
  if (e.code === "ECONNREFUSED") return "connection refused: is connected-accounts:baseUrl (or COMPOSIO_BASE_URL) right?";
  return `${e.code ?? e.name ?? "error"}: ${e.message ?? String(err)}`;
}
