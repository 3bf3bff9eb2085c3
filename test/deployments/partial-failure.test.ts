/**
 * One of an account's two requests fails: what went through is recorded, the user reads the API's
 * words and what was applied, and the next up sends only what is still missing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox, type SandboxAccountSeed } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_en", toolkit: "github", userId: "team", authScheme: "API_KEY" },
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
  stack = new TestStack("partial-failure", sandbox.url);
  stack.env = { EN_KEY: KEY_1 };
  sandbox.clearFaults();
  // Every test starts from an enabled, ACTIVE ca_en.
  await switchInDashboard(sandbox, "ca_en", true);
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

describe("a failed status request", () => {
  it("is reported like a PATCH error, and records nothing when nothing was applied (disabling goes first)", async () => {
    await adopted({ enabled: true });
    const before = recorded();
    sandbox.inject({ method: "PATCH", path: /\/status$/, status: 400 });
    stack.env.EN_KEY = KEY_2;
    stack.ws.write("en.yaml", enFile({ enabled: false }));
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
    stack.ws.write("en.yaml", enFile({ enabled: true }));
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
    stack.ws.write("en.yaml", enFile({ enabled: false, alias: "gh-off" }));
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
