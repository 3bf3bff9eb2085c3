/**
 * Observing an account: it is read and what Composio has is recorded; nothing is ever written.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_seen", toolkit: "slack", userId: "team", authScheme: "OAUTH2", alias: "slack-as-is" },
  { id: "ca_en", toolkit: "github", userId: "team", authScheme: "API_KEY" },
];
const KEY_1 = "sk_enabled_first_4RtY8u";
const PATH = "/api/v3/connected_accounts/ca_en";
const enFile = (over: Record<string, unknown> = {}) => ({
  id: "ca_en", toolkit: "github", userId: "team", alias: "gh-en", authScheme: "API_KEY",
  credentials: { api_key: { env: "EN_KEY" } }, ...over,
});
const wire = () => sandbox.requests.map((r) => (r.body === undefined ? [r.method, r.path] : [r.method, r.path, r.body]));
const recorded = (name = "ca_en") => JSON.parse(stack.stateText()).resources.find((r: { name: string }) => r.name === name);

let sandbox: Sandbox;
let stack: TestStack;

beforeAll(async () => {
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
});
afterAll(async () => sandbox.close());
beforeEach(async () => {
  stack = new TestStack("observe", sandbox.url);
  stack.env = { EN_KEY: KEY_1 };
  sandbox.clearFaults();
  // Every test starts from an enabled, ACTIVE ca_en.
  await switchInDashboard(sandbox, "ca_en", true);
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

describe("an observed account", () => {
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
  it("only reads `enabled` of an observed account", async () => {
    await switchInDashboard(sandbox, "ca_en", false);
    sandbox.clearRequests();
    stack.ws.write("en.yaml", enFile({ manage: "observe", enabled: true }));
    let d = await stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["GET", PATH]]);
    expect(recorded().outputs).toMatchObject({ manage: "observe", enabled: false, status: "INACTIVE" });

    await switchInDashboard(sandbox, "ca_en", true);
    await stack.refresh();
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
    sandbox.clearRequests();
    stack.ws.write("en.yaml", enFile({ manage: "observe", enabled: false }));
    d = await stack.up();
    expect(d.summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_en")).toMatchObject({ isDisabled: false });
  });
});
