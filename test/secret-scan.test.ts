/**
 * The secret scan under the real CLI: distinctive env, file and secret-config values are planted,
 * a whole deployment runs (preview --diff, up, refresh, rotation, release) with every debug channel
 * on, plus a preview through the Automation API, and every output, file and event is searched for
 * each value in plain, JSON-escaped, base64 and URL-encoded form. Env and file values are read only
 * by the provider process and never returned: they must appear nowhere. Secret-config values are
 * sent to the provider by the engine itself, which records and logs them: they may appear only
 * where the README says Pulumi keeps stack config.
 */
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir } from "./support/pulumi-cli";
import { runSecretScan, SCAN_VALUES, type ScanRun } from "./support/secret-scan-run";
import { API_KEY, FINGERPRINT_KEY } from "./support/stack";

/** Where Pulumi itself puts stack config (docs/where-secrets-go.md): the default provider's inputs and its Configure call. */
const PULUMI_OWN_CONFIG_CHANNELS = [
  "-v=9 --logtostderr (stderr)",
  "--tracing files",
  "automatic log $PULUMI_HOME/logs (decrypted)",
  "pulumi stack export --show-secrets",
];

describe("secret scan under the real CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  let scan: ScanRun;
  beforeAll(async () => {
    const bin = await pulumiBinDir();
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_scan", toolkit: "github", userId: "team", authScheme: "API_KEY" }] });
    stack = new CliStack("cli-scan", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY, scanToken: SCAN_VALUES.config });
    scan = await runSecretScan(stack, sandbox, path.dirname(bin));
    console.log(`secret scan (occurrences per channel and reference kind):\n${scan.table.markdown()}`);
  }, 480_000);
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("runs the whole deployment, sending the values only to Composio, exactly as planned", () => {
    expect(scan.results.filter((r) => !r.ok)).toEqual([]);
    expect(scan.covered).toEqual({ "-v=9": true, "event log": true, tracing: true, "automatic log": true, "Automation API": true });
    const patches = scan.requests.filter((r) => r.method === "PATCH");
    expect(patches).toEqual([
      { method: "PATCH", path: "/api/v3/connected_accounts/ca_scan", body: { alias: "gh-scan", connection: { state: { authScheme: "API_KEY", val: { api_key: SCAN_VALUES.env, client_secret: SCAN_VALUES.sops, private_key: SCAN_VALUES.file, subdomain: "acme", token: SCAN_VALUES.config } } } } },
      { method: "PATCH", path: "/api/v3/connected_accounts/ca_scan", body: { connection: { state: { authScheme: "API_KEY", val: { api_key: SCAN_VALUES.envRotated, private_key: SCAN_VALUES.fileRotated } } } } },
    ]);
  });

  it("finds env, file and SOPS values nowhere: not in output, logs, traces, events, the automatic log or the state (decrypted)", () => {
    expect(scan.table.found("env")).toEqual({});
    expect(scan.table.found("file")).toEqual({});
    expect(scan.table.found("sops")).toEqual({});
  });

  it("finds secret-config values and the API key as a stack secret only where Pulumi keeps stack config", () => {
    for (const kind of ["config", "apiKey"] as const) {
      const outside = Object.keys(scan.table.found(kind)).filter((c) => !PULUMI_OWN_CONFIG_CHANNELS.includes(c));
      expect(outside, kind).toEqual([]);
    }
  });

  it("finds them, as docs/where-secrets-go.md says, in every channel that records the provider's Configure request", () => {
    // The engine sends the provider the whole stack config, decrypted: -v=9 logs it, traces hold it,
    // and the automatic log holds the request's bytes base64-encoded; stack export --show-secrets prints it.
    for (const kind of ["config", "apiKey"] as const) expect(Object.keys(scan.table.found(kind)).sort(), kind).toEqual([...PULUMI_OWN_CONFIG_CHANNELS].sort());
  });
});
