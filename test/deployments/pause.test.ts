/**
 * Pausing an account: everything the file says waits (alias, credentials, `enabled`), nothing is
 * sent, read or resolved, and unpausing applies exactly what waited.
 */
import { describe, expect, it } from "vitest";
import type { SandboxAccountSeed } from "../../provider/sandbox/server";
import { deploymentSuite } from "../support/deployment";
import { EN_SEED, KEY_1, STATUS, enFile, resetEnabledAccount } from "../support/enabled-account";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  { id: "ca_drift", toolkit: "github", userId: "team", authScheme: "API_KEY" },
  EN_SEED,
];
const DRIFT_KEY = "sk_drift_Gq72Lw0pX";
const driftFile = (over: Record<string, unknown> = {}) => ({
  id: "ca_drift", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "DRIFT_KEY" } }, ...over,
});

const suite = deploymentSuite({
  stackName: "pause",
  seeds: SEEDS,
  env: { DRIFT_KEY: DRIFT_KEY, EN_KEY: KEY_1 },
  resetSandbox: resetEnabledAccount,
});

const wire = () => suite.wire();

/** Adopts ca_en with `over`, then forgets the adoption's requests. */
const adopted = (over: Record<string, unknown> = {}) => suite.adopted("en.yaml", enFile(over));

describe("a paused account", () => {
  it("freezes a paused account, then applies what waited once unpaused", async () => {
    suite.stack.ws.write("a.yaml", driftFile());
    await suite.stack.up();
    suite.sandbox.clearRequests();
    suite.stack.ws.write("a.yaml", driftFile({ alias: "changed-during-incident", paused: true }));
    // Only the pause shows: nothing else is sent while it lasts.
    let d = await suite.stack.preview();
    expect(d.steps[0].diff).toEqual([{ path: "paused", kind: "add", to: "true" }]);
    d = await suite.stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(suite.sandbox.requests).toHaveLength(0);
    suite.stack.ws.write("a.yaml", driftFile({ alias: "changed-again", paused: true }));
    expect((await suite.stack.up()).summary).toMatchObject({ same: 1, update: 0 });
    expect(suite.sandbox.requests).toHaveLength(0);
    expect((await suite.stack.refresh()).steps[0].error).toBeUndefined();
    expect(suite.sandbox.requests).toHaveLength(0);

    // Unpausing shows the whole pending change against what was applied, and sends exactly it.
    suite.stack.ws.write("a.yaml", driftFile({ alias: "after-incident" }));
    d = await suite.stack.preview();
    expect(d.steps[0].diff).toEqual([
      { path: "alias", kind: "update", from: '"gh-prod"', to: '"after-incident"' },
      { path: "paused", kind: "delete", from: "true" },
    ]);
    d = await suite.stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    expect(suite.sandbox.requests.map((r) => r.body)).toEqual([{ alias: "after-incident" }]);
  });
  it("does not resolve the references of a paused account, so an incident's missing secret blocks nothing", async () => {
    suite.stack.env = {};
    suite.stack.ws.write("a.yaml", driftFile({ paused: true }));
    const d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(suite.sandbox.requests).toHaveLength(0);
  });
  it("freezes `enabled` while paused, then applies it on unpause", async () => {
    await adopted({ enabled: true });
    suite.stack.ws.write("en.yaml", enFile({ enabled: false, paused: true }));
    let d = await suite.stack.up();
    expect(d.summary).toMatchObject({ update: 1 });
    await switchInDashboard(suite.sandbox, "ca_en", false);
    await switchInDashboard(suite.sandbox, "ca_en", true);
    suite.sandbox.clearRequests();
    // A paused account is not even read by a refresh.
    await suite.stack.refresh();
    d = await suite.stack.up();
    expect(suite.sandbox.requests).toEqual([]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: false });

    suite.stack.ws.write("en.yaml", enFile({ enabled: false }));
    d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
  });
});
