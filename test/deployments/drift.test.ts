/**
 * Drift: what changed in Composio behind git's back is found by a refresh, shown by the next
 * preview and put back by the next up; accounts deleted in Composio; refreshes of many accounts.
 */
import { request } from "undici";
import { describe, expect, it } from "vitest";
import type { SandboxAccountSeed } from "../../provider/sandbox/server";
import { API_KEY } from "../support/stack";
import { deploymentSuite } from "../support/deployment";
import { EN_SEED, KEY_1, PATH, STATUS, enFile, resetEnabledAccount } from "../support/enabled-account";
import { editInDashboard, switchInDashboard } from "../support/dashboard";

const FLEET = Array.from({ length: 30 }, (_, i) => ({ id: `ca_fleet${String(i).padStart(2, "0")}`, toolkit: i % 2 ? "github" : "jira", userId: "team", authScheme: "API_KEY" as const }));
const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_drift", toolkit: "github", userId: "team", authScheme: "API_KEY" },
  { id: "ca_gone", toolkit: "github", userId: "team", authScheme: "API_KEY" },
  EN_SEED,
  ...FLEET,
];
const DRIFT_KEY = "sk_drift_Gq72Lw0pX";
const driftFile = (over: Record<string, unknown> = {}) => ({
  id: "ca_drift", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "DRIFT_KEY" } }, ...over,
});

const suite = deploymentSuite({
  stackName: "drift",
  seeds: SEEDS,
  env: { DRIFT_KEY: DRIFT_KEY, EN_KEY: KEY_1 },
  resetSandbox: resetEnabledAccount,
});

const wire = () => suite.wire();
const recorded = (name = "ca_en") => suite.recorded(name);

/** Adopts ca_en with `over`, then forgets the adoption's requests. */
const adopted = (over: Record<string, unknown> = {}) => suite.adopted("en.yaml", enFile(over));

describe("a refresh", () => {
  it("detects an alias renamed in the dashboard and puts it back on the next up", async () => {
    suite.stack.ws.write("a.yaml", driftFile());
    await suite.stack.up();
    await editInDashboard(suite.sandbox, "ca_drift", { alias: "renamed-by-hand" });
    suite.sandbox.clearRequests();

    const refreshed = await suite.stack.refresh();
    expect(refreshed.steps[0].diff).toEqual([{ path: "alias", kind: "update", from: '"gh-prod"', to: '"renamed-by-hand"' }]);
    expect(suite.sandbox.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /api/v3/connected_accounts/ca_drift"]);

    const preview = await suite.stack.preview();
    expect(preview.steps[0].op).toBe("update");
    // Only the drifted alias: the refreshed inputs are the recorded ones (references included) with
    // what Composio has; the PATCH below sends nothing else.
    expect(preview.steps[0].diff).toEqual([{ path: "alias", kind: "update", from: '"renamed-by-hand"', to: '"gh-prod"' }]);
    suite.sandbox.clearRequests();
    await suite.stack.up();
    expect(suite.sandbox.requests.map((r) => r.body)).toEqual([{ alias: "gh-prod" }]);
    expect(suite.stack.everythingPrinted()).not.toContain(DRIFT_KEY);
  });
  it("records the account status and lists accounts that are not ACTIVE in the fleet output", async () => {
    suite.stack.ws.write("a.yaml", driftFile());
    await suite.stack.up();
    await editInDashboard(suite.sandbox, "ca_drift/status", { enabled: false });
    await suite.stack.refresh();
    const [recorded] = JSON.parse(suite.stack.stateText()).resources;
    expect(recorded.outputs.status).toBe("INACTIVE");
    suite.sandbox.clearRequests();
    const d = await suite.stack.up();
    expect(suite.sandbox.requests).toHaveLength(0);
    expect(d.outputs?.fleet).toEqual({
      total: 1, byToolkit: { github: 1 }, byStatus: { INACTIVE: 1 }, notActive: [{ id: "ca_drift", toolkit: "github", status: "INACTIVE" }],
    });
    await editInDashboard(suite.sandbox, "ca_drift/status", { enabled: true });
  });
  it("reports an account deleted in Composio as gone, and drops it from the state", async () => {
    suite.stack.ws.write("a.yaml", driftFile({ id: "ca_gone", alias: "soon-gone" }));
    await suite.stack.up();
    const res = await request(`${suite.sandbox.url}/api/v3/connected_accounts/ca_gone`, { method: "DELETE", headers: { "x-api-key": API_KEY } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const refreshed = await suite.stack.refresh();
    expect(refreshed.steps[0]).toMatchObject({ name: "ca_gone", gone: true });
    expect(refreshed.log).toContain("connected account ca_gone no longer exists in Composio (404)");
    expect(JSON.parse(suite.stack.stateText()).resources).toEqual([]);
    // The next up tries to adopt it again and says plainly that it does not exist.
    const d = await suite.stack.up();
    expect(d.steps[0].error).toMatch(/accounts\/a\.yaml:1:1 id: connected account ca_gone does not exist in Composio; nothing is sent to it\.\n    fix: correct the id/);
  });
  it("does not take a proxy's HTML 404 for a deleted account", async () => {
    suite.stack.ws.write("a.yaml", driftFile());
    await suite.stack.up();
    suite.sandbox.inject({ status: 404, method: "GET", body: "<html><body>404 Not Found</body></html>", times: 3 });
    const refreshed = await suite.stack.refresh();
    expect(refreshed.steps[0].gone).toBeUndefined();
    expect(refreshed.steps[0].error).toContain("HTTP_404");
    expect(JSON.parse(suite.stack.stateText()).resources.map((r: { id: string }) => r.id)).toEqual(["ca_drift"]);
    suite.sandbox.clearFaults();
  });
  it("refreshes many accounts with a few list calls instead of one GET each", async () => {
    for (const s of FLEET) suite.stack.ws.write(`${s.id}.yaml`, { ...s, alias: `alias-${s.id}` });
    await suite.stack.up();
    suite.sandbox.clearRequests();
    const refreshed = await suite.stack.refresh();
    expect(refreshed.steps.every((s) => !s.error && !s.gone)).toBe(true);
    const calls = suite.sandbox.requests.map((r) => `${r.method} ${r.path.split("?")[0]}`);
    // A busy machine may split the reads into a few batches; one GET each would be 30 requests.
    expect(calls.length).toBeLessThanOrEqual(10);
    expect(calls.every((c) => c === "GET /api/v3/connected_accounts")).toBe(true);
    const asked = suite.sandbox.requests.flatMap((r) => new URL(r.path, suite.sandbox.url).searchParams.get("connected_account_ids")!.split(","));
    expect(asked.sort()).toEqual(FLEET.map((s) => s.id));

    // With batching off, the same refresh costs one GET per account. A refresh runs with the
    // settings recorded at the last up, as the engine configures it: apply the setting first.
    suite.stack.config["connected-accounts:refreshBatchSize"] = "1";
    await suite.stack.up();
    suite.sandbox.clearRequests();
    await suite.stack.refresh();
    expect(suite.sandbox.requests).toHaveLength(FLEET.length);
  });
  it("records a re-enable in the dashboard on refresh, previews `enabled: true => false`, and the next up disables it again", async () => {
    await adopted({ enabled: false });
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
    await switchInDashboard(suite.sandbox, "ca_en", true);
    suite.sandbox.clearRequests();

    const refreshed = await suite.stack.refresh();
    expect(refreshed.steps[0].diff).toEqual([
      { path: "enabled", kind: "update", from: "false", to: "true" },
      { path: "status", kind: "update", from: '"INACTIVE"', to: '"ACTIVE"' },
    ]);
    expect(wire()).toEqual([["GET", PATH]]);

    const preview = await suite.stack.preview();
    expect(preview.steps[0].op).toBe("update");
    expect(preview.steps[0].diff).toEqual([
      // Only what drifted: the refreshed inputs are the recorded ones with what Composio has.
      { path: "enabled", kind: "update", from: "true", to: "false" },
    ]);
    suite.sandbox.clearRequests();
    await suite.stack.up();
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: true, status: "INACTIVE" });
  });
});
