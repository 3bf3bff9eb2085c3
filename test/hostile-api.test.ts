/**
 * The client against a hostile or broken API: a loopback server of the test's own
 * echoes secrets in every encoding, streams without end, pages forever and asks for absurd waits.
 * Each test asserts what a user would notice: the error text, the requests on the wire.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BatchedReader } from "../provider/composio/batched-reader";
import { Pacer } from "../provider/composio/transport/pacer";
import { scrub } from "../provider/composio/transport/scrub";
import type { PatchBody } from "../provider/plan/patch-plan";
import { startSandbox } from "../provider/sandbox/server";
import { GitRepo } from "./support/git-repo";
import { clientFor, HOSTILE_API_KEY, json, outcome, runCliAsync, startHostileApi, type HostileApi } from "./support/hostile-api";
import { API_KEY, TestStack } from "./support/stack";

const TOKEN = "tok<&>ünïcødé-Secret/42 x";
const SHORT = "q7z";
const USERNAME = "svc-reporting-bot";
const body: PatchBody = { connection: { state: { authScheme: "BASIC", val: { password: TOKEN, api_key: SHORT, username: USERNAME } } } };

/** The forms an echoing server writes, computed here independently of the code under test. */
function encodings(secret: string): string[] {
  const hex = (c: string) => [...c].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
  const goStyle = JSON.stringify(secret).replace(/[<>&]/g, hex).slice(1, -1);
  const pythonStyle = JSON.stringify(secret).replace(/[^\x00-\x7f]/g, hex).slice(1, -1);
  const b64 = (prefix: string) => Buffer.from(prefix + secret).toString("base64");
  return [secret, goStyle, pythonStyle, pythonStyle.replace(/\\u([0-9a-f]{4})/g, (_, h: string) => `\\u${h.toUpperCase()}`), encodeURIComponent(secret), encodeURIComponent(secret).replace(/%20/g, "+"), b64(""), b64("a"), b64("ab")];
}

let api: HostileApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

describe("secrets echoed back never reach the user", () => {
  it("a body without a string message is never printed: only the envelope's fields, scrubbed", async () => {
    api = await startHostileApi((req, res) => json(res, 400, { error: { message: { echoed: req.body }, slug: "BadRequest", request_id: "req_1" }, sent: req.body }));
    const text = await outcome(() => clientFor(api!.url).patchConnectedAccount("ca_echo", body));
    expect(text).toContain("Composio could not update connected account ca_echo: HTTP 400 without an error message (the answer is not shown: it may quote what was sent)");
    expect(text).toContain("slug: BadRequest, HTTP 400, request_id: req_1");
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(USERNAME);
    expect(text).not.toContain("echoed");
  });

  it("a plain-text body quoting the request is not printed either", async () => {
    api = await startHostileApi((req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end(`<html>bad gateway: ${req.body}</html>`);
    });
    const text = await outcome(() => clientFor(api!.url, { maxRetries: "0" }).patchConnectedAccount("ca_echo", body));
    expect(text).toContain("HTTP 502 without an error message");
    expect(text).not.toContain("bad gateway");
    expect(text).not.toContain(USERNAME);
  });

  it("JSON \\u escapes (Go and Python style), URL-encoding, base64 at any offset, an API-key prefix: all scrubbed from every field", async () => {
    const forms = [...encodings(TOKEN), ...encodings(USERNAME), HOSTILE_API_KEY.slice(0, 10)];
    api = await startHostileApi((_req, res) =>
      json(res, 400, {
        error: {
          message: `rejected values: ${forms.join(" | ")}`,
          slug: "Invalid",
          request_id: `req ${HOSTILE_API_KEY.slice(0, 10)}`,
          suggested_fix: `retry without ${encodings(TOKEN)[1]}`,
          errors: forms,
        },
      }),
    );
    const text = await outcome(() => clientFor(api!.url).patchConnectedAccount("ca_echo", body));
    expect(text).toMatch(/^Composio could not update connected account ca_echo: rejected values: \[secret\]/);
    for (const form of forms) expect(text, form).not.toContain(form);
    expect(text).not.toContain(HOSTILE_API_KEY.slice(0, 8));
    expect(text).toContain("suggested fix: retry without [secret]");
  });

  it("a secret shorter than 4 characters quoted back withholds the field that quotes it", async () => {
    api = await startHostileApi((_req, res) => json(res, 400, { error: { message: `api_key "${SHORT}" is not valid`, slug: "Invalid", request_id: "req_9" } }));
    const text = await outcome(() => clientFor(api!.url).patchConnectedAccount("ca_echo", body));
    expect(text).not.toContain(SHORT);
    expect(text).toContain("Composio could not update connected account ca_echo: [withheld: it quotes a secret]");
    expect(text).toContain("request_id: req_9");
  });

  for (const short of ["q7Z", "Zq4x", "K9", "é"]) {
    it(`a secret of ${[...short].length} character${short.length === 1 ? "" : "s"}, base64-encoded in the API's error (alone, or inside an encoded body), is scrubbed; the text around it is kept`, async () => {
      const encoded = Buffer.from(short).toString("base64");
      const wholeBody = Buffer.from(JSON.stringify({ api_key: short, region: "eu" })).toString("base64url");
      api = await startHostileApi((_req, res) =>
        json(res, 400, { error: { message: `api_key ${encoded} is not valid for ca_abcd (region eu, west)`, slug: "Invalid", request_id: "req_cTda", errors: [`request body: ${wholeBody}`] } }),
      );
      const keyed: PatchBody = { connection: { state: { authScheme: "API_KEY", val: { api_key: short, region: "eu" } } } };
      const text = await outcome(() => clientFor(api!.url).patchConnectedAccount("ca_short", keyed));
      expect(text).toContain("Composio could not update connected account ca_short: api_key [secret] is not valid for ca_abcd (region eu, west)");
      expect(text).toContain("  - request body: [secret]");
      // Text that merely contains an encoded form (req_cTda: part of a longer token) stays as it is.
      expect(text).toContain("request_id: req_cTda");
      expect(text).not.toMatch(new RegExp(`(^|[^A-Za-z0-9+/_-])${encoded.replace(/=+$/, "").replace(/[+/]/g, "\\$&")}`));
    });
  }

  it("short secrets found only by decoding whole base64 tokens leave ordinary text alone: the README scrubbed with each is unchanged", () => {
    const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
    for (const short of ["q7Z", "K9", "x9", "Zz1", "Qw"]) expect(scrub(readme, [short]) === readme, short).toBe(true);
  });

  it("a short value of a configuration field (region: eu) does not withhold the API's message", async () => {
    api = await startHostileApi((_req, res) => json(res, 400, { error: { message: "region eu is not enabled for this project", slug: "Invalid" } }));
    const regional: PatchBody = { connection: { state: { authScheme: "API_KEY", val: { region: "eu", api_key: TOKEN } } } };
    const text = await outcome(() => clientFor(api!.url).patchConnectedAccount("ca_eu", regional));
    expect(text).toContain("Composio could not update connected account ca_eu: region eu is not enabled for this project");
  });

  it("a base URL's user name and password are masked in errors", async () => {
    api = await startHostileApi((_req, res) => res.destroy());
    const url = api.url.replace("http://", "http://deploy-user:b4s3-pa55word@");
    const text = await outcome(() => clientFor(url, { maxRetries: "0" }).patchConnectedAccount("ca_echo", body));
    expect(text).toContain("could not update connected account ca_echo at http://***@127.0.0.1:");
    expect(text).not.toContain("b4s3-pa55word");
    expect(text).not.toContain("deploy-user");
  });
});

describe("response bodies are capped", () => {
  it("a 200 that streams forever fails that account with a clear error", async () => {
    let sent = 0;
    api = await startHostileApi((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, "a");
      const pump = () => {
        while (!res.destroyed && sent < 64 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      res.write('{"id":"');
      pump();
    });
    const text = await outcome(() => clientFor(api!.url).getConnectedAccount("ca_stream"));
    expect(text).toBe(`could not read connected account ca_stream at ${api.url}: the answer was larger than 1048576 bytes, far more than any answer to this request: is connected-accounts:baseUrl (or COMPOSIO_BASE_URL) the Composio API?`);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it("a huge error body fails the same way, with a Content-Length or without", async () => {
    for (const withLength of [true, false]) {
      api = await startHostileApi((_req, res) => {
        const big = Buffer.alloc(3 * 1024 * 1024, "e");
        res.writeHead(400, withLength ? { "content-length": String(big.length) } : {});
        res.end(big);
      });
      const text = await outcome(() => clientFor(api!.url).patchConnectedAccount("ca_big", body));
      expect(text).toMatch(/^could not update connected account ca_big at http:\/\/127\.0\.0\.1:\d+: the answer was larger than 1048576 bytes/);
      await api.close();
      api = undefined;
    }
  });
});

describe("a list that never ends", () => {
  const page = (req: { url: string }, next: (cursor: string | null) => string) => {
    const cursor = new URL(req.url, "http://x").searchParams.get("cursor");
    return { items: [{ id: `ca_${cursor ?? "first"}`, status: "ACTIVE", toolkit: { slug: "github" }, user_id: "u" }], next_cursor: next(cursor) };
  };

  it("a cursor that comes back ends the walk with an error, after one round", async () => {
    api = await startHostileApi((req, res) => json(res, 200, page(req, (c) => (c === "B" ? "A" : c === "A" ? "B" : "A"))));
    const text = await outcome(() => clientFor(api!.url).listAll({}));
    expect(text).toBe(`Composio's list of connected accounts does not end: cursor "A" came back after 3 pages; nothing was changed, try again later or report it to Composio`);
    expect(api.requests).toHaveLength(3);
  });

  it("endless fresh cursors stop at the page limit", async () => {
    api = await startHostileApi((req, res) => json(res, 200, page(req, (c) => `c${Number((c ?? "c0").slice(1)) + 1}`)));
    const text = await outcome(() => clientFor(api!.url).listAll({}));
    expect(text).toBe(`Composio's list of connected accounts did not end after 1000 pages (the limit); nothing was changed, narrow the request (filters, a larger page size) or report it to Composio`);
    expect(api.requests).toHaveLength(1000);
  });

  it("a refresh's batched read gives up on an endless list after a few pages and reads each account by itself", async () => {
    api = await startHostileApi((req, res) => {
      if (req.url.startsWith("/api/v3/connected_accounts?")) return json(res, 200, { items: [], next_cursor: `n${api!.requests.length}` });
      json(res, 200, { id: req.url.split("/").pop(), status: "ACTIVE", alias: "a", toolkit: { slug: "github" }, user_id: "u" });
    });
    const client = clientFor(api.url);
    const reader = new BatchedReader(client, 100, 5);
    const [a, b] = await Promise.all([reader.read("ca_one"), reader.read("ca_two")]);
    await client.close();
    expect([a?.id, b?.id]).toEqual(["ca_one", "ca_two"]);
    expect(api.requests.filter((r) => r.url.includes("?"))).toHaveLength(10);
    expect(api.requests).toHaveLength(12);
  });

  it("import stops with exit 1 and the error, instead of paging forever", async () => {
    api = await startHostileApi((req, res) => json(res, 200, page(req, () => "same")));
    const repo = new GitRepo("import-endless");
    try {
      repo.write("Pulumi.yaml", "name: connected-accounts\nruntime: nodejs\n");
      fs.mkdirSync(path.join(repo.dir, "accounts"));
      const r = await runCliAsync(["import"], { cwd: repo.dir, env: { COMPOSIO_API_KEY: HOSTILE_API_KEY, COMPOSIO_BASE_URL: api.url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`connected-accounts import: Composio's list of connected accounts does not end: cursor "same" came back after 2 pages; nothing was changed, try again later or report it to Composio\n`);
      expect(api.requests).toHaveLength(2);
    } finally {
      repo.cleanup();
    }
  });
});

describe("every wait inside the request's time budget; absurd values ignored", () => {
  const account = (id: string) => ({ id, status: "ACTIVE", toolkit: { slug: "github" }, user_id: "u" });
  /** Answers with the next headers of the script (the last one repeats). */
  const scripted = (script: Record<string, string>[]) =>
    startHostileApi((req, res) => json(res, 200, account("ca_w"), script[Math.min(api!.requests.length - 1, script.length - 1)]));
  const budget = { retryBudgetMs: "1000", requestTimeoutMs: "1000" };

  it("a 600 s window fails the request at once with a clear error instead of waiting past its 2 s budget", async () => {
    api = await scripted([{ "x-ratelimit-remaining": "0" }, { "x-ratelimit-remaining": "9" }, { "x-ratelimit-remaining": "0", "x-ratelimit-window-size": "600s" }]);
    const client = clientFor(api.url, budget);
    for (let i = 0; i < 3; i++) await client.getConnectedAccount("ca_w");
    const started = Date.now();
    const text = await outcome(() => client.getConnectedAccount("ca_w"));
    expect(Date.now() - started).toBeLessThan(500);
    expect(text).toBe("could not read connected account ca_w: the API's rate limit asks to wait 600 s, past this request's time budget (connected-accounts:retryBudgetMs); run again once the limit has reset");
    expect(api.requests).toHaveLength(3);
    await client.close();
  });

  it("a window of days is treated as absent: no wait at all", async () => {
    api = await scripted([{ "x-ratelimit-remaining": "0" }, { "x-ratelimit-remaining": "9" }, { "x-ratelimit-remaining": "0", "x-ratelimit-window-size": "172800s" }]);
    const client = clientFor(api.url, budget);
    const started = Date.now();
    for (let i = 0; i < 5; i++) await client.getConnectedAccount("ca_w");
    expect(Date.now() - started).toBeLessThan(500);
    expect(api.requests).toHaveLength(5);
    await client.close();
  });

  it("Retry-After: -30 is treated as absent: retries back off instead of hammering the API", async () => {
    let n = 0;
    api = await startHostileApi((_req, res) => (++n <= 3 ? json(res, 429, { error: { message: "slow down" } }, { "retry-after": "-30" }) : json(res, 200, { success: true, id: "ca_r", status: "ACTIVE" })));
    const client = clientFor(api.url, { retryBaseMs: "100" });
    expect(await outcome(() => client.patchConnectedAccount("ca_r", body))).toBe("ok");
    const gaps = api.requests.slice(1).map((r, i) => r.at - api!.requests[i].at);
    // Backoff steps of 100, 200, 400 ms, each waited at least half.
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    expect(gaps[2]).toBeGreaterThanOrEqual(195);
    await client.close();
  });

  it("an absurd Retry-After (years, or a date decades away) is treated as absent: the request still succeeds, soon", async () => {
    for (const retryAfter of ["999999999", new Date(Date.now() + 40 * 365 * 86_400_000).toUTCString()]) {
      let n = 0;
      api = await startHostileApi((_req, res) => (++n === 1 ? json(res, 429, { error: { message: "slow down" } }, { "retry-after": retryAfter }) : json(res, 200, { success: true, id: "ca_r", status: "ACTIVE" })));
      const client = clientFor(api.url);
      const started = Date.now();
      expect(await outcome(() => client.patchConnectedAccount("ca_r", body))).toBe("ok");
      expect(Date.now() - started).toBeLessThan(1_000);
      await client.close();
      await api.close();
      api = undefined;
    }
  });

  it("a retry that would start past the budget is not waited for: the user reads the 429 instead of a timeout", async () => {
    api = await startHostileApi((_req, res) => json(res, 429, { error: { message: "Rate limit exceeded", slug: "RateLimited" } }, { "retry-after": "1" }));
    const client = clientFor(api.url, budget);
    const started = Date.now();
    const text = await outcome(() => client.patchConnectedAccount("ca_r", body));
    // Waited once (1 s, inside the 2 s budget); a second wait would end past it, so it is not started.
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(text).toContain("Composio could not update connected account ca_r: Rate limit exceeded\n  slug: RateLimited, HTTP 429");
    expect(api.requests).toHaveLength(2);
    await client.close();
  });
});

describe("the pacer uses whichever rate-limit headers the API sends (throughput itself: npm run bench)", () => {
  it("no X-RateLimit headers: a 429's Retry-After holds every request, not only the refused one", () => {
    const pacer = new Pacer(8);
    pacer.observe({ "retry-after": "2" }, 429);
    expect(pacer.delayMs()).toBeGreaterThan(1_900);
    expect(pacer.delayMs(Date.now() + 2_100)).toBe(0);
  });

  it("only X-RateLimit-Remaining: the window is learned between two observed resets, and Remaining 0 holds requests until the next", () => {
    const pacer = new Pacer(2);
    const t0 = Date.now();
    pacer.observe({ "x-ratelimit-remaining": "0" });
    pacer.observe({ "x-ratelimit-remaining": "49" }); // reset seen
    pacer.observe({ "x-ratelimit-remaining": "0" });
    expect(pacer.delayMs()).toBe(0); // one reset: the window's length is not known yet
    const later = () => new Promise((resolve) => setTimeout(resolve, 30));
    return later().then(() => {
      pacer.observe({ "x-ratelimit-remaining": "48" }); // second reset, ~30 ms after the first
      pacer.observe({ "x-ratelimit-remaining": "0" });
      const held = pacer.delayMs();
      expect(held).toBeGreaterThan(0);
      expect(held).toBeLessThanOrEqual(Date.now() - t0 + 5);
    });
  });

  it("the sandbox sends exactly the chosen subset of headers", async () => {
    for (const headers of [[], ["X-RateLimit-Remaining"]] as const) {
      const limited = await startSandbox({ apiKey: "k", rateLimit: { requests: 5, windowMs: 1000, headers }, accounts: [{ id: "ca_h", toolkit: "github", userId: "u", authScheme: "API_KEY" }] });
      try {
        const res = await fetch(`${limited.url}/api/v3/connected_accounts/ca_h`, { headers: { "x-api-key": "k" } });
        const sent = [...res.headers.keys()].filter((h) => h.startsWith("x-ratelimit"));
        expect(sent).toEqual(headers.map((h) => h.toLowerCase()));
      } finally {
        await limited.close();
      }
    }
  });
});

describe("a 200 that is not the API's answer is not recorded as applied", () => {
  const KEY_1 = "sk_first_Pq83nVz2Lk";
  const KEY_2 = "sk_rotated_Wm51cTq8Rb";
  const file = () => ({ id: "ca_html", toolkit: "github", userId: "u", alias: "gh-html", authScheme: "API_KEY", credentials: { api_key: { env: "GH_KEY" } } });

  for (const [what, fault] of [
    ["an HTML page", { status: 200, body: "<html><body>Please sign in</body></html>", headers: { "content-type": "text/html" } }],
    ["JSON without success: true", { status: 200, body: { id: "ca_html", status: "ACTIVE" } }],
  ] as const) {
    it(`${what}: the account fails naming it, the rotated key is not recorded, and the next up sends it again`, async () => {
      const sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_html", toolkit: "github", userId: "u", authScheme: "API_KEY" }] });
      const stack = new TestStack("html-200", sandbox.url);
      try {
        stack.env = { GH_KEY: KEY_1 };
        stack.ws.write("github/html.yaml", file());
        expect((await stack.up()).ok).toBe(true);
        const fingerprints = () => stack.engine.state.read().resources.find((r) => r.name === "ca_html")?.outputs.fingerprints;
        const recorded = fingerprints();
        expect(recorded).toHaveProperty("api_key");

        stack.env = { GH_KEY: KEY_2 };
        sandbox.inject({ ...fault, method: "PATCH" });
        sandbox.clearRequests();
        const intercepted = await stack.up();
        expect(intercepted.ok).toBe(false);
        const step = intercepted.steps.find((s) => s.name === "ca_html")!;
        expect(step.error).toContain("connected account ca_html is not the API's: HTTP 200 with");
        expect(step.error).toContain("Nothing is recorded as applied: the next run sends the change again.");
        expect(sandbox.requests.filter((r) => r.method === "PATCH")).toHaveLength(1);
        expect(sandbox.account("ca_html")?.val.api_key).toBe(KEY_1);
        // The state still holds the old key's fingerprint: nothing of the rotation was recorded.
        expect(fingerprints()).toEqual(recorded);

        sandbox.clearRequests();
        const retried = await stack.up();
        expect(retried.ok).toBe(true);
        expect(sandbox.requests.filter((r) => r.method === "PATCH").map((r) => r.body)).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_2 } } } }]);
        expect(sandbox.account("ca_html")?.val.api_key).toBe(KEY_2);
      } finally {
        stack.cleanup();
        await sandbox.close();
      }
    });
  }

  it("a read answered with a non-JSON 200 fails the account the same way", async () => {
    api = await startHostileApi((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>portal</html>");
    });
    const text = await outcome(() => clientFor(api!.url).getConnectedAccount("ca_portal"));
    expect(text).toBe("Composio's answer to the read of connected account ca_portal is not the API's: HTTP 200 with a body that is not a JSON object (content-type text/html, 19 bytes). Is connected-accounts:baseUrl (or COMPOSIO_BASE_URL) the Composio API, not a proxy or login page?");
  });
});

describe("Retry-After: 0 on every 429 and 503", () => {
  const refuse = (status: number) => (_req: unknown, res: import("node:http").ServerResponse) => json(res, status, { error: { message: "slow down" } }, { "retry-after": "0" });

  it("40 accounts: each retries its budget and no more, no sooner than the minimum backoff, in bounded time", async () => {
    api = await startHostileApi(refuse(429));
    const client = clientFor(api.url, { retryBaseMs: "40", maxRetries: "3" });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => outcome(() => client.patchConnectedAccount(`ca_z${i}`, body))));
    expect(Date.now() - started).toBeLessThan(10_000);
    await client.close();
    expect(results.every((r) => r.includes("Composio could not update connected account ca_z") && r.includes("HTTP 429"))).toBe(true);
    expect(api.requests).toHaveLength(40 * 4);
    for (let i = 0; i < 40; i++) {
      const at = api.requests.filter((r) => r.url.endsWith(`/ca_z${i}`)).map((r) => r.at);
      expect(at).toHaveLength(4);
      // Steps of 40, 80, 160 ms, each waited at least half (a little less for the clock's grain).
      expect(at.slice(1).map((t, k) => t - at[k] >= [20, 40, 80][k] - 3)).toEqual([true, true, true]);
    }
  });

  it("the shared gate holds: a 503 with Retry-After: 0 makes the next account's request wait too", async () => {
    api = await startHostileApi((req, res) => (req.url.endsWith("/ca_first") ? refuse(503)(req, res) : json(res, 200, { success: true, id: "ca_next", status: "ACTIVE" })));
    const client = clientFor(api.url, { retryBaseMs: "200", maxRetries: "0" });
    expect(await outcome(() => client.patchConnectedAccount("ca_first", body))).toContain("HTTP 503");
    expect(await outcome(() => client.patchConnectedAccount("ca_next", body))).toBe("ok");
    await client.close();
    const [first, next] = api.requests;
    expect(next.url).toMatch(/ca_next$/);
    expect(next.at - first.at).toBeGreaterThanOrEqual(95);
  });
});

describe("strings from the API are escaped in every output", () => {
  const HOSTILE = "\u001b[2J\u001b[31mACTIVE\u001b]8;;https://evil.example\u0007";
  const ESCAPED = "\\x1b[2J\\x1b[31mACTIVE\\x1b]8;;https://evil.example\\x07";

  it("a status holding escape sequences reaches no output raw: not the state, the log, nor fleet.byStatus's keys", async () => {
    const sandbox = await startSandbox({
      apiKey: API_KEY,
      accounts: [
        { id: "ca_esc", toolkit: "github", userId: "u", authScheme: "API_KEY", status: HOSTILE },
        { id: "ca_obs", toolkit: "github", userId: "u", authScheme: "API_KEY", status: HOSTILE, alias: `obs${HOSTILE}` },
      ],
    });
    const stack = new TestStack("escape-status", sandbox.url);
    try {
      stack.env = { GH_KEY: "sk_escape_Tq82mZ0pLw" };
      stack.ws.write("github/esc.yaml", { id: "ca_esc", toolkit: "github", userId: "u", alias: "gh-esc", authScheme: "API_KEY", credentials: { api_key: { env: "GH_KEY" } } });
      stack.ws.write("github/obs.yaml", { id: "ca_obs", toolkit: "github", userId: "u", authScheme: "API_KEY", manage: "observe" });
      const up = await stack.up();
      expect(up.ok, up.programError).toBe(true);
      const refreshed = await stack.refresh();
      expect(refreshed.ok).toBe(true);
      const again = await stack.up();
      const fleet = again.outputs?.fleet as { byStatus: Record<string, number>; notActive: { status: string }[] };
      expect(Object.keys(fleet.byStatus)).toEqual([ESCAPED]);
      expect(fleet.notActive.map((a) => a.status)).toEqual([ESCAPED, ESCAPED]);
      const recorded = stack.engine.state.read().resources.filter((r) => r.name.startsWith("ca_")).map((r) => [r.name, r.outputs.status, r.outputs.alias]);
      expect(recorded).toEqual([["ca_esc", ESCAPED, "gh-esc"], ["ca_obs", ESCAPED, `obs${ESCAPED}`]]);
      const everything = [stack.everythingPrinted(), JSON.stringify(stack.engine.state.read())].join("\n");
      expect(everything).not.toContain("\u001b");
      expect(everything).not.toContain("\\u001b");
    } finally {
      stack.cleanup();
      await sandbox.close();
    }
  });

  it("an error's message, slug, request id and suggested fix are escaped too", async () => {
    api = await startHostileApi((_req, res) => json(res, 400, { error: { message: `bad\u001b[2Jthing`, slug: "Bad\u001b]0;x\u0007", request_id: "req\u009b1", suggested_fix: "fix\u202eit", errors: ["e\rforged line"] } }));
    const text = await outcome(() => clientFor(api!.url).patchConnectedAccount("ca_echo", body));
    expect(text).toContain("Composio could not update connected account ca_echo: bad\\x1b[2Jthing");
    expect(text).toContain("slug: Bad\\x1b]0;x\\x07, HTTP 400, request_id: req\\x9b1");
    expect(text).toContain("suggested fix: fix\\u202eit");
    expect(text).toContain("  - e\\x0dforged line");
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
  });
});

describe("an answer about another account fails that account's check", () => {
  const answer = (id: string) => ({ id, status: "ACTIVE", alias: "a", toolkit: { slug: "github" }, user_id: "u", state: { authScheme: "API_KEY", val: {} } });

  for (const other of ["ca_SOMEONE_ELSES", "CA_H1"]) {
    it(`GET …/ca_h1 answered with ${other}: the preview fails that account, naming both ids, and nothing is sent`, async () => {
      api = await startHostileApi((req, res) => json(res, 200, req.url.includes("?") ? { items: [answer(other)], next_cursor: null } : answer(other)));
      const stack = new TestStack("another-account", api.url);
      try {
        stack.env = { GH_KEY: "sk_another_account_Lw82" };
        stack.ws.write("github/h1.yaml", { id: "ca_h1", toolkit: "github", userId: "u", authScheme: "API_KEY", credentials: { api_key: { env: "GH_KEY" } } });
        const preview = await stack.preview();
        expect(preview.ok).toBe(false);
        expect(preview.steps.find((s) => s.name === "ca_h1")?.error).toContain(
          `cannot check the account before adopting it: Composio answered GET /api/v3/connected_accounts/ca_h1 with the account ${other}, not ca_h1; that answer is not used and nothing is sent to either account.`,
        );
        const up = await stack.up();
        expect(up.ok).toBe(false);
        expect(api.requests.filter((r) => r.method !== "GET")).toEqual([]);
      } finally {
        stack.cleanup();
      }
    });
  }

  it("a list answer that carries other ids is not taken for the accounts asked for: each is read by itself, and fails", async () => {
    api = await startHostileApi((req, res) => {
      if (req.url.includes("?")) return json(res, 200, { items: [answer("CA_L1"), answer("ca_l2x")], next_cursor: null });
      json(res, 200, answer(req.url.endsWith("/ca_l1") ? "CA_L1" : "ca_l2x"));
    });
    const stack = new TestStack("another-account-list", api.url);
    try {
      for (const id of ["ca_l1", "ca_l2"]) stack.ws.write(`github/${id}.yaml`, { id, toolkit: "github", userId: "u", authScheme: "OAUTH2" });
      const preview = await stack.preview();
      expect(preview.ok).toBe(false);
      // The first Check read ahead with one list call for both; neither answer is taken for the id
      // asked, so each is read by itself: the failed Check's own, then the pass that names every problem.
      expect(api.requests[0].url).toMatch(/^\/api\/v3\/connected_accounts\?.*connected_account_ids=ca_l1%2Cca_l2/);
      expect(api.requests.slice(1).map((r) => r.url).sort()).toEqual(["/api/v3/connected_accounts/ca_l1", "/api/v3/connected_accounts/ca_l2"]);
      const failed = preview.steps.map((s) => s.error ?? "").join("\n");
      expect(failed).toContain("with the account CA_L1, not ca_l1");
      expect(failed).toContain("with the account ca_l2x, not ca_l2");
      const up = await stack.up();
      const errors = Object.fromEntries(up.steps.map((s) => [s.name, s.error ?? ""]));
      expect(errors.ca_l1).toContain("with the account CA_L1, not ca_l1");
      expect(errors.ca_l2).toContain("with the account ca_l2x, not ca_l2");
      expect(api.requests.map((r) => r.method)).not.toContain("PATCH");
    } finally {
      stack.cleanup();
    }
  });
});
