/**
 * One of an account's two requests fails: what went through is recorded, the user reads the API's
 * words and what was applied, and the next up sends only what is still missing.
 */
import { describe, expect, it } from "vitest";
import type { SandboxAccountSeed } from "../../provider/sandbox/server";
import { deploymentSuite } from "../support/deployment";
import { EN_SEED, KEY_1, KEY_2, PATH, STATUS, enFile, rotate, resetEnabledAccount } from "../support/enabled-account";

const SEEDS: SandboxAccountSeed[] = [
  EN_SEED,
];

const suite = deploymentSuite({
  stackName: "partial-failure",
  seeds: SEEDS,
  env: { EN_KEY: KEY_1 },
  resetSandbox: resetEnabledAccount,
});

const wire = () => suite.wire();
const recorded = (name = "ca_en") => suite.recorded(name);

/** Adopts ca_en with `over`, then forgets the adoption's requests. */
const adopted = (over: Record<string, unknown> = {}) => suite.adopted("en.yaml", enFile(over));

describe("a failed status request", () => {
  it("is reported like a PATCH error, and records nothing when nothing was applied (disabling goes first)", async () => {
    await adopted({ enabled: true });
    const before = recorded();
    suite.sandbox.inject({ method: "PATCH", path: /\/status$/, status: 400 });
    suite.stack.env.EN_KEY = KEY_2;
    suite.stack.ws.write("en.yaml", enFile({ enabled: false }));
    let d = await suite.stack.up();
    expect(d.ok).toBe(false);
    expect(d.steps[0].error).toContain("Composio could not disable connected account ca_en: Injected fault: HTTP 400");
    expect(d.steps[0].error).toMatch(/slug: Sandbox_InjectedFault, HTTP 400, request_id: req_\S+/);
    // The PATCH with the new key was never sent: disabling comes first.
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }]]);
    expect(recorded().outputs).toEqual(before.outputs);
    expect(recorded().inputs).toMatchObject({ enabled: true, fingerprints: before.inputs.fingerprints });

    suite.sandbox.clearRequests();
    d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: false }], ["PATCH", PATH, rotate(KEY_2)]]);
  });
  it("after the PATCH went through (enabling goes last) records the PATCH's effect only; the next up sends only the status request", async () => {
    await adopted({ enabled: false });
    suite.sandbox.inject({ method: "PATCH", path: /\/status$/, status: 400 });
    suite.stack.env.EN_KEY = KEY_2;
    suite.stack.ws.write("en.yaml", enFile({ enabled: true }));
    let d = await suite.stack.up();
    expect(d.ok).toBe(false);
    expect(d.steps[0].error).toContain("Composio could not enable connected account ca_en");
    expect(d.steps[0].error).toContain("The alias and credential change was applied and is recorded; the next pulumi up sends only what is still missing.");
    expect(wire()).toEqual([["PATCH", PATH, rotate(KEY_2)], ["PATCH", STATUS, { enabled: true }]]);
    expect(suite.sandbox.account("ca_en")).toMatchObject({ isDisabled: true, val: { api_key: KEY_2 } });
    const partial = recorded();
    expect(partial.outputs).toMatchObject({ enabled: false });
    expect(partial.inputs.enabled).toBe(false);
    expect(partial.initErrors).toHaveLength(1);

    // The preview still shows the change that is missing.
    const preview = await suite.stack.preview();
    expect(preview.steps[0]).toMatchObject({ op: "update" });
    expect(preview.steps[0].diff).toContainEqual({ path: "enabled", kind: "update", from: "false", to: "true" });
    suite.sandbox.clearRequests();
    d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", STATUS, { enabled: true }]]);
    expect(recorded().outputs).toMatchObject({ enabled: true, status: "ACTIVE" });
    expect(recorded().initErrors).toBeUndefined();

    // Reverting the key now sends it: the state knows the rotated one went through.
    suite.sandbox.clearRequests();
    suite.stack.env.EN_KEY = KEY_1;
    await suite.stack.up();
    expect(wire()).toEqual([["PATCH", PATH, rotate(KEY_1)]]);
    expect(suite.stack.everythingPrinted()).not.toContain(KEY_1);
    expect(suite.stack.everythingPrinted()).not.toContain(KEY_2);
  });
  it("records the disable when the PATCH after it fails; the next up sends only the PATCH", async () => {
    await adopted({ enabled: true });
    suite.sandbox.inject({ method: "PATCH", path: /ca_en$/, status: 400 });
    suite.stack.ws.write("en.yaml", enFile({ enabled: false, alias: "gh-off" }));
    let d = await suite.stack.up();
    expect(d.ok).toBe(false);
    expect(d.steps[0].error).toContain("Composio could not update connected account ca_en");
    expect(d.steps[0].error).toContain("The account was disabled and that is recorded");
    expect(recorded().outputs).toMatchObject({ enabled: false, alias: "gh-en", status: "INACTIVE" });
    suite.sandbox.clearRequests();
    d = await suite.stack.up();
    expect(d.ok).toBe(true);
    expect(wire()).toEqual([["PATCH", PATH, { alias: "gh-off" }]]);
  });
});
