/**
 * Observing an account: it is read and what Composio has is recorded; nothing is ever written.
 */
import { describe, expect, it } from "vitest";
import type { SandboxAccountSeed } from "../../provider/sandbox/server";
import { deploymentSuite } from "../support/deployment";
import { EN_SEED, KEY_1, PATH, enFile, resetEnabledAccount } from "../support/enabled-account";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_seen", toolkit: "slack", userId: "team", authScheme: "OAUTH2", alias: "slack-as-is" },
  EN_SEED,
];

const suite = deploymentSuite({
  stackName: "observe",
  seeds: SEEDS,
  env: { EN_KEY: KEY_1 },
  resetSandbox: resetEnabledAccount,
});

const wire = () => suite.wire();
const recorded = (name = "ca_en") => suite.recorded(name);

describe("an observed account", () => {
  it("observes an account: reads it, records what Composio has, never writes", async () => {
    suite.stack.ws.write("seen.yaml", { id: "ca_seen", toolkit: "slack", userId: "team", authScheme: "OAUTH2", manage: "observe", alias: "ignored-when-observed" });
    const d = await suite.stack.up();
    expect(d.steps[0]).toMatchObject({ op: "create" });
    expect(suite.sandbox.requests.map((r) => r.method)).toEqual(["GET"]);
    expect(JSON.parse(suite.stack.stateText()).resources[0].outputs).toMatchObject({ alias: "slack-as-is", status: "ACTIVE", manage: "observe" });
    suite.sandbox.clearRequests();
    expect((await suite.stack.up()).summary).toMatchObject({ same: 1 });
    expect(suite.sandbox.requests).toHaveLength(0);
  });
  it("only reads `enabled` of an observed account", async () => {
    await switchInDashboard(suite.sandbox, "ca_en", false);
    suite.sandbox.clearRequests();
    suite.stack.ws.write("en.yaml", enFile({ manage: "observe", enabled: true }));
    let d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["GET", PATH]]);
    expect(recorded().outputs).toMatchObject({ manage: "observe", enabled: false, status: "INACTIVE" });

    await switchInDashboard(suite.sandbox, "ca_en", true);
    await suite.stack.refresh();
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
    suite.sandbox.clearRequests();
    suite.stack.ws.write("en.yaml", enFile({ manage: "observe", enabled: false }));
    d = await suite.stack.up();
    expect(d.summary).toMatchObject({ same: 1 });
    expect(suite.sandbox.requests).toEqual([]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: false });
  });
});
