/**
 * One `pulumi preview` names every account that would fail, under the real Pulumi CLI: the engine
 * stops at the first failed Check, so the provider gathers the others' problems before it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir } from "./support/pulumi-cli";
import { API_KEY, FINGERPRINT_KEY } from "./support/stack";

const KEY = "sk_every_problem_Qm41Lx";
const TIMEOUT_MS = 600_000;

const account = (over: Record<string, unknown>) => ({
  toolkit: "github", userId: "team", authScheme: "API_KEY", credentials: { api_key: { env: "GH_KEY" } }, ...over,
});

describe("one preview names every account that would fail, under the real CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    const bin = await pulumiBinDir();
    sandbox = await startSandbox({
      apiKey: API_KEY,
      accounts: [
        { id: "ca_fine", toolkit: "github", userId: "team", authScheme: "API_KEY" },
        { id: "ca_scheme", toolkit: "github", userId: "team", authScheme: "API_KEY" },
        { id: "ca_toolkit", toolkit: "slack", userId: "team", authScheme: "API_KEY" },
        { id: "ca_unset", toolkit: "github", userId: "team", authScheme: "API_KEY" },
      ],
    });
    stack = new CliStack("cli-every-problem", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    stack.env.GH_KEY = KEY;
    stack.ws.write("a-fine.yaml", account({ id: "ca_fine", alias: "fine" }));
    stack.ws.write("b-missing.yaml", account({ id: "ca_missing", alias: "ghost" }));
    stack.ws.write("c-scheme.yaml", account({ id: "ca_scheme", authScheme: "BEARER_TOKEN", credentials: { token: { env: "GH_KEY" } } }));
    stack.ws.write("d-toolkit.yaml", account({ id: "ca_toolkit" }));
  }, TIMEOUT_MS);
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  const writes = () => sandbox.requests.filter((r) => r.method !== "GET");

  it("lists an unknown id, another scheme, another toolkit and an unset variable in one preview, and writes nothing", async () => {
    stack.ws.write("e-unset.yaml", account({ id: "ca_unset", credentials: { api_key: { env: "GH_KEY_UNSET" } } }));
    sandbox.clearRequests();
    const run = await stack.preview();
    expect(run.ok).toBe(false);
    expect(run.text).toMatch(/accounts\/b-missing\.yaml:\d+:\d+ id: connected account ca_missing does not exist in Composio/);
    expect(run.text).toMatch(/accounts\/c-scheme\.yaml:\d+:\d+ authScheme: connected account ca_scheme has authScheme API_KEY in Composio, not BEARER_TOKEN/);
    expect(run.text).toMatch(/accounts\/d-toolkit\.yaml:\d+:\d+ toolkit: connected account ca_toolkit has toolkit slack in Composio, not github/);
    expect(run.text).toMatch(/accounts\/e-unset\.yaml:\d+:\d+ credentials\.api_key: environment variable GH_KEY_UNSET is not set/);
    // The engine checks the accounts in the order their registrations reach it: whichever fails
    // first, its failure names the other three (above), and nothing is sent.
    expect(run.text).not.toContain("a-fine.yaml");
    expect(run.text).not.toContain(KEY);
    expect(run.text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(writes()).toEqual([]);
  }, TIMEOUT_MS);

  it("lists every live-check failure when no reference fails (the first failing account, then the others)", async () => {
    stack.ws.remove("e-unset.yaml");
    sandbox.clearRequests();
    const run = await stack.preview();
    expect(run.ok).toBe(false);
    for (const file of ["b-missing", "c-scheme", "d-toolkit"]) expect(run.text).toContain(`accounts/${file}.yaml:`);
    expect(run.text).toMatch(/2 other account files would fail as well/);
    expect(run.text).not.toContain("a-fine.yaml");
    expect(writes()).toEqual([]);
  }, TIMEOUT_MS);

  it("an up stops at the first problem of the program as before, and writes nothing", async () => {
    stack.ws.write("e-unset.yaml", account({ id: "ca_unset", credentials: { api_key: { env: "GH_KEY_UNSET" } } }));
    sandbox.clearRequests();
    const run = await stack.up();
    expect(run.ok).toBe(false);
    expect(run.text).toContain("error: 1 problem in the account files; nothing was sent to Composio.");
    expect(writes()).toEqual([]);
  }, TIMEOUT_MS);
});

describe("an adoption's preview under the real CLI shows the live values it replaces", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    const bin = await pulumiBinDir();
    sandbox = await startSandbox({
      apiKey: API_KEY,
      accounts: [
        { id: "ca_renamed", toolkit: "github", userId: "team", authScheme: "API_KEY", alias: "live-alias" },
        { id: "ca_same", toolkit: "github", userId: "team", authScheme: "API_KEY", alias: "same-alias" },
      ],
    });
    stack = new CliStack("cli-adoption-replaces", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    stack.env.GH_KEY = KEY;
  }, TIMEOUT_MS);
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("names the live alias and enabled the declared ones overwrite, and nothing for an account that already matches", async () => {
    stack.ws.write("renamed.yaml", account({ id: "ca_renamed", alias: "declared-alias", enabled: false }));
    stack.ws.write("same.yaml", account({ id: "ca_same", alias: "same-alias" }));
    const run = await stack.preview();
    expect(run.ok).toBe(true);
    expect(run.ops).toEqual({ ca_renamed: "create", ca_same: "create" });
    expect(run.text).toContain('connected-accounts: adopting ca_renamed (accounts/renamed.yaml) replaces what Composio has: alias "live-alias" => "declared-alias", enabled true => false');
    expect(run.text).not.toContain("adopting ca_same");
    expect(run.text).not.toContain(KEY);
  }, TIMEOUT_MS);
});
