/**
 * Drift and adoption through the harness: accounts changed behind git's back, accounts gone,
 * accounts only observed or paused, and refreshes of many accounts in few requests.
 */
import { request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { API_KEY, TestStack } from "./support/stack";

const KEY = "sk_drift_Gq72Lw0pX";
let sandbox: Sandbox;
let stack: TestStack;

const seeds = Array.from({ length: 30 }, (_, i) => ({ id: `ca_fleet${String(i).padStart(2, "0")}`, toolkit: i % 2 ? "github" : "jira", userId: "team", authScheme: "API_KEY" as const }));

beforeAll(async () => {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    accounts: [
      { id: "ca_drift", toolkit: "github", userId: "team", authScheme: "API_KEY" },
      { id: "ca_gone", toolkit: "github", userId: "team", authScheme: "API_KEY" },
      { id: "ca_seen", toolkit: "slack", userId: "team", authScheme: "OAUTH2", alias: "slack-as-is" },
      ...seeds,
    ],
  });
});
afterAll(async () => sandbox.close());
beforeEach(() => {
  stack = new TestStack("drift", sandbox.url);
  stack.env = { DRIFT_KEY: KEY };
  sandbox.clearRequests();
  sandbox.clearFaults();
});
afterEach(() => stack.cleanup());

const file = (over: Record<string, unknown> = {}) => ({
  id: "ca_drift", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "DRIFT_KEY" } }, ...over,
});

/** Someone editing the account in Composio's dashboard. */
async function dashboard(method: "PATCH", path: string, body: unknown): Promise<void> {
  const res = await request(`${sandbox.url}/api/v3/connected_accounts/${path}`, {
    method, body: JSON.stringify(body), headers: { "x-api-key": API_KEY, "content-type": "application/json" },
  });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

describe("refresh", () => {
  it("detects an alias renamed in the dashboard and puts it back on the next up", async () => {
    stack.ws.write("a.yaml", file());
    await stack.up();
    await dashboard("PATCH", "ca_drift", { alias: "renamed-by-hand" });
    sandbox.clearRequests();

    const refreshed = await stack.refresh();
    expect(refreshed.steps[0].diff).toEqual([{ path: "alias", kind: "update", from: '"gh-prod"', to: '"renamed-by-hand"' }]);
    expect(sandbox.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /api/v3/connected_accounts/ca_drift"]);

    const preview = await stack.preview();
    expect(preview.steps[0].op).toBe("update");
    // Only the drifted alias: the refreshed inputs are the recorded ones (references included) with
    // what Composio has; the PATCH below sends nothing else.
    expect(preview.steps[0].diff).toEqual([{ path: "alias", kind: "update", from: '"renamed-by-hand"', to: '"gh-prod"' }]);
    sandbox.clearRequests();
    await stack.up();
    expect(sandbox.requests.map((r) => r.body)).toEqual([{ alias: "gh-prod" }]);
    expect(stack.everythingPrinted()).not.toContain(KEY);
  });

  it("records the account status and lists accounts that are not ACTIVE in the fleet output", async () => {
    stack.ws.write("a.yaml", file());
    await stack.up();
    await dashboard("PATCH", "ca_drift/status", { enabled: false });
    await stack.refresh();
    const [recorded] = JSON.parse(stack.stateText()).resources;
    expect(recorded.outputs.status).toBe("INACTIVE");
    sandbox.clearRequests();
    const d = await stack.up();
    expect(sandbox.requests).toHaveLength(0);
    expect(d.outputs?.fleet).toEqual({
      total: 1, byToolkit: { github: 1 }, byStatus: { INACTIVE: 1 }, notActive: [{ id: "ca_drift", toolkit: "github", status: "INACTIVE" }],
    });
    await dashboard("PATCH", "ca_drift/status", { enabled: true });
  });

  it("reports an account deleted in Composio as gone, and drops it from the state", async () => {
    stack.ws.write("a.yaml", file({ id: "ca_gone", alias: "soon-gone" }));
    await stack.up();
    const res = await request(`${sandbox.url}/api/v3/connected_accounts/ca_gone`, { method: "DELETE", headers: { "x-api-key": API_KEY } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const refreshed = await stack.refresh();
    expect(refreshed.steps[0]).toMatchObject({ name: "ca_gone", gone: true });
    expect(refreshed.log).toContain("connected account ca_gone no longer exists in Composio (404)");
    expect(JSON.parse(stack.stateText()).resources).toEqual([]);
    // The next up tries to adopt it again and says plainly that it does not exist.
    const d = await stack.up();
    expect(d.steps[0].error).toMatch(/accounts\/a\.yaml:1:1 id: connected account ca_gone does not exist in Composio; nothing is sent to it\.\n    fix: correct the id/);
  });

  it("does not take a proxy's HTML 404 for a deleted account", async () => {
    stack.ws.write("a.yaml", file());
    await stack.up();
    sandbox.inject({ status: 404, method: "GET", body: "<html><body>404 Not Found</body></html>", times: 3 });
    const refreshed = await stack.refresh();
    expect(refreshed.steps[0].gone).toBeUndefined();
    expect(refreshed.steps[0].error).toContain("HTTP_404");
    expect(JSON.parse(stack.stateText()).resources.map((r: { id: string }) => r.id)).toEqual(["ca_drift"]);
    sandbox.clearFaults();
  });

  it("refreshes many accounts with a few list calls instead of one GET each", async () => {
    for (const s of seeds) stack.ws.write(`${s.id}.yaml`, { ...s, alias: `alias-${s.id}` });
    await stack.up();
    sandbox.clearRequests();
    const refreshed = await stack.refresh();
    expect(refreshed.steps.every((s) => !s.error && !s.gone)).toBe(true);
    const calls = sandbox.requests.map((r) => `${r.method} ${r.path.split("?")[0]}`);
    // A busy machine may split the reads into a few batches; one GET each would be 30 requests.
    expect(calls.length).toBeLessThanOrEqual(10);
    expect(calls.every((c) => c === "GET /api/v3/connected_accounts")).toBe(true);
    const asked = sandbox.requests.flatMap((r) => new URL(r.path, sandbox.url).searchParams.get("connected_account_ids")!.split(","));
    expect(asked.sort()).toEqual(seeds.map((s) => s.id));

    // With batching off, the same refresh costs one GET per account. A refresh runs with the
    // settings recorded at the last up, as the engine configures it: apply the setting first.
    stack.config["connected-accounts:refreshBatchSize"] = "1";
    await stack.up();
    sandbox.clearRequests();
    await stack.refresh();
    expect(sandbox.requests).toHaveLength(seeds.length);
  });
});

describe("lifecycle", () => {
  it("observes an account: reads it, records what Composio has, never writes", async () => {
    stack.ws.write("seen.yaml", { id: "ca_seen", toolkit: "slack", userId: "team", authScheme: "OAUTH2", manage: "observe", alias: "ignored-when-observed" });
    const d = await stack.up();
    expect(d.steps[0]).toMatchObject({ op: "create" });
    expect(sandbox.requests.map((r) => r.method)).toEqual(["GET"]);
    expect(JSON.parse(stack.stateText()).resources[0].outputs).toMatchObject({ alias: "slack-as-is", status: "ACTIVE", manage: "observe" });
    sandbox.clearRequests();
    expect((await stack.up()).summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toHaveLength(0);
  });

  it("freezes a paused account, then applies what waited once unpaused", async () => {
    stack.ws.write("a.yaml", file());
    await stack.up();
    sandbox.clearRequests();
    stack.ws.write("a.yaml", file({ alias: "changed-during-incident", paused: true }));
    // Only the pause shows: nothing else is sent while it lasts.
    let d = await stack.preview();
    expect(d.steps[0].diff).toEqual([{ path: "paused", kind: "add", to: "true" }]);
    d = await stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(sandbox.requests).toHaveLength(0);
    stack.ws.write("a.yaml", file({ alias: "changed-again", paused: true }));
    expect((await stack.up()).summary).toMatchObject({ same: 1, update: 0 });
    expect(sandbox.requests).toHaveLength(0);
    expect((await stack.refresh()).steps[0].error).toBeUndefined();
    expect(sandbox.requests).toHaveLength(0);

    // Unpausing shows the whole pending change against what was applied, and sends exactly it.
    stack.ws.write("a.yaml", file({ alias: "after-incident" }));
    d = await stack.preview();
    expect(d.steps[0].diff).toEqual([
      { path: "alias", kind: "update", from: '"gh-prod"', to: '"after-incident"' },
      { path: "paused", kind: "delete", from: "true" },
    ]);
    d = await stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(sandbox.requests.map((r) => r.body)).toEqual([{ alias: "after-incident" }]);
  });

  it("does not resolve the references of a paused account, so an incident's missing secret blocks nothing", async () => {
    stack.env = {};
    stack.ws.write("a.yaml", file({ paused: true }));
    const d = await stack.up();
    expect(d.ok).toBe(true);
    expect(sandbox.requests).toHaveLength(0);
  });
});
