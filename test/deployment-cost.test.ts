/**
 * What a deployment costs, where it does not depend on the machine: the requests and body bytes
 * Composio receives for a realistic change (one PATCH per changed account, carrying only the changed
 * field; nothing for a no-op), and what the state keeps per account. The benchmark (bench/) measures
 * the same fleet at larger sizes, and the times, which vary with the machine.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedFromAccountsDir } from "../provider/sandbox/seed";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { loadDesired } from "../bench/desired-fleet";
import { smallFleetState } from "../bench/engine-cost";
import { accountsDirOf, fleetAccounts, fleetSecrets, minimalBody, REALISTIC_MIX, writeFleet, type FleetSpec } from "../bench/fleet";
import { adopt, API_KEY, applyDeployment, configuredProvider } from "../bench/provider-driver";
import { PROJECT_ROOT } from "./support/workspace";

const SPEC: FleetSpec = { n: 100, mix: REALISTIC_MIX };

let root: string;
let sandbox: Sandbox;
beforeAll(async () => {
  fs.mkdirSync(path.join(PROJECT_ROOT, "test/.work"), { recursive: true });
  root = fs.mkdtempSync(path.join(PROJECT_ROOT, "test/.work", "deployment-cost-"));
  writeFleet(root, SPEC, "initial");
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: seedFromAccountsDir(accountsDirOf(root), PROJECT_ROOT) });
});
afterAll(async () => {
  await sandbox?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("a deployment on the wire", () => {
  it("a change to 12% of 100 accounts sends one PATCH per changed account with only the changed field, and a no-op sends nothing", async () => {
    const initial = fleetSecrets(SPEC, "initial");
    const adopted = await adopt(await configuredProvider(sandbox.url, initial), loadDesired(accountsDirOf(root), initial));
    expect(adopted.size).toBe(SPEC.n);

    writeFleet(root, SPEC, "changed", true);
    const changed = fleetSecrets(SPEC, "changed");
    const provider = await configuredProvider(sandbox.url, changed);
    sandbox.clearRequests();
    const second = await applyDeployment(provider, adopted, loadDesired(accountsDirOf(root), changed));
    expect(second.failed).toEqual([]);
    const expected = new Map(fleetAccounts(SPEC).filter((a) => a.change).map((a) => [a.id, minimalBody(a)]));
    expect(expected.size).toBe(12);
    const sent = sandbox.requests.map((r) => [r.method, decodeURIComponent(r.path.split("/").pop()!), r.body]);
    expect(sent.sort()).toEqual([...expected].map(([id, body]) => ["PATCH", id, body]).sort());
    const bytes = (bodies: unknown[]) => bodies.reduce((sum: number, b) => sum + Buffer.byteLength(JSON.stringify(b)), 0);
    expect(bytes(sandbox.requests.map((r) => r.body))).toBe(bytes([...expected.values()]));

    sandbox.clearRequests();
    const third = await applyDeployment(provider, second.recorded, loadDesired(accountsDirOf(root), changed));
    expect(third).toMatchObject({ updated: 0, failed: [] });
    expect(sandbox.requests).toEqual([]);
  });
});

describe("what the state keeps", () => {
  it("the provider module stored per resource is at most 2 KiB, and an account with three credential keys at most 4 KiB", async () => {
    const { providerText, recordedBytes } = await smallFleetState(root, sandbox.url);
    expect(Buffer.byteLength(providerText)).toBeLessThanOrEqual(2048);
    expect(recordedBytes).toBeLessThanOrEqual(4096);
  });
});
