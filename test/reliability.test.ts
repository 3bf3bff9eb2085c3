/**
 * The client against real API behaviour, played by the loopback sandbox's fault injection:
 * what is retried, what is not, what the user reads, and that no secret leaks on any path.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ComposioClient } from "../provider/composio/client";
import { Pacer } from "../provider/composio/transport/pacer";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { apiSettings } from "../provider/settings";
import { API_KEY, TestStack } from "./support/stack";

const SECRET = "sk_reliability_T9xQ2mVb7";
let sandbox: Sandbox;

const clientWith = (over: Record<string, string> = {}) =>
  new ComposioClient(apiSettings((k) => ({ "connected-accounts:retryBaseMs": "20", ...prefixed(over) })[k], { COMPOSIO_API_KEY: API_KEY, COMPOSIO_BASE_URL: sandbox.url }));
const prefixed = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [`connected-accounts:${k}`, v]));
const rotate = { connection: { state: { authScheme: "API_KEY", val: { api_key: SECRET } } } };
const ACCOUNT = /ca_rel/;

beforeAll(async () => {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    accounts: [
      { id: "ca_rel", toolkit: "github", userId: "u", authScheme: "API_KEY" },
      { id: "ca_other", toolkit: "github", userId: "u", authScheme: "API_KEY", alias: "taken" },
      ...Array.from({ length: 40 }, (_, i) => ({ id: `ca_bulk${i}`, toolkit: "github", userId: `u${i}`, authScheme: "API_KEY" as const })),
    ],
  });
});
afterAll(async () => sandbox.close());
beforeEach(() => {
  sandbox.clearRequests();
  sandbox.clearFaults();
});

/** Runs a PATCH and returns what the user would read: the result or the error message. */
async function attempt(client: ComposioClient, body: object = rotate): Promise<{ ok: boolean; text: string }> {
  try {
    const r = await client.patchConnectedAccount("ca_rel", body);
    return { ok: true, text: JSON.stringify(r) };
  } catch (err) {
    return { ok: false, text: (err as Error).message };
  } finally {
    await client.close();
  }
}

describe("retried: the request is applied once the API recovers", () => {
  it("429 with Retry-After in seconds waits that long", async () => {
    sandbox.inject({ status: 429, headers: { "retry-after": "1" }, path: ACCOUNT });
    const started = Date.now();
    const r = await attempt(clientWith());
    expect(r.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(sandbox.requests.map((q) => q.status)).toEqual([429, 200]);
  });

  it("429 with Retry-After as an HTTP date, and 429 without Retry-After (backoff)", async () => {
    sandbox.inject({ status: 429, headers: { "retry-after": new Date(Date.now() + 1000).toUTCString() }, path: ACCOUNT });
    sandbox.inject({ status: 429, path: ACCOUNT });
    const r = await attempt(clientWith());
    expect(r.ok).toBe(true);
    expect(sandbox.requests.map((q) => q.status)).toEqual([429, 429, 200]);
  });

  it("500 then success", async () => {
    sandbox.inject({ status: 500, path: ACCOUNT, times: 2 });
    expect((await attempt(clientWith())).ok).toBe(true);
    expect(sandbox.requests.map((q) => q.status)).toEqual([500, 500, 200]);
    expect(sandbox.account("ca_rel")?.val.api_key).toBe(SECRET);
  });

  it("a connection reset mid-request", async () => {
    sandbox.inject({ reset: true, path: ACCOUNT });
    expect((await attempt(clientWith())).ok).toBe(true);
    expect(sandbox.requests.map((q) => q.status)).toEqual([undefined, 200]);
  });

  it("409 from a concurrent write holding the connection lease", async () => {
    sandbox.inject({ status: 409, path: ACCOUNT, body: { error: { message: "Connection is locked by another update", code: 613, slug: "ConnectedAccount_LeaseConflict", status: 409, request_id: "req_lease" } } });
    expect((await attempt(clientWith())).ok).toBe(true);
    expect(sandbox.requests.map((q) => q.status)).toEqual([409, 200]);
  });
});

describe("not retried: the user reads the API's own explanation", () => {
  it("409 duplicate alias names the clashing alias", async () => {
    const r = await attempt(clientWith(), { alias: "taken" });
    expect(r.ok).toBe(false);
    expect(sandbox.requests).toHaveLength(1);
    expect(r.text).toContain('Alias "taken" is already in use');
    expect(r.text).toMatch(/slug: ConnectedAccount_DuplicateAlias, HTTP 409, request_id: \S+/);
    expect(r.text).toContain("suggested fix:");
  });

  it("400 duplicate alias with suggested_fix (the variant seen in the wild)", async () => {
    sandbox.inject({ status: 400, path: ACCOUNT, body: { error: { message: 'Alias "x" is already in use by another connection for this entity', code: 600, slug: "ConnectedAccount_BadRequest", status: 400, request_id: "req_400dup", suggested_fix: "Choose a different alias" } } });
    const r = await attempt(clientWith(), { alias: "x" });
    expect(sandbox.requests).toHaveLength(1);
    expect(r.text).toBe([
      'Composio could not update connected account ca_rel: Alias "x" is already in use by another connection for this entity',
      "  slug: ConnectedAccount_BadRequest, HTTP 400, request_id: req_400dup",
      "  suggested fix: Choose a different alias",
    ].join("\n"));
  });

  it("404 for a deleted account", async () => {
    sandbox.inject({ status: 404, path: ACCOUNT, body: { error: { message: "Connected account not found", code: 601, slug: "ConnectedAccount_NotFound", status: 404, request_id: "req_gone" } } });
    const r = await attempt(clientWith());
    expect(sandbox.requests).toHaveLength(1);
    expect(r.text).toContain("slug: ConnectedAccount_NotFound, HTTP 404, request_id: req_gone");
    expect(r.text).toContain("the account does not exist or was deleted");
  });

  it("401 for a bad key, without echoing the key", async () => {
    const client = new ComposioClient(apiSettings(() => undefined, { COMPOSIO_API_KEY: "bad-key-Wq81", COMPOSIO_BASE_URL: sandbox.url }));
    const r = await attempt(client);
    expect(sandbox.requests).toHaveLength(1);
    expect(r.text).toMatch(/HTTP 401/);
    expect(r.text).toContain("check COMPOSIO_API_KEY: the key was refused");
    expect(r.text).not.toContain("bad-key-Wq81");
    const fromStack = new ComposioClient(apiSettings((k) => (k === "connected-accounts:apiKey" ? "bad-key-Wq81" : undefined), { COMPOSIO_BASE_URL: sandbox.url }));
    expect((await attempt(fromStack)).text).toContain("check stack config connected-accounts:apiKey: the key was refused");
  });
});

describe("bounded", () => {
  it("a hung server fails the request with a clear message instead of hanging", async () => {
    sandbox.inject({ delayMs: 5_000, path: ACCOUNT, times: 2 });
    const started = Date.now();
    const r = await attempt(clientWith({ requestTimeoutMs: "300", maxRetries: "1" }));
    expect(r.ok).toBe(false);
    expect(r.text).toMatch(/could not update connected account ca_rel at http:\/\/127\.0\.0\.1:\d+: no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it("429s beyond the retry budget end with the rate-limit message, read defensively", async () => {
    sandbox.inject({ status: 429, headers: { "retry-after": "0" }, path: ACCOUNT, times: 3 });
    const r = await attempt(clientWith({ maxRetries: "2" }));
    expect(r.ok).toBe(false);
    expect(sandbox.requests).toHaveLength(3);
    expect(r.text).toContain("Rate limit exceeded");
    expect(r.text).toContain("slug: HTTP_429, HTTP 429");
  });

  it("never runs more requests at once than maxConcurrency, across all callers", async () => {
    const client = clientWith({ maxConcurrency: "3" });
    sandbox.inject({ delayMs: 80, method: "PATCH", times: 12 });
    let peak = 0;
    const sampler = setInterval(() => {
      const open = sandbox.requests.filter((q) => q.status === undefined).length;
      peak = Math.max(peak, open);
    }, 5);
    try {
      await Promise.all(Array.from({ length: 12 }, (_, i) => client.patchConnectedAccount(`ca_bulk${i}`, { alias: `bulk-${i}` })));
    } finally {
      clearInterval(sampler);
      await client.close();
    }
    expect(sandbox.requests).toHaveLength(12);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(3);
  });

  it("starts each request's time budget when it may run, not while it waits its turn", async () => {
    // Each call may take 1.1 s in all; queued one behind the other, the eighth finishes after 1.6 s.
    const client = clientWith({ maxConcurrency: "1", requestTimeoutMs: "1000", retryBudgetMs: "100", maxRetries: "0" });
    sandbox.inject({ delayMs: 200, method: "PATCH", times: 8 });
    try {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => client.patchConnectedAccount(`ca_bulk${i}`, { alias: `queued-${i}` })));
      expect(results.map((r) => r.status)).toEqual(Array(8).fill("fulfilled"));
    } finally {
      await client.close();
    }
  });

  it("holds every request until the window reopens once X-RateLimit-Remaining reaches 0, and not longer", async () => {
    const pacer = new Pacer(2);
    const window = { "x-ratelimit": "100", "x-ratelimit-window-size": "1s" };
    pacer.observe({ ...window, "x-ratelimit-remaining": "3" });
    pacer.observe({ ...window, "x-ratelimit-remaining": "99" }); // a reset: the window starts now
    const resetAt = Date.now();
    pacer.observe({ ...window, "x-ratelimit-remaining": "0" });
    const woke = await Promise.all(Array.from({ length: 4 }, () => pacer.wait(Date.now() + 5_000).then(() => Date.now() - resetAt)));
    for (const t of woke) expect(t).toBeGreaterThanOrEqual(990);
    expect(Math.max(...woke)).toBeLessThan(1_300);
    const t = Date.now();
    await pacer.wait(Date.now() + 5_000);
    expect(Date.now() - t).toBeLessThan(20);
  });

  it("paces itself when X-RateLimit-Remaining runs low, so a burst finishes without failures", async () => {
    const limited = await startSandbox({
      apiKey: API_KEY,
      rateLimit: { requests: 10, windowMs: 1000 },
      accounts: Array.from({ length: 25 }, (_, i) => ({ id: `ca_p${i}`, toolkit: "github", userId: `u${i}`, authScheme: "API_KEY" as const })),
    });
    const client = new ComposioClient(apiSettings((k) => (k === "connected-accounts:retryBaseMs" ? "50" : undefined), { COMPOSIO_API_KEY: API_KEY, COMPOSIO_BASE_URL: limited.url }));
    try {
      const results = await Promise.allSettled(Array.from({ length: 25 }, (_, i) => client.patchConnectedAccount(`ca_p${i}`, { alias: `p-${i}` })));
      expect(results.filter((r) => r.status === "rejected")).toEqual([]);
      expect(limited.accounts().every((a) => a.alias === `p-${a.id.slice(4)}`)).toBe(true);
      const throttled = limited.requests.filter((q) => q.status === 429).length;
      expect(throttled).toBeLessThan(limited.requests.length / 2);
    } finally {
      await client.close();
      await limited.close();
    }
  });
});

describe("secrets on every failure path", () => {
  it("scrubs credential values and the API key from errors, even when the API echoes them", async () => {
    const texts: string[] = [];
    sandbox.inject({ status: 400, path: ACCOUNT, body: { error: { message: `invalid api_key ${SECRET} for key ${API_KEY}`, code: 600, slug: "ConnectedAccount_BadRequest", status: 400, errors: [`value ${SECRET} rejected`] } } });
    texts.push((await attempt(clientWith())).text);
    sandbox.inject({ status: 500, path: ACCOUNT, body: `<html>upstream echoed ${SECRET}</html>`, times: 2 });
    texts.push((await attempt(clientWith({ maxRetries: "1" }))).text);
    sandbox.inject({ reset: true, path: ACCOUNT, times: 2 });
    texts.push((await attempt(clientWith({ maxRetries: "1" }))).text);
    sandbox.inject({ delayMs: 2_000, path: ACCOUNT, times: 1 });
    texts.push((await attempt(clientWith({ requestTimeoutMs: "200", maxRetries: "0" }))).text);
    const pem = "-----BEGIN DEMO KEY-----\nline-one-Qz81\nline-two-Vb22\n-----END DEMO KEY-----";
    sandbox.inject({ status: 400, path: ACCOUNT, body: { error: { message: `could not parse private_key ${JSON.stringify(pem)}`, code: 600, slug: "ConnectedAccount_BadRequest", status: 400 } } });
    texts.push((await attempt(clientWith(), { connection: { state: { authScheme: "API_KEY", val: { private_key: pem } } } })).text);
    expect(texts[4]).toContain("could not parse private_key \"[secret]\"");
    expect(texts[4]).not.toContain("line-one-Qz81");
    expect(texts[0]).toContain("invalid api_key [secret] for key [secret]");
    expect(texts[1]).toContain("HTTP 500 without an error message (the answer is not shown: it may quote what was sent)");
    for (const t of texts) {
      expect(t).not.toContain(SECRET);
      expect(t).not.toContain(API_KEY);
    }
  });

  it("keeps failed accounts at their recorded state and retries exactly them, leaking nothing", async () => {
    const stack = new TestStack("reliability", sandbox.url);
    try {
      stack.env = { REL_KEY: "sk_first_value_0001" };
      stack.ws.write("rel.yaml", { id: "ca_rel", toolkit: "github", userId: "u", authScheme: "API_KEY", credentials: { api_key: { env: "REL_KEY" } } });
      stack.ws.write("bulk.yaml", { id: "ca_bulk1", toolkit: "github", userId: "u1", alias: "b1", authScheme: "API_KEY" });
      stack.config["connected-accounts:maxRetries"] = "1";
      expect((await stack.up()).ok).toBe(true);

      stack.env = { REL_KEY: SECRET };
      stack.ws.write("bulk.yaml", { id: "ca_bulk1", toolkit: "github", userId: "u1", alias: "b1-renamed", authScheme: "API_KEY" });
      sandbox.clearRequests();
      sandbox.inject({ status: 500, path: ACCOUNT, times: 2, body: { error: { message: `boom ${SECRET}`, code: 500, slug: "InternalServerError", status: 500, request_id: "req_boom" } } });
      const d = await stack.up();
      expect(d.ok).toBe(false);
      expect(d.steps.find((s) => s.name === "ca_rel")?.error).toContain("slug: InternalServerError, HTTP 500, request_id: req_boom");
      expect(d.steps.find((s) => s.name === "ca_bulk1")).toMatchObject({ op: "update" });
      expect(d.steps.find((s) => s.name === "ca_bulk1")?.error).toBeUndefined();

      sandbox.clearRequests();
      const again = await stack.up();
      expect(again.ok).toBe(true);
      expect(sandbox.requests.map((q) => [q.path, q.body])).toEqual([["/api/v3/connected_accounts/ca_rel", rotate]]);
      expect(stack.everythingPrinted()).not.toContain(SECRET);
      expect(stack.everythingPrinted()).not.toContain("sk_first_value_0001");
    } finally {
      stack.cleanup();
    }
  });
});
