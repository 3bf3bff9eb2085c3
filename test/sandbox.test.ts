/**
 * The sandbox over real HTTP on loopback: what a client of the Composio API (ours or a user's curl)
 * sees, and what reliability tests can make it do.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { maskBody } from "../provider/sandbox/request-log";
import { startSandbox, type Sandbox, type SandboxAccountSeed, type SandboxOptions } from "../provider/sandbox/server";

const KEY = "test-project-key-7f3a9c";
const projectRoot = process.cwd();

const started: Sandbox[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.close()));
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

async function sandbox(accounts: SandboxAccountSeed[], opts: Partial<SandboxOptions> = {}): Promise<Sandbox> {
  const sb = await startSandbox({ apiKey: KEY, accounts, ...opts });
  started.push(sb);
  return sb;
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sandbox-test-"));
  tempDirs.push(dir);
  return dir;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One request; `key: null` sends no key, `body` is sent as JSON unless it is a string. */
async function call(
  sb: Sandbox,
  method: "GET" | "PATCH" | "POST" | "DELETE",
  route: string,
  opts: { body?: unknown; key?: string | null; headers?: Record<string, string>; headersTimeout?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json", ...opts.headers };
  if (opts.key !== null) headers["x-api-key"] = opts.key ?? KEY;
  const res = await request(sb.url + route, {
    method,
    headers,
    body: opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body),
    headersTimeout: opts.headersTimeout,
  });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

const github = (id: string, extra: Partial<SandboxAccountSeed> = {}): SandboxAccountSeed => ({
  id, toolkit: "github", userId: "team-platform", authScheme: "BEARER_TOKEN", ...extra,
});

function expectEnvelope(reply: Reply, status: number, slug: string): void {
  expect(reply.status).toBe(status);
  expect(reply.json.error).toMatchObject({ status, slug });
  expect(typeof reply.json.error.message).toBe("string");
  expect(typeof reply.json.error.code).toBe("number");
  expect(reply.json.error.request_id).toMatch(/^req_[A-Za-z0-9_-]{8,}$/);
  expect(reply.headers["x-request-id"]).toBe(reply.json.error.request_id);
}

describe("authentication", () => {
  it("refuses a missing key, a wrong key and both key headers at once, each with a fresh request id", async () => {
    const sb = await sandbox([github("ca_a")]);
    const missing = await call(sb, "GET", "/api/v3/connected_accounts/ca_a", { key: null });
    expectEnvelope(missing, 401, "Unauthorized");
    expect(missing.json.error.message).toMatch(/missing api key/i);

    const wrong = await call(sb, "GET", "/api/v3/connected_accounts/ca_a", { key: "not-the-key" });
    expectEnvelope(wrong, 401, "Unauthorized");
    expect(wrong.text).not.toContain(KEY);

    const both = await call(sb, "GET", "/api/v3/connected_accounts/ca_a", { headers: { "x-user-api-key": KEY } });
    expectEnvelope(both, 401, "Unauthorized");
    expect(both.json.error.message).toMatch(/not both/);

    expect(new Set([missing, wrong, both].map((r) => r.json.error.request_id)).size).toBe(3);
  });

  it("accepts x-user-api-key for reads only", async () => {
    const sb = await sandbox([github("ca_a")]);
    const read = await call(sb, "GET", "/api/v3/connected_accounts/ca_a", { key: null, headers: { "x-user-api-key": KEY } });
    expect(read.status).toBe(200);
    const write = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { key: null, headers: { "x-user-api-key": KEY }, body: { alias: "x" } });
    expectEnvelope(write, 401, "Unauthorized");
    expect(sb.account("ca_a")?.alias).toBeNull();
  });
});

describe("PATCH /connected_accounts/{nanoid}", () => {
  it("changes the alias and the sent credentials only, and GET shows every value as REDACTED", async () => {
    const sb = await sandbox([github("ca_a", { val: { base_url: "https://api.github.com", token: "old-token-111" } })]);
    const before = sb.account("ca_a")!;
    const body = { alias: "platform-bot", connection: { state: { authScheme: "BEARER_TOKEN", val: { token: "new-token-222" } } } };
    const patched = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body });
    expect(patched.status).toBe(200);
    expect(patched.json).toEqual({ success: true, id: "ca_a", status: "ACTIVE" });
    expect(sb.requests.at(-1)?.body).toEqual(body);

    const stored = sb.account("ca_a")!;
    expect(stored.val).toEqual({ base_url: "https://api.github.com", token: "new-token-222" });
    expect(stored.alias).toBe("platform-bot");
    expect(Date.parse(stored.updatedAt)).toBeGreaterThan(Date.parse(before.updatedAt));

    const read = await call(sb, "GET", "/api/v3.1/connected_accounts/ca_a");
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({
      id: "ca_a", alias: "platform-bot", status: "ACTIVE", is_disabled: false, user_id: "team-platform",
      toolkit: { slug: "github" }, state: { authScheme: "BEARER_TOKEN", val: { base_url: "REDACTED", token: "REDACTED" } },
      created_at: before.createdAt, updated_at: stored.updatedAt,
    });
    expect(read.json.auth_config).toEqual({ id: expect.any(String), is_composio_managed: false, is_disabled: false });
    expect(read.text).not.toContain("new-token-222");
    expect(read.text).not.toContain("api.github.com");
  });

  it("removes a credential set to null and keeps the ones not sent", async () => {
    const sb = await sandbox([{ id: "ca_jira", toolkit: "jira", userId: "support", authScheme: "BASIC", val: { username: "a", password: "pw-1", subdomain: "acme" } }]);
    const reply = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_jira", {
      body: { connection: { state: { authScheme: "BASIC", val: { username: "b", password: null } } } },
    });
    expect(reply.status).toBe(200);
    expect(sb.account("ca_jira")?.val).toEqual({ username: "b", subdomain: "acme" });
    const read = await call(sb, "GET", "/api/v3/connected_accounts/ca_jira");
    expect(Object.keys(read.json.state.val).sort()).toEqual(["subdomain", "username"]);
  });

  it("refuses an authScheme other than the account's, changing nothing", async () => {
    const sb = await sandbox([github("ca_a", { val: { token: "t-1" } })]);
    const reply = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", {
      body: { alias: "renamed", connection: { state: { authScheme: "API_KEY", val: { api_key: "k" } } } },
    });
    expectEnvelope(reply, 400, "ConnectedAccount_BadRequest");
    expect(reply.json.error.code).toBeGreaterThanOrEqual(600);
    expect(reply.json.error.code).toBeLessThan(700);
    expect(reply.json.error.message).toContain("API_KEY");
    expect(reply.json.error.message).toContain("BEARER_TOKEN");
    expect(sb.account("ca_a")).toMatchObject({ alias: null, val: { token: "t-1" } });
  });

  it("refuses credentials for an OAUTH2 account but lets its alias change", async () => {
    const sb = await sandbox([{ id: "ca_slack", toolkit: "slack", userId: "team", authScheme: "OAUTH2" }]);
    const refused = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_slack", {
      body: { connection: { state: { authScheme: "OAUTH2", val: { access_token: "x" } } } },
    });
    expectEnvelope(refused, 400, "ConnectedAccount_BadRequest");
    expect(refused.json.error.message).toContain("OAUTH2");
    expect(sb.account("ca_slack")?.val).toEqual({});
    const alias = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_slack", { body: { alias: "main-workspace" } });
    expect(alias.status).toBe(200);
    expect(sb.account("ca_slack")?.alias).toBe("main-workspace");
  });

  it("keeps aliases unique per user and toolkit, and an empty alias frees it", async () => {
    const sb = await sandbox([
      github("ca_a", { alias: "main" }),
      github("ca_b"),
      { id: "ca_c", toolkit: "slack", userId: "team-platform", authScheme: "OAUTH2" },
      github("ca_d", { userId: "someone-else" }),
    ]);
    const taken = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_b", { body: { alias: "main" } });
    expectEnvelope(taken, 409, "ConnectedAccount_DuplicateAlias");
    expect(taken.json.error.message).toBe('Alias "main" is already in use by another connection for this entity');
    expect(taken.json.error.suggested_fix).toMatch(/alias/);
    expect(sb.account("ca_b")?.alias).toBeNull();

    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_c", { body: { alias: "main" } })).status).toBe(200);
    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_d", { body: { alias: "main" } })).status).toBe(200);
    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "main" } })).status).toBe(200);

    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "" } })).status).toBe(200);
    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).json.alias).toBeNull();
    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_b", { body: { alias: "main" } })).status).toBe(200);
  });

  it("answers 404 for an unknown account and 400 for malformed or mistyped bodies, changing nothing", async () => {
    const sb = await sandbox([github("ca_a", { val: { token: "t-1" } })]);
    expectEnvelope(await call(sb, "PATCH", "/api/v3/connected_accounts/ca_nope", { body: { alias: "x" } }), 404, "ConnectedAccount_NotFound");
    expectEnvelope(await call(sb, "GET", "/api/v3/connected_accounts/ca_nope"), 404, "ConnectedAccount_NotFound");

    const malformed = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: '{"alias": "x"' });
    expectEnvelope(malformed, 400, "ConnectedAccount_BadRequest");
    expect(malformed.json.error.message).toMatch(/not valid JSON/);

    const mistyped = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", {
      body: { alias: 5, connection: { state: { authScheme: "BEARER_TOKEN", val: { token: 7 } } } },
    });
    expectEnvelope(mistyped, 400, "ConnectedAccount_BadRequest");
    expect(mistyped.json.error.errors).toEqual(["alias must be a string, not a number", "connection.state.val.token must be a string or null, not a number"]);

    const misspelt = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { credentials: { token: "x" } } });
    expectEnvelope(misspelt, 400, "ConnectedAccount_BadRequest");
    expect(misspelt.json.error.message).toContain('unknown field "credentials"');

    expect(sb.account("ca_a")).toMatchObject({ alias: null, val: { token: "t-1" } });
    expectEnvelope(await call(sb, "GET", "/api/v3/toolkits"), 404, "NotFound");
  });
});

describe("GET /connected_accounts", () => {
  const fleet = (): SandboxAccountSeed[] => {
    const seeds = Array.from({ length: 45 }, (_, i): SandboxAccountSeed => ({
      id: `ca_${String(i).padStart(3, "0")}`,
      toolkit: ["github", "slack", "jira"][i % 3],
      userId: i < 10 ? "team-a" : "team-b",
      authScheme: "API_KEY",
      status: i % 5 === 0 ? "EXPIRED" : "ACTIVE",
    }));
    // Seeded out of order: the listing must sort by id itself.
    return seeds.reverse();
  };

  it("pages 45 accounts by 20 with a cursor: 3 pages, every id once, in id order", async () => {
    const sb = await sandbox(fleet());
    const seen: string[] = [];
    const pages: any[] = [];
    let cursor: string | null = null;
    do {
      const reply: Reply = await call(sb, "GET", `/api/v3/connected_accounts?limit=20${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(reply.status).toBe(200);
      pages.push(reply.json);
      seen.push(...reply.json.items.map((a: { id: string }) => a.id));
      cursor = reply.json.next_cursor;
    } while (cursor !== null && pages.length < 10);
    expect(pages.map((p) => p.items.length)).toEqual([20, 20, 5]);
    expect(pages.map((p) => p.current_page)).toEqual([1, 2, 3]);
    expect(pages.every((p) => p.total_pages === 3 && p.total_items === 45)).toBe(true);
    expect(seen).toEqual(Array.from({ length: 45 }, (_, i) => `ca_${String(i).padStart(3, "0")}`));
  });

  it("filters by toolkit, user and status, and uses 20 items per page by default", async () => {
    const sb = await sandbox(fleet());
    const all = await call(sb, "GET", "/api/v3/connected_accounts");
    expect(all.json.items).toHaveLength(20);
    expect(all.json.total_items).toBe(45);

    const filtered = await call(sb, "GET", "/api/v3.1/connected_accounts?toolkit_slugs=github,jira&user_ids=team-a&statuses=ACTIVE");
    const ids = filtered.json.items.map((a: { id: string }) => a.id);
    // team-a is 0..9; github i%3==0, jira i%3==2; ACTIVE excludes 0 and 5.
    expect(ids).toEqual(["ca_002", "ca_003", "ca_006", "ca_008", "ca_009"]);
    expect(filtered.json.next_cursor).toBeNull();
    expect(filtered.json.items[0]).toMatchObject({ toolkit: { slug: "jira" }, user_id: "team-a", status: "ACTIVE" });
  });

  it("refuses a limit above 1000 and a cursor it did not issue", async () => {
    const sb = await sandbox(fleet());
    expectEnvelope(await call(sb, "GET", "/api/v3/connected_accounts?limit=1001"), 400, "ConnectedAccount_BadRequest");
    expectEnvelope(await call(sb, "GET", "/api/v3/connected_accounts?cursor=garbage"), 400, "ConnectedAccount_BadRequest");
  });
});

describe("PATCH /connected_accounts/{nanoid}/status", () => {
  it("disables and enables an account", async () => {
    const sb = await sandbox([github("ca_a"), github("ca_b")]);
    const off = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a/status", { body: { enabled: false } });
    expect(off.status).toBe(200);
    expect(off.json).toEqual({ success: true });
    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).json).toMatchObject({ is_disabled: true, status: "INACTIVE" });
    const inactive = await call(sb, "GET", "/api/v3/connected_accounts?statuses=INACTIVE");
    expect(inactive.json.items.map((a: { id: string }) => a.id)).toEqual(["ca_a"]);

    await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a/status", { body: { enabled: true } });
    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).json).toMatchObject({ is_disabled: false, status: "ACTIVE" });
    expectEnvelope(await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a/status", { body: { enabled: "no" } }), 400, "ConnectedAccount_BadRequest");
  });

  it("leaves an EXPIRED or FAILED connection so: disabling and enabling only switch is_disabled", async () => {
    const sb = await sandbox([github("ca_x", { status: "EXPIRED" }), github("ca_f", { status: "FAILED" })]);
    for (const id of ["ca_x", "ca_f"]) {
      const status = id === "ca_x" ? "EXPIRED" : "FAILED";
      await call(sb, "PATCH", `/api/v3/connected_accounts/${id}/status`, { body: { enabled: false } });
      expect((await call(sb, "GET", `/api/v3/connected_accounts/${id}`)).json).toMatchObject({ is_disabled: true, status, status_reason: null });
      expect((await call(sb, "PATCH", `/api/v3/connected_accounts/${id}/status`, { body: { enabled: true } })).json).toEqual({ success: true });
      expect((await call(sb, "GET", `/api/v3/connected_accounts/${id}`)).json).toMatchObject({ is_disabled: false, status });
    }
  });

  it("answers 404 for an unknown account, 405 for another method, under /api/v3 and /api/v3.1", async () => {
    const sb = await sandbox([github("ca_a")]);
    expectEnvelope(await call(sb, "PATCH", "/api/v3/connected_accounts/ca_nope/status", { body: { enabled: false } }), 404, "ConnectedAccount_NotFound");
    expectEnvelope(await call(sb, "GET", "/api/v3/connected_accounts/ca_a/status"), 405, "MethodNotAllowed");
    expect((await call(sb, "PATCH", "/api/v3.1/connected_accounts/ca_a/status", { body: { enabled: false } })).json).toEqual({ success: true });
    expect(sb.account("ca_a")).toMatchObject({ isDisabled: true, status: "INACTIVE" });
  });
});

describe("persistence", () => {
  it("keeps changes across a restart and adds seeds that are new since", async () => {
    const dir = tempDir();
    const statePath = path.join(dir, "state.json");
    const first = await sandbox([github("ca_a")], { statePath });
    await call(first, "PATCH", "/api/v3/connected_accounts/ca_a", {
      body: { alias: "kept", connection: { state: { authScheme: "BEARER_TOKEN", val: { token: "persisted-token" } } } },
    });
    await first.close();
    expect(fs.readdirSync(dir)).toEqual(["state.json"]);
    expect(fs.statSync(statePath).mode & 0o777).toBe(0o600);

    const second = await sandbox([github("ca_a"), github("ca_new")], { statePath });
    expect(second.account("ca_a")).toMatchObject({ alias: "kept", val: { token: "persisted-token" } });
    expect((await call(second, "GET", "/api/v3/connected_accounts/ca_a")).json.alias).toBe("kept");
    expect(second.account("ca_new")).toBeDefined();
  });

  it("refuses to start from a state file that is not one, naming it", async () => {
    const statePath = path.join(tempDir(), "state.json");
    fs.writeFileSync(statePath, "{ not json");
    await expect(startSandbox({ apiKey: KEY, statePath })).rejects.toThrow(statePath);
  });
});

describe("rate limit", () => {
  it("answers 429 past the window's budget, with Retry-After and Composio's plain body", async () => {
    const sb = await sandbox([github("ca_a")], { rateLimit: { requests: 3, windowMs: 60_000 } });
    const remaining: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const reply = await call(sb, "GET", "/api/v3/connected_accounts/ca_a");
      expect(reply.status).toBe(200);
      expect(reply.headers["x-ratelimit"]).toBe("3");
      expect(reply.headers["x-ratelimit-window-size"]).toBe("60s");
      remaining.push(reply.headers["x-ratelimit-remaining"]);
    }
    expect(remaining).toEqual(["2", "1", "0"]);

    const limited = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "late" } });
    expect(limited.status).toBe(429);
    expect(Object.keys(limited.json)).toEqual(["message"]);
    expect(limited.json.message).toMatch(/^Rate limit exceeded\. /);
    const retryAfter = Number(limited.headers["retry-after"]);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
    expect(limited.headers["x-ratelimit-remaining"]).toBe("0");
    expect(sb.account("ca_a")?.alias).toBeNull();
  });

  it("opens a new window once the previous one ends", async () => {
    // A window long enough that two requests in a row land in it even on a loaded machine.
    const sb = await sandbox([github("ca_a")], { rateLimit: { requests: 1, windowMs: 2_000 } });
    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).status).toBe(200);
    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).status).toBe(429);
    await new Promise((r) => setTimeout(r, 2_200));
    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).status).toBe(200);
  });
});

describe("request log", () => {
  it("prints one line per request without secret values or the API key", async () => {
    const lines: string[] = [];
    const sb = await sandbox([{ id: "ca_jira", toolkit: "jira", userId: "support", authScheme: "BASIC" }], { log: (l) => lines.push(l) });
    const secrets = ["pw-SECRET-5b1d", "bot-user@example.com"];
    await call(sb, "PATCH", "/api/v3/connected_accounts/ca_jira", {
      body: { alias: "support", connection: { state: { authScheme: "BASIC", val: { password: secrets[0], username: secrets[1] } } } },
    });
    await call(sb, "PATCH", "/api/v3/connected_accounts/ca_jira", { body: `{"connection": {"password": "${secrets[0]}"` });
    await call(sb, "GET", `/api/v3/connected_accounts?user_ids=${KEY}`);
    await call(sb, "GET", "/api/v3/connected_accounts/ca_jira", { key: "wrong" });

    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^PATCH \/api\/v3\/connected_accounts\/ca_jira 200 \d+ms /);
    expect(lines[0]).toContain('alias="support"');
    expect(lines[0]).toContain("connection.state.val.password=***");
    expect(lines[0]).toContain("connection.state.val.username=***");
    expect(lines[1]).toMatch(/ 400 \d+ms \(\d+ bytes, not JSON\)$/);
    expect(lines[3]).toMatch(/^GET \/api\/v3\/connected_accounts\/ca_jira 401 /);
    for (const line of lines) {
      for (const secret of [...secrets, KEY]) expect(line).not.toContain(secret);
    }
  });

  it("prints a removal (null) as null, and masks every other value the same way in a body shown as JSON", async () => {
    const lines: string[] = [];
    const sb = await sandbox([{ id: "ca_jira", toolkit: "jira", userId: "support", authScheme: "BASIC" }], { log: (l) => lines.push(l) });
    const body = { connection: { state: { authScheme: "BASIC", val: { password: "pw-SECRET-77", proxy_password: null } } } };
    await call(sb, "PATCH", "/api/v3/connected_accounts/ca_jira", { body });
    expect(lines[0]).toMatch(/ connection\.state\.authScheme="BASIC" connection\.state\.val\.password=\*\*\* connection\.state\.val\.proxy_password=null$/);
    expect(maskBody(body)).toEqual({ connection: { state: { authScheme: "BASIC", val: { password: "***", proxy_password: null } } } });
    expect(maskBody({ alias: "support", extra: 42, list: ["a"] })).toEqual({ alias: "support", extra: "***", list: "***" });
  });
});

describe("fault injection", () => {
  it("answers an injected status for matching requests only, then behaves again", async () => {
    const sb = await sandbox([github("ca_a"), github("ca_b")]);
    sb.inject({ status: 503, times: 2, method: "PATCH", path: /ca_a/ });

    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).status).toBe(200);
    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_b", { body: { alias: "b" } })).status).toBe(200);
    const first = await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "a" } });
    expect(first.status).toBe(503);
    expect(first.json.error.status).toBe(503);
    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "a" } })).status).toBe(503);
    expect(sb.account("ca_a")?.alias).toBeNull();
    expect((await call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "a" } })).status).toBe(200);
    expect(sb.account("ca_a")?.alias).toBe("a");
    expect(sb.requests.map((r) => r.status)).toEqual([200, 200, 503, 503, 200]);
  });

  it("sends an injected body and headers as given", async () => {
    const sb = await sandbox([github("ca_a")]);
    sb.inject({ status: 502, body: "<html>bad gateway</html>", headers: { "retry-after": "0" } });
    const reply = await call(sb, "GET", "/api/v3/connected_accounts/ca_a");
    expect(reply.status).toBe(502);
    expect(reply.text).toBe("<html>bad gateway</html>");
    expect(reply.headers["retry-after"]).toBe("0");
  });

  it("drops the connection on a reset fault without applying the request", async () => {
    const sb = await sandbox([github("ca_a")]);
    sb.inject({ reset: true });
    await expect(call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "a" } })).rejects.toThrow();
    expect(sb.account("ca_a")?.alias).toBeNull();
    expect(sb.requests).toHaveLength(1);
    expect(sb.requests[0].status).toBeUndefined();
    expect((await call(sb, "GET", "/api/v3/connected_accounts/ca_a")).status).toBe(200);
  });

  it("answers late on a delay fault (past a client timeout), and close() does not wait for it", async () => {
    const sb = await sandbox([github("ca_a")]);
    sb.inject({ delayMs: 2_000 });
    await expect(call(sb, "PATCH", "/api/v3/connected_accounts/ca_a", { body: { alias: "slow" }, headersTimeout: 200 }))
      .rejects.toMatchObject({ code: "UND_ERR_HEADERS_TIMEOUT" });
    // The change was made; only its answer was late: exactly what makes a retry interesting.
    expect(sb.account("ca_a")?.alias).toBe("slow");

    sb.inject({ delayMs: 60_000 });
    const pending = call(sb, "GET", "/api/v3/connected_accounts/ca_a");
    const outcome = pending.then(() => "answered", () => "dropped");
    await waitFor(() => sb.requests.length === 2);
    const closed = await Promise.race([sb.close().then(() => "closed"), new Promise((r) => setTimeout(() => r("still open"), 1_000))]);
    expect(closed).toBe("closed");
    expect(await outcome).toBe("dropped");
  });
});

describe("seedFromAccountsDir", () => {
  it("seeds every valid account file of the project, ACTIVE and without alias", () => {
    const seeds = seedFromAccountsDir(path.join(projectRoot, "accounts"), projectRoot);
    const files = fs.readdirSync(path.join(projectRoot, "accounts"), { recursive: true }).filter((f) => String(f).endsWith(".yaml"));
    expect(seeds).toHaveLength(files.length);
    expect(seeds.find((s) => s.id === "ca_gh8x2kPq")).toEqual({ id: "ca_gh8x2kPq", toolkit: "github", userId: "team-platform", authScheme: "BEARER_TOKEN", status: "ACTIVE" });
    expect(seeds.every((s) => s.alias === undefined && s.status === "ACTIVE")).toBe(true);
  });

  it("leaves out files with problems", () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, "good.yaml"), "id: ca_good1\ntoolkit: github\nuserId: u\nauthScheme: BEARER_TOKEN\n");
    fs.writeFileSync(path.join(dir, "broken.yaml"), "id: [unclosed\n");
    fs.writeFileSync(path.join(dir, "literal-secret.yaml"), "id: ca_bad1\ntoolkit: github\nuserId: u\nauthScheme: BEARER_TOKEN\ncredentials:\n  token: ghp_literal\n");
    expect(seedFromAccountsDir(dir, dir).map((s) => s.id)).toEqual(["ca_good1"]);
  });
});

describe("connected-accounts sandbox (the command)", () => {
  const cli = path.join(projectRoot, "dist/provider/cli/main.js");

  function runCli(args: string[]): ChildProcessWithoutNullStreams {
    if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build first with npx tsc -p .`);
    return spawn(process.execPath, [cli, "sandbox", ...args], { cwd: projectRoot });
  }

  it("listens on the port it was given (0: a free one), logs requests and exits 0 on SIGTERM", async () => {
    const child = runCli(["--port", "0", "--api-key", "cli-test-key-42", "--rate-limit", "100"]);
    const out = collect(child);
    try {
      const listening = await out.waitFor(/sandbox listening on (http:\/\/127\.0\.0\.1:(\d+)) \(api key: cli-test-key-42, (\d+) accounts seeded\)/);
      const [, url, port, count] = listening;
      expect(Number(port)).toBeGreaterThan(0);
      expect(Number(count)).toBe(seedFromAccountsDir(path.join(projectRoot, "accounts"), projectRoot).length);

      const res = await request(`${url}/api/v3/connected_accounts`, { headers: { "x-api-key": "cli-test-key-42" } });
      const listed = (await res.body.json()) as { total_items: number };
      expect(res.statusCode).toBe(200);
      expect(listed.total_items).toBe(Number(count));
      expect(res.headers["x-ratelimit"]).toBe("100");
      await out.waitFor(/^GET \/api\/v3\/connected_accounts 200 \d+ms$/m);

      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("refuses a seed file it cannot use, naming the file, the line and the field", async () => {
    fs.mkdirSync(path.join(projectRoot, "test/.work"), { recursive: true });
    const dir = fs.mkdtempSync(path.join(projectRoot, "test/.work/seed-"));
    try {
      const file = path.join(dir, "seed.yaml");
      fs.writeFileSync(file, "accounts:\n  - id: ca_x\n    toolkit: notion\n    userId: u\n    authScheme: OAUTH3\n");
      const child = runCli(["--port", "0", "--seed", file]);
      const out = collect(child);
      const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
      expect(code).toBe(2);
      expect(out.stderr()).toMatch(/^connected-accounts sandbox: test\/\.work\/seed-\w+\/seed\.yaml:5 accounts\[0\]\.authScheme: unknown auth scheme "OAUTH3" \(use one of OAUTH2, /);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("seeds from --dir like validate and plan (--accounts is the same), and refuses both at once", async () => {
    fs.mkdirSync(path.join(projectRoot, "test/.work"), { recursive: true });
    const dir = fs.mkdtempSync(path.join(projectRoot, "test/.work/sandbox-dir-"));
    try {
      fs.writeFileSync(path.join(dir, "one.yaml"), "id: ca_dir1\ntoolkit: github\nuserId: u\nauthScheme: BEARER_TOKEN\n");
      for (const flag of ["--dir", "--accounts"]) {
        const child = runCli(["--port", "0", flag, dir]);
        const out = collect(child);
        try {
          await out.waitFor(/sandbox listening on http:\/\/127\.0\.0\.1:\d+ \(api key: sandbox-demo-key, 1 account seeded\)/);
        } finally {
          child.kill("SIGKILL");
        }
      }
      const both = runCli(["--port", "0", "--dir", dir, "--accounts", dir]);
      const out = collect(both);
      const code = await new Promise<number | null>((resolve) => both.once("exit", (c) => resolve(c)));
      expect(code).toBe(2);
      expect(out.stderr()).toMatch(/^connected-accounts sandbox: --accounts is another name for --dir: give one of them\n/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a bad flag with a message and exit code 2", async () => {
    const child = runCli(["--port", "eighty"]);
    const out = collect(child);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    expect(code).toBe(2);
    expect(out.stderr()).toContain('--port must be a whole number, not "eighty"');
  });
});

function collect(child: ChildProcessWithoutNullStreams) {
  let stdout = "";
  let stderr = "";
  let exited = false;
  const waiters: (() => void)[] = [];
  const wake = () => waiters.splice(0).forEach((w) => w());
  child.stdout.on("data", (d: Buffer) => ((stdout += d.toString()), wake()));
  child.stderr.on("data", (d: Buffer) => ((stderr += d.toString()), wake()));
  child.once("exit", () => ((exited = true), wake()));
  return {
    stderr: () => stderr,
    waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in output within ${timeoutMs} ms:\n${stdout}\n${stderr}`)), timeoutMs);
        const check = () => {
          const match = stdout.match(pattern);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          } else if (exited) {
            clearTimeout(timer);
            reject(new Error(`the command exited before printing ${pattern}:\n${stdout}\n${stderr}`));
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
  };
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
