/**
 * End to end through the engine-faithful harness: the real program, the real dynamic-provider
 * server in its own process, the loopback sandbox API. Each test plays deployments like a user
 * running `pulumi preview` / `pulumi up` and asserts what goes over the wire and what they read.
 */
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";
import { PROJECT_ROOT } from "../support/workspace";

const KEY_1 = "sk_first_6FqL2nP0aZ";
const KEY_2 = "sk_rotated_Hh81dMwq3";
const TOKEN = "tok_config_Xy7Bc90Lk";

let sandbox: Sandbox;
let stack: TestStack;

beforeAll(async () => {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    accounts: [
      { id: "ca_seq1", toolkit: "github", userId: "team", authScheme: "API_KEY" },
      { id: "ca_two", toolkit: "github", userId: "team", authScheme: "API_KEY" },
      { id: "ca_taken", toolkit: "github", userId: "team", authScheme: "API_KEY", alias: "already-taken" },
      { id: "ca_oauth", toolkit: "slack", userId: "team", authScheme: "OAUTH2" },
    ],
  });
});
afterAll(async () => sandbox.close());

beforeEach(() => {
  stack = new TestStack("deploy", sandbox.url);
  stack.setSecretConfig("ghToken", TOKEN);
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

const account = (over: Record<string, unknown> = {}) => ({
  id: "ca_seq1",
  toolkit: "github",
  userId: "team",
  alias: "gh-prod",
  authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme", token: { config: "ghToken" } },
  ...over,
});
const patches = () => sandbox.requests.filter((r) => r.method === "PATCH").map((r) => ({ path: r.path, body: r.body }));

describe("a sequence of deployments", () => {
  it("adopts, renames, rotates, removes, idles, releases and re-adopts with minimal PATCHes", async () => {
    stack.env = { GH_KEY: KEY_1 };
    stack.ws.write("github/seq.yaml", account());

    // 1. Adopt: the account exists remotely; everything declared is applied once.
    let d = await stack.preview();
    expect(d.ok).toBe(true);
    expect(d.summary).toMatchObject({ create: 1, update: 0, same: 0, delete: 0 });
    // The preview reads the account it adopts (is it the one the file describes?), and writes nothing.
    expect(sandbox.requests.map((r) => [r.method, r.path])).toEqual([["GET", "/api/v3/connected_accounts/ca_seq1"]]);
    sandbox.clearRequests();
    d = await stack.up();
    expect(d.steps.map((s) => [s.name, s.op, s.error])).toEqual([["ca_seq1", "create", undefined]]);
    expect(patches()).toEqual([{
      path: "/api/v3/connected_accounts/ca_seq1",
      body: { alias: "gh-prod", connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_1, subdomain: "acme", token: TOKEN } } } },
    }]);
    const patch = sandbox.requests.find((r) => r.method === "PATCH")!;
    expect(patch.headers["x-api-key"]).toBe(API_KEY);
    expect(patch.headers["content-type"]).toBe("application/json");
    expect(sandbox.account("ca_seq1")).toMatchObject({ alias: "gh-prod" });

    // 2. Rename: the preview shows the alias in clear; the PATCH carries only the alias.
    sandbox.clearRequests();
    stack.ws.write("github/seq.yaml", account({ alias: "gh-primary" }));
    d = await stack.preview();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(d.steps[0].diff).toEqual([{ path: "alias", kind: "update", from: '"gh-prod"', to: '"gh-primary"' }]);
    d = await stack.up();
    expect(patches()).toEqual([{ path: "/api/v3/connected_accounts/ca_seq1", body: { alias: "gh-primary" } }]);

    // 3. Rotate one key: the reviewer sees which key changed (fingerprint), never its value.
    sandbox.clearRequests();
    stack.env = { GH_KEY: KEY_2 };
    d = await stack.preview();
    expect(d.steps[0].op).toBe("update");
    // The reference itself is unchanged: only the fingerprint Check computed from the value read moves.
    expect(d.steps[0].diff.map((p) => [p.path, p.kind, p.from === "[secret]"])).toEqual([["fingerprints.api_key", "update", false]]);
    d = await stack.up();
    expect(patches()).toEqual([{ path: "/api/v3/connected_accounts/ca_seq1", body: { connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_2 } } } } }]);
    expect(sandbox.account("ca_seq1")?.val).toMatchObject({ api_key: KEY_2, token: TOKEN });

    // 4. Remove a key from the file: sent as null once.
    sandbox.clearRequests();
    stack.ws.write("github/seq.yaml", account({ alias: "gh-primary", credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme" } }));
    d = await stack.preview();
    expect(d.steps[0].diff.map((p) => `${p.kind} ${p.path}`)).toEqual(["delete credentials.token.config", "delete fingerprints.token"]);
    d = await stack.up();
    expect(patches()).toEqual([{ path: "/api/v3/connected_accounts/ca_seq1", body: { connection: { state: { authScheme: "API_KEY", val: { token: null } } } } }]);
    expect(sandbox.account("ca_seq1")?.val).not.toHaveProperty("token");

    // 5. No change: no request at all.
    sandbox.clearRequests();
    d = await stack.preview();
    expect(d.summary).toMatchObject({ same: 1, update: 0 });
    d = await stack.up();
    expect(d.summary).toMatchObject({ same: 1, update: 0, create: 0 });
    expect(sandbox.requests).toHaveLength(0);

    // 6. Delete the file: stop managing; the account stays and nothing is sent.
    stack.ws.remove("github/seq.yaml");
    d = await stack.up();
    expect(d.steps.map((s) => [s.name, s.op, s.error])).toEqual([["ca_seq1", "delete", undefined]]);
    expect(sandbox.requests).toHaveLength(0);
    expect(sandbox.account("ca_seq1")).toBeDefined();
    expect(JSON.parse(stack.stateText()).resources).toEqual([]);

    // 7. Re-adopt: with no recorded state, everything declared is applied again.
    stack.ws.write("github/seq.yaml", account({ alias: "gh-primary" }));
    d = await stack.up();
    expect(d.summary).toMatchObject({ create: 1 });
    expect(patches()).toEqual([{
      path: "/api/v3/connected_accounts/ca_seq1",
      body: { alias: "gh-primary", connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_2, subdomain: "acme", token: TOKEN } } } },
    }]);

    // Nothing a user, a log reader or a state-file reader sees holds a secret.
    for (const secret of [KEY_1, KEY_2, TOKEN, API_KEY]) expect(stack.everythingPrinted()).not.toContain(secret);
  });

  it("manages only the alias of an OAuth account", async () => {
    stack.ws.write("slack.yaml", { id: "ca_oauth", toolkit: "slack", userId: "team", alias: "slack-main", authScheme: "OAUTH2" });
    await stack.up();
    expect(patches()).toEqual([{ path: "/api/v3/connected_accounts/ca_oauth", body: { alias: "slack-main" } }]);
    expect(sandbox.requests.map((r) => r.method)).toEqual(["GET", "PATCH"]);
  });
});

describe("what a user reads when something is wrong", () => {
  it("stops before any request when a file is invalid, naming file, line and field", async () => {
    stack.env = { GH_KEY: KEY_1 };
    stack.ws.write("bad.yaml", account({ credentials: { api_key: "sk_literal_in_git_123" } }));
    stack.ws.write("good.yaml", account({ id: "ca_two", alias: "fine" }));
    const d = await stack.up();
    expect(d.ok).toBe(false);
    expect(d.programError).toContain("1 problem in the account files; nothing was sent to Composio.");
    expect(d.programError).toMatch(/accounts\/bad\.yaml:7:3 credentials\.api_key: "api_key" is a literal secret/);
    expect(sandbox.requests).toHaveLength(0);
    expect(stack.stateText()).toBe("");
  });

  it("reports every unresolvable reference at once", async () => {
    stack.ws.write("a.yaml", account({ credentials: { api_key: { env: "NOT_SET_ANYWHERE" }, token: { config: "nope" } } }));
    const d = await stack.up();
    expect(d.programError).toContain("environment variable NOT_SET_ANYWHERE is not set");
    expect(d.programError).toContain("stack config connected-accounts:nope is not set");
    expect(sandbox.requests).toHaveLength(0);
  });

  it("shows the API's slug, message, request_id and suggested fix, and applies the other accounts", async () => {
    stack.env = { GH_KEY: KEY_1 };
    stack.ws.write("clash.yaml", account({ alias: "already-taken" }));
    stack.ws.write("fine.yaml", account({ id: "ca_two", alias: "fine-alias", credentials: { api_key: { env: "GH_KEY" } } }));
    const d = await stack.up();
    expect(d.ok).toBe(false);
    const failed = d.steps.find((s) => s.name === "ca_seq1")!;
    expect(failed.error).toContain("Composio could not update connected account ca_seq1");
    expect(failed.error).toContain('Alias "already-taken" is already in use');
    expect(failed.error).toMatch(/slug: ConnectedAccount_DuplicateAlias, HTTP 409, request_id: \S+/);
    expect(failed.error).toContain("suggested fix:");
    expect(d.steps.find((s) => s.name === "ca_two")?.error).toBeUndefined();
    expect(d.steps.find((s) => s.name === "ca_two")?.op).toBe("create");
    const recorded = JSON.parse(stack.stateText()).resources.map((r: { id: string }) => r.id);
    expect(recorded).toEqual(["ca_two"]);
    expect(stack.everythingPrinted()).not.toContain(KEY_1);

    // The next deployment retries exactly the failed account.
    sandbox.clearRequests();
    stack.ws.write("clash.yaml", account({ alias: "now-unique" }));
    const again = await stack.up();
    expect(again.ok).toBe(true);
    expect(again.summary).toMatchObject({ create: 1, same: 1 });
    expect(patches().map((p) => p.path)).toEqual(["/api/v3/connected_accounts/ca_seq1"]);
  });

  it("refuses to change the auth scheme of a managed account, without a request", async () => {
    stack.env = { GH_KEY: KEY_1 };
    stack.ws.write("a.yaml", account());
    await stack.up();
    sandbox.clearRequests();
    stack.ws.write("a.yaml", account({ authScheme: "BEARER_TOKEN" }));
    const d = await stack.preview();
    expect(d.steps[0].error).toContain("authScheme: connected account ca_seq1: authScheme cannot change from API_KEY to BEARER_TOKEN");
    expect(sandbox.requests).toHaveLength(0);
  });

  it("checks an alias-only adoption against the account Composio has, before writing anything", async () => {
    stack.ws.write("slack.yaml", { id: "ca_oauth", toolkit: "slack", userId: "someone-else", alias: "slack-main", authScheme: "BEARER_TOKEN" });
    const d = await stack.up();
    const shown = path.relative(PROJECT_ROOT, path.join(stack.ws.accountsDir, "slack.yaml"));
    expect(d.steps[0].error).toBe(
      `${shown}:5:1 authScheme: connected account ca_oauth has authScheme OAUTH2 in Composio, not BEARER_TOKEN; nothing is sent to it.\n` +
        "    fix: set authScheme: OAUTH2 (Composio keeps the scheme an account was connected with), or point the file at the account you meant\n" +
        `${shown}:3:1 userId: connected account ca_oauth has userId team in Composio, not someone-else; nothing is sent to it.\n` +
        "    fix: set userId: team (an account belongs to one user), or point the file at the account you meant",
    );
    expect(sandbox.requests.map((r) => r.method)).toEqual(["GET"]);
    expect(stack.stateText()).not.toContain("ca_oauth");
  });

  it("reports a refused API key without echoing it", async () => {
    stack.config["connected-accounts:apiKey"] = "wrong-key-Zz81Lq";
    stack.ws.write("a.yaml", account({ credentials: undefined }));
    const d = await stack.up();
    expect(d.steps[0].error).toMatch(/HTTP 401/);
    expect(d.steps[0].error).toContain("check stack config connected-accounts:apiKey: the key was refused");
    expect(stack.everythingPrinted()).not.toContain("wrong-key-Zz81Lq");
  });
});

describe("the provider module recorded in the state", () => {
  it("carries no secret, and a fresh provider process runs it for a no-op and for a release, which sends nothing", async () => {
    stack.env = { GH_KEY: KEY_1 };
    stack.ws.write("a.yaml", account());
    await stack.up();
    const [resource] = JSON.parse(stack.stateText()).resources;
    const provider: string = resource.inputs.__provider;
    expect(provider).toContain("exports.handler");
    for (const secret of [KEY_1, TOKEN, API_KEY]) expect(provider).not.toContain(secret);
    // A new provider process loads the recorded module for a refresh-less no-op and for a release.
    sandbox.clearRequests();
    expect((await stack.up()).summary).toMatchObject({ same: 1 });
    stack.ws.remove("a.yaml");
    const released = await stack.up();
    expect(released.steps[0].error).toBeUndefined();
    expect(released.steps[0].op).toBe("delete");
    expect(sandbox.requests).toHaveLength(0);
  });
});
