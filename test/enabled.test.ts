/**
 * `enabled: true | false` through the harness: the status requests on the wire (alone, beside a
 * PATCH, in which order), drift switched back in the dashboard, paused and observed accounts,
 * broken connections, and what is recorded when one of an account's two requests fails.
 */
import { request } from "undici";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { API_KEY, TestStack } from "./support/stack";

const KEY_1 = "sk_enabled_first_4RtY8u";
const KEY_2 = "sk_enabled_rotated_9PqW2z";
const PATH = "/api/v3/connected_accounts/ca_en";
const STATUS = `${PATH}/status`;

let sandbox: Sandbox;
let stack: TestStack;

beforeAll(async () => {
  sandbox = await startSandbox({
    apiKey: API_KEY,
    accounts: [
      { id: "ca_en", toolkit: "github", userId: "team", authScheme: "API_KEY" },
      { id: "ca_expired", toolkit: "jira", userId: "team", authScheme: "API_KEY", status: "EXPIRED" },
      { id: "ca_plain", toolkit: "notion", userId: "team", authScheme: "OAUTH2" },
    ],
  });
});
afterAll(async () => sandbox.close());
beforeEach(async () => {
  stack = new TestStack("enabled", sandbox.url);
  stack.env = { EN_KEY: KEY_1 };
  sandbox.clearFaults();
  // Every test starts from an enabled, ACTIVE account.
  await dashboard("ca_en", true);
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

const file = (over: Record<string, unknown> = {}) => ({
  id: "ca_en", toolkit: "github", userId: "team", alias: "gh-en", authScheme: "API_KEY",
  credentials: { api_key: { env: "EN_KEY" } }, ...over,
});
const wire = () => sandbox.requests.map((r) => (r.body === undefined ? [r.method, r.path] : [r.method, r.path, r.body]));
const rotate = (key: string) => ({ connection: { state: { authScheme: "API_KEY", val: { api_key: key } } } });
const recorded = (name = "ca_en") => JSON.parse(stack.stateText()).resources.find((r: { name: string }) => r.name === name);

/** Someone switching the account in Composio's dashboard. */
async function dashboard(id: string, enabled: boolean): Promise<void> {
  const res = await request(`${sandbox.url}/api/v3/connected_accounts/${id}/status`, {
    method: "PATCH", body: JSON.stringify({ enabled }), headers: { "x-api-key": API_KEY, "content-type": "application/json" },
  });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

/** Adopts the account with `over`, then forgets the adoption's requests. */
async function adopted(over: Record<string, unknown> = {}): Promise<void> {
  stack.ws.write("en.yaml", file(over));
  const d = await stack.up();
  expect(d.ok, JSON.stringify(d.steps)).toBe(true);
  sandbox.clearRequests();
}

describe("enabled in the account file", () => {
  it("disables with one status request, shows `enabled` in the preview, then enables with one", async () => {
    await adopted({ enabled: true });
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });

    stack.ws.write("en.yaml", file({ enabled: false }));
    let d = await stack.preview();
    expect(d.steps[0]).toMatchObject({ op: "update", diff: [{ path: "enabled", kind: "update", from: "true", to: "false" }] });
    expect(sandbox.requests).toEqual([]);
    d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true, status: "INACTIVE" });
    expect(recorded().outputs).toMatchObject({ enabled: false, status: "INACTIVE" });

    sandbox.clearRequests();
    expect((await stack.up()).summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toEqual([]);

    stack.ws.write("en.yaml", file({ enabled: true }));
    d = await stack.up();
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: true }]]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false, status: "ACTIVE" });
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
  });

  it("adopts with the declared value: a read tells whether it is already so, then only what differs is sent", async () => {
    await dashboard("ca_en", false);
    sandbox.clearRequests();
    stack.ws.write("plain.yaml", { id: "ca_plain", toolkit: "notion", userId: "team", authScheme: "OAUTH2", alias: "docs", enabled: true });
    stack.ws.write("en.yaml", file({ enabled: false, credentials: undefined }));
    const d = await stack.up();
    expect(d.ok, JSON.stringify(d.steps)).toBe(true);
    const byPath = wire().sort((a, b) => String(a[1]).localeCompare(String(b[1])) || String(a[0]).localeCompare(String(b[0])));
    expect(byPath).toEqual([
      // One list call reads both adoptions (the check before anything is written).
      ["GET", "/api/v3/connected_accounts?connected_account_ids=ca_en%2Cca_plain&limit=2"],
      ["PATCH", PATH, { alias: "gh-en" }],
      ["PATCH", "/api/v3/connected_accounts/ca_plain", { alias: "docs" }],
    ]);
    expect(recorded().outputs).toMatchObject({ enabled: false, status: "INACTIVE" });
    expect(recorded("ca_plain").outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
  });

  it("disables before a rotation and enables after one, in the same step", async () => {
    await adopted({ enabled: true });
    stack.env.EN_KEY = KEY_2;
    stack.ws.write("en.yaml", file({ enabled: false }));
    let d = await stack.up();
    expect(d.ok).toBe(true);
    // A leaked key is cut off before anything else is sent.
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }], ["PATCH", PATH, rotate(KEY_2)]]);

    sandbox.clearRequests();
    stack.env.EN_KEY = KEY_1;
    stack.ws.write("en.yaml", file({ enabled: true, alias: "gh-back" }));
    d = await stack.up();
    expect(d.ok).toBe(true);
    // The new key is in place before the account can be used again.
    expect(wire()).toEqual([["PATCH", PATH, { alias: "gh-back", ...rotate(KEY_1) }], ["PATCH", STATUS, { enabled: true }]]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false, status: "ACTIVE", alias: "gh-back", val: { api_key: KEY_1 } });
    expect(stack.everythingPrinted()).not.toContain(KEY_2);
  });

  it("records a re-enable in the dashboard on refresh, previews `enabled: true => false`, and the next up disables it again", async () => {
    await adopted({ enabled: false });
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
    await dashboard("ca_en", true);
    sandbox.clearRequests();

    const refreshed = await stack.refresh();
    expect(refreshed.steps[0].diff).toEqual([
      { path: "enabled", kind: "update", from: "false", to: "true" },
      { path: "status", kind: "update", from: '"INACTIVE"', to: '"ACTIVE"' },
    ]);
    expect(wire()).toEqual([["GET", PATH]]);

    const preview = await stack.preview();
    expect(preview.steps[0].op).toBe("update");
    expect(preview.steps[0].diff).toEqual([
      // Only what drifted: the refreshed inputs are the recorded ones with what Composio has.
      { path: "enabled", kind: "update", from: "true", to: "false" },
    ]);
    sandbox.clearRequests();
    await stack.up();
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true, status: "INACTIVE" });
  });

  it("freezes `enabled` while paused, then applies it on unpause", async () => {
    await adopted({ enabled: true });
    stack.ws.write("en.yaml", file({ enabled: false, paused: true }));
    let d = await stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    await dashboard("ca_en", false);
    await dashboard("ca_en", true);
    sandbox.clearRequests();
    // A paused account is not even read by a refresh.
    await stack.refresh();
    d = await stack.up();
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false });

    stack.ws.write("en.yaml", file({ enabled: false }));
    d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
  });

  it("only reads `enabled` of an observed account", async () => {
    await dashboard("ca_en", false);
    sandbox.clearRequests();
    stack.ws.write("en.yaml", file({ manage: "observe", enabled: true }));
    let d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["GET", PATH]]);
    expect(recorded().outputs).toMatchObject({ manage: "observe", enabled: false, status: "INACTIVE" });

    await dashboard("ca_en", true);
    await stack.refresh();
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
    sandbox.clearRequests();
    stack.ws.write("en.yaml", file({ manage: "observe", enabled: false }));
    d = await stack.up();
    expect(d.summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false });
  });

  it("enables an EXPIRED account without claiming to repair it, and says so", async () => {
    await dashboard("ca_expired", false);
    sandbox.clearRequests();
    stack.ws.write("ex.yaml", { id: "ca_expired", toolkit: "jira", userId: "team", authScheme: "API_KEY", enabled: false });
    let d = await stack.up();
    expect(d.ok).toBe(true);
    expect(recorded("ca_expired").outputs).toMatchObject({ enabled: false, status: "EXPIRED" });
    stack.ws.write("ex.yaml", { id: "ca_expired", toolkit: "jira", userId: "team", authScheme: "API_KEY", enabled: true });
    sandbox.clearRequests();
    d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", "/api/v3/connected_accounts/ca_expired/status", { enabled: true }]]);
    expect(sandbox.account("ca_expired")).toMatchObject({ isDisabled: false, status: "EXPIRED" });
    expect(recorded("ca_expired").outputs).toMatchObject({ enabled: true, status: "EXPIRED" });
    expect(d.log).toContain("connected account ca_expired is enabled, but its connection is EXPIRED: enabling does not repair a connection. Reconnect it in Composio.");
  });

  it("leaves the state of an account whose file does not say `enabled` as it was", async () => {
    await adopted();
    const before = recorded();
    expect(before.outputs).not.toHaveProperty("enabled");
    expect(before.inputs).not.toHaveProperty("enabled");
    await dashboard("ca_en", false);
    await stack.refresh();
    expect(recorded().outputs).not.toHaveProperty("enabled");
    sandbox.clearRequests();
    expect((await stack.up()).summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
  });

  it("stops managing `enabled` when the line is removed: nothing is sent, nothing recorded", async () => {
    await adopted({ enabled: false });
    stack.ws.write("en.yaml", file());
    const d = await stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(sandbox.requests).toEqual([]);
    expect(recorded().outputs).not.toHaveProperty("enabled");
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
  });
});

describe("a failed status request", () => {
  it("is reported like a PATCH error, and records nothing when nothing was applied (disabling goes first)", async () => {
    await adopted({ enabled: true });
    const before = recorded();
    sandbox.inject({ method: "PATCH", path: /\/status$/, status: 400 });
    stack.env.EN_KEY = KEY_2;
    stack.ws.write("en.yaml", file({ enabled: false }));
    let d = await stack.up();
    expect(d.ok).toBe(false);
    expect(d.steps[0].error).toContain("Composio could not disable connected account ca_en: Injected fault: HTTP 400");
    expect(d.steps[0].error).toMatch(/slug: Sandbox_InjectedFault, HTTP 400, request_id: req_\S+/);
    // The PATCH with the new key was never sent: disabling comes first.
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
    expect(recorded().outputs).toEqual(before.outputs);
    expect(recorded().inputs).toMatchObject({ enabled: true, fingerprints: before.inputs.fingerprints });

    sandbox.clearRequests();
    d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }], ["PATCH", PATH, rotate(KEY_2)]]);
  });

  it("after the PATCH went through (enabling goes last) records the PATCH's effect only; the next up sends only the status request", async () => {
    await adopted({ enabled: false });
    sandbox.inject({ method: "PATCH", path: /\/status$/, status: 400 });
    stack.env.EN_KEY = KEY_2;
    stack.ws.write("en.yaml", file({ enabled: true }));
    let d = await stack.up();
    expect(d.ok).toBe(false);
    expect(d.steps[0].error).toContain("Composio could not enable connected account ca_en");
    expect(d.steps[0].error).toContain("The alias and credential change was applied and is recorded; the next pulumi up sends only what is still missing.");
    expect(wire()).toEqual([["PATCH", PATH, rotate(KEY_2)], ["PATCH", STATUS, { enabled: true }]]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true, val: { api_key: KEY_2 } });
    const partial = recorded();
    expect(partial.outputs).toMatchObject({ enabled: false });
    expect(partial.inputs.enabled).toBe(false);
    expect(partial.initErrors).toHaveLength(1);

    // The preview still shows the change that is missing.
    const preview = await stack.preview();
    expect(preview.steps[0]).toMatchObject({ op: "update" });
    expect(preview.steps[0].diff).toContainEqual({ path: "enabled", kind: "update", from: "false", to: "true" });
    sandbox.clearRequests();
    d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: true }]]);
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
    expect(recorded().initErrors).toBeUndefined();

    // Reverting the key now sends it: the state knows the rotated one went through.
    sandbox.clearRequests();
    stack.env.EN_KEY = KEY_1;
    await stack.up();
    expect(wire()).toEqual([["PATCH", PATH, rotate(KEY_1)]]);
    expect(stack.everythingPrinted()).not.toContain(KEY_1);
    expect(stack.everythingPrinted()).not.toContain(KEY_2);
  });

  it("records the disable when the PATCH after it fails; the next up sends only the PATCH", async () => {
    await adopted({ enabled: true });
    sandbox.inject({ method: "PATCH", path: /ca_en$/, status: 400 });
    stack.ws.write("en.yaml", file({ enabled: false, alias: "gh-off" }));
    let d = await stack.up();
    expect(d.ok).toBe(false);
    expect(d.steps[0].error).toContain("Composio could not update connected account ca_en");
    expect(d.steps[0].error).toContain("The account was disabled and that is recorded");
    expect(recorded().outputs).toMatchObject({ enabled: false, alias: "gh-en", status: "INACTIVE" });
    sandbox.clearRequests();
    d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", PATH, { alias: "gh-off" }]]);
  });
});
