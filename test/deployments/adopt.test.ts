/**
 * Adoption: an account that exists in Composio is checked against its file before anything is
 * written, then gets what the file declares, once.
 */
import { describe, expect, it } from "vitest";
import type { SandboxAccountSeed } from "../../provider/sandbox/server";
import { deploymentSuite } from "../support/deployment";
import { EN_SEED, KEY_1, PATH, enFile, resetEnabledAccount } from "../support/enabled-account";
import { switchInDashboard } from "../support/dashboard";

const SEEDS: SandboxAccountSeed[] = [
  EN_SEED,
  { id: "ca_plain", toolkit: "notion", userId: "team", authScheme: "OAUTH2" },
];

const suite = deploymentSuite({
  stackName: "adopt",
  seeds: SEEDS,
  env: { EN_KEY: KEY_1 },
  resetSandbox: resetEnabledAccount,
});

const wire = () => suite.wire();
const recorded = (name = "ca_en") => suite.recorded(name);

describe("adopting an account", () => {
  it("adopts with the declared value: a read tells whether it is already so, then only what differs is sent", async () => {
    await switchInDashboard(suite.sandbox, "ca_en", false);
    suite.sandbox.clearRequests();
    suite.stack.ws.write("plain.yaml", { id: "ca_plain", toolkit: "notion", userId: "team", authScheme: "OAUTH2", alias: "docs", enabled: true });
    suite.stack.ws.write("en.yaml", enFile({ enabled: false, credentials: undefined }));
    const d = await suite.stack.up();
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
});
