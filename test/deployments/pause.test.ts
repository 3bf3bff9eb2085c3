/**
 * Pausing an account: everything the file says waits (alias, credentials, `enabled`), nothing is
 * sent, read or resolved, and unpausing applies exactly what waited.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_drift", toolkit: "github", userId: "team", authScheme: "API_KEY" },
  { id: "ca_en", toolkit: "github", userId: "team", authScheme: "API_KEY" },
];
const DRIFT_KEY = "sk_drift_Gq72Lw0pX";
const driftFile = (over: Record<string, unknown> = {}) => ({
  id: "ca_drift", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "DRIFT_KEY" } }, ...over,
});
const KEY_1 = "sk_enabled_first_4RtY8u";
const PATH = "/api/v3/connected_accounts/ca_en";
const STATUS = `${PATH}/status`;
const enFile = (over: Record<string, unknown> = {}) => ({
  id: "ca_en", toolkit: "github", userId: "team", alias: "gh-en", authScheme: "API_KEY",
  credentials: { api_key: { env: "EN_KEY" } }, ...over,
});
const wire = () => sandbox.requests.map((r) => (r.body === undefined ? [r.method, r.path] : [r.method, r.path, r.body]));

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
  stack = new TestStack("pause", sandbox.url);
  stack.env = { DRIFT_KEY: DRIFT_KEY, EN_KEY: KEY_1 };
  sandbox.clearFaults();
  // Every test starts from an enabled, ACTIVE ca_en.
  await switchInDashboard(sandbox, "ca_en", true);
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

describe("a paused account", () => {
  it("freezes a paused account, then applies what waited once unpaused", async () => {
    stack.ws.write("a.yaml", driftFile());
    await stack.up();
    sandbox.clearRequests();
    stack.ws.write("a.yaml", driftFile({ alias: "changed-during-incident", paused: true }));
    // Only the pause shows: nothing else is sent while it lasts.
    let d = await stack.preview();
    expect(d.steps[0].diff).toEqual([{ path: "paused", kind: "add", to: "true" }]);
    d = await stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(sandbox.requests).toHaveLength(0);
    stack.ws.write("a.yaml", driftFile({ alias: "changed-again", paused: true }));
    expect((await stack.up()).summary).toMatchObject({ same: 1, update: 0 });
    expect(sandbox.requests).toHaveLength(0);
    expect((await stack.refresh()).steps[0].error).toBeUndefined();
    expect(sandbox.requests).toHaveLength(0);

    // Unpausing shows the whole pending change against what was applied, and sends exactly it.
    stack.ws.write("a.yaml", driftFile({ alias: "after-incident" }));
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
    stack.ws.write("a.yaml", driftFile({ paused: true }));
    const d = await stack.up();
    expect(d.ok).toBe(true);
    expect(sandbox.requests).toHaveLength(0);
  });
  it("freezes `enabled` while paused, then applies it on unpause", async () => {
    await adopted({ enabled: true });
    stack.ws.write("en.yaml", enFile({ enabled: false, paused: true }));
    let d = await stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    await switchInDashboard(sandbox, "ca_en", false);
    await switchInDashboard(sandbox, "ca_en", true);
    sandbox.clearRequests();
    // A paused account is not even read by a refresh.
    await stack.refresh();
    d = await stack.up();
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false });

    stack.ws.write("en.yaml", enFile({ enabled: false }));
    d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
  });
});
