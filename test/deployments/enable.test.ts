/**
 * `enabled: true | false` in the account file: one status request per change, in order beside the
 * PATCH (disabling first, enabling last), broken connections, and an `enabled` the file stops managing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_en", toolkit: "github", userId: "team", authScheme: "API_KEY" },
  { id: "ca_expired", toolkit: "jira", userId: "team", authScheme: "API_KEY", status: "EXPIRED" },
];
const KEY_1 = "sk_enabled_first_4RtY8u";
const KEY_2 = "sk_enabled_rotated_9PqW2z";
const PATH = "/api/v3/connected_accounts/ca_en";
const STATUS = `${PATH}/status`;
const enFile = (over: Record<string, unknown> = {}) => ({
  id: "ca_en", toolkit: "github", userId: "team", alias: "gh-en", authScheme: "API_KEY",
  credentials: { api_key: { env: "EN_KEY" } }, ...over,
});
const wire = () => sandbox.requests.map((r) => (r.body === undefined ? [r.method, r.path] : [r.method, r.path, r.body]));
const rotate = (key: string) => ({ connection: { state: { authScheme: "API_KEY", val: { api_key: key } } } });
const recorded = (name = "ca_en") => JSON.parse(stack.stateText()).resources.find((r: { name: string }) => r.name === name);

/** Adopts ca_en with `over`, then forgets the adoption's requests. */
async function adopted(over: Record<string, unknown> = {}): Promise<void> {
  stack.ws.write("en.yaml", enFile(over));
  const d = await stack.up();
  expect(d.ok, JSON.stringify(d.steps)).toBe(true);
  sandbox.clearRequests();
}

let sandbox: Sandbox;
let stack: TestStack;

beforeAll(async () => {
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
});
afterAll(async () => sandbox.close());
beforeEach(async () => {
  stack = new TestStack("enable", sandbox.url);
  stack.env = { EN_KEY: KEY_1 };
  sandbox.clearFaults();
  // Every test starts from an enabled, ACTIVE ca_en.
  await switchInDashboard(sandbox, "ca_en", true);
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

describe("enabled in the account file", () => {
  it("disables with one status request, shows `enabled` in the preview, then enables with one", async () => {
    await adopted({ enabled: true });
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });

    stack.ws.write("en.yaml", enFile({ enabled: false }));
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

    stack.ws.write("en.yaml", enFile({ enabled: true }));
    d = await stack.up();
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: true }]]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false, status: "ACTIVE" });
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
  });
  it("disables before a rotation and enables after one, in the same step", async () => {
    await adopted({ enabled: true });
    stack.env.EN_KEY = KEY_2;
    stack.ws.write("en.yaml", enFile({ enabled: false }));
    let d = await stack.up();
    expect(d.ok).toBe(true);
    // A leaked key is cut off before anything else is sent.
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }], ["PATCH", PATH, rotate(KEY_2)]]);

    sandbox.clearRequests();
    stack.env.EN_KEY = KEY_1;
    stack.ws.write("en.yaml", enFile({ enabled: true, alias: "gh-back" }));
    d = await stack.up();
    expect(d.ok).toBe(true);
    // The new key is in place before the account can be used again.
    expect(wire()).toEqual([["PATCH", PATH, { alias: "gh-back", ...rotate(KEY_1) }], ["PATCH", STATUS, { enabled: true }]]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false, status: "ACTIVE", alias: "gh-back", val: { api_key: KEY_1 } });
    expect(stack.everythingPrinted()).not.toContain(KEY_2);
  });
  it("enables an EXPIRED account without claiming to repair it, and says so", async () => {
    await switchInDashboard(sandbox, "ca_expired", false);
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
    await switchInDashboard(sandbox, "ca_en", false);
    await stack.refresh();
    expect(recorded().outputs).not.toHaveProperty("enabled");
    sandbox.clearRequests();
    expect((await stack.up()).summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
  });
  it("stops managing `enabled` when the line is removed: nothing is sent, nothing recorded", async () => {
    await adopted({ enabled: false });
    stack.ws.write("en.yaml", enFile());
    const d = await stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(sandbox.requests).toEqual([]);
    expect(recorded().outputs).not.toHaveProperty("enabled");
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
  });
});
