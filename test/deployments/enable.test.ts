/**
 * `enabled: true | false` in the account file: one status request per change, in order beside the
 * PATCH (disabling first, enabling last), broken connections, and an `enabled` the file stops managing.
 */
import { describe, expect, it } from "vitest";
import type { SandboxAccountSeed } from "../../provider/sandbox/server";
import { deploymentSuite } from "../support/deployment";
import { EN_SEED, KEY_1, KEY_2, PATH, STATUS, enFile, rotate, resetEnabledAccount } from "../support/enabled-account";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  EN_SEED,
  { id: "ca_expired", toolkit: "jira", userId: "team", authScheme: "API_KEY", status: "EXPIRED" },
];

const suite = deploymentSuite({
  stackName: "enable",
  seeds: SEEDS,
  env: { EN_KEY: KEY_1 },
  resetSandbox: resetEnabledAccount,
});

const wire = () => suite.wire();
const recorded = (name = "ca_en") => suite.recorded(name);

/** Adopts ca_en with `over`, then forgets the adoption's requests. */
const adopted = (over: Record<string, unknown> = {}) => suite.adopted("en.yaml", enFile(over));

describe("enabled in the account file", () => {
  it("disables with one status request, shows `enabled` in the preview, then enables with one", async () => {
    await adopted({ enabled: true });
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });

    suite.stack.ws.write("en.yaml", enFile({ enabled: false }));
    let d = await suite.stack.preview();
    expect(d.steps[0]).toMatchObject({ op: "update", diff: [{ path: "enabled", kind: "update", from: "true", to: "false" }] });
    expect(suite.sandbox.requests).toEqual([]);
    d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: true, status: "INACTIVE" });
    expect(recorded().outputs).toMatchObject({ enabled: false, status: "INACTIVE" });

    suite.sandbox.clearRequests();
    expect((await suite.stack.up()).summary).toMatchObject({ same: 1 });
    expect(suite.sandbox.requests).toEqual([]);

    suite.stack.ws.write("en.yaml", enFile({ enabled: true }));
    d = await suite.stack.up();
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: true }]]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: false, status: "ACTIVE" });
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
  });
  it("disables before a rotation and enables after one, in the same step", async () => {
    await adopted({ enabled: true });
    suite.stack.env.EN_KEY = KEY_2;
    suite.stack.ws.write("en.yaml", enFile({ enabled: false }));
    let d = await suite.stack.up();
    expect(d.ok).toBe(true);
    // A leaked key is cut off before anything else is sent.
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }], ["PATCH", PATH, rotate(KEY_2)]]);

    suite.sandbox.clearRequests();
    suite.stack.env.EN_KEY = KEY_1;
    suite.stack.ws.write("en.yaml", enFile({ enabled: true, alias: "gh-back" }));
    d = await suite.stack.up();
    expect(d.ok).toBe(true);
    // The new key is in place before the account can be used again.
    expect(wire()).toEqual([["PATCH", PATH, { alias: "gh-back", ...rotate(KEY_1) }], ["PATCH", STATUS, { enabled: true }]]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: false, status: "ACTIVE", alias: "gh-back", val: { api_key: KEY_1 } });
    expect(suite.stack.everythingPrinted()).not.toContain(KEY_2);
  });
  it("enables an EXPIRED account without claiming to repair it, and says so", async () => {
    await switchInDashboard(suite.sandbox, "ca_expired", false);
    suite.sandbox.clearRequests();
    suite.stack.ws.write("ex.yaml", { id: "ca_expired", toolkit: "jira", userId: "team", authScheme: "API_KEY", enabled: false });
    let d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(recorded("ca_expired").outputs).toMatchObject({ enabled: false, status: "EXPIRED" });
    suite.stack.ws.write("ex.yaml", { id: "ca_expired", toolkit: "jira", userId: "team", authScheme: "API_KEY", enabled: true });
    suite.sandbox.clearRequests();
    d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", "/api/v3/connected_accounts/ca_expired/status", { enabled: true }]]);
    expect(suite.sandbox.account("ca_expired")).toMatchObject({ isDisabled: false, status: "EXPIRED" });
    expect(recorded("ca_expired").outputs).toMatchObject({ enabled: true, status: "EXPIRED" });
    expect(d.log).toContain("connected account ca_expired is enabled, but its connection is EXPIRED: enabling does not repair a connection. Reconnect it in Composio.");
  });
  it("leaves the state of an account whose file does not say `enabled` as it was", async () => {
    await adopted();
    const before = recorded();
    expect(before.outputs).not.toHaveProperty("enabled");
    expect(before.inputs).not.toHaveProperty("enabled");
    await switchInDashboard(suite.sandbox, "ca_en", false);
    await suite.stack.refresh();
    expect(recorded().outputs).not.toHaveProperty("enabled");
    suite.sandbox.clearRequests();
    expect((await suite.stack.up()).summary).toMatchObject({ same: 1 });
    expect(suite.sandbox.requests).toEqual([]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
  });
  it("stops managing `enabled` when the line is removed: nothing is sent, nothing recorded", async () => {
    await adopted({ enabled: false });
    suite.stack.ws.write("en.yaml", enFile());
    const d = await suite.stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(suite.sandbox.requests).toEqual([]);
    expect(recorded().outputs).not.toHaveProperty("enabled");
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: true });
  });
});
