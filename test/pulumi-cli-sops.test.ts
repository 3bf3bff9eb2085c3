/**
 * SOPS references under the real Pulumi CLI, with the real sops and real age keys: accounts adopted
 * and rotated from one SOPS file (the PATCH bodies Composio receives), a tampered file, a wrong key,
 * and a machine without the key (one line per account, nothing sent), with every value planted and
 * searched for in everything the CLI printed or stored.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { CliStack, eventsWithoutDebug, pulumiBinDir } from "./support/pulumi-cli";
import { newAgeKey, setSopsValue, sopsBinDir, writeSopsFile, type AgeKey } from "./support/sops";
import { API_KEY, FINGERPRINT_KEY } from "./support/stack";

const K1 = "sk_sops_first_Q2w9Lm";
const K2 = "sk_sops_second_Rt5Zx1";
const K2_ROTATED = "sk_sops_rotated_Pn3Vb8";
const K3 = "sk_sops_third_Hy6Cd4";
const PLANTED = [K1, K2, K2_ROTATED, K3, API_KEY, FINGERPRINT_KEY];
const IDS = ["ca_sops1", "ca_sops2", "ca_sops3"];
const SEEDS = IDS.map((id) => ({ id, toolkit: "openai", userId: "team", authScheme: "API_KEY" as const }));

function expectNothingPlanted(text: string, where: string): void {
  for (const s of PLANTED) {
    for (const form of [s, Buffer.from(s).toString("base64"), encodeURIComponent(s)]) expect(text.includes(form), `${where} contains ${s.slice(0, 8)}…`).toBe(false);
  }
}

describe("SOPS references under the real Pulumi CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  let key: AgeKey;
  let other: AgeKey;
  const sopsFile = () => stack.ws.path("secrets/team.sops.yaml");
  const patches = () => sandbox.requests.filter((r) => r.method === "PATCH").map((r) => ({ path: r.path, body: r.body })).sort((a, b) => a.path.localeCompare(b.path));
  const val = (v: Record<string, unknown>) => ({ connection: { state: { authScheme: "API_KEY", val: v } } });

  beforeAll(async () => {
    const bin = await pulumiBinDir();
    key = newAgeKey();
    other = newAgeKey();
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
    stack = new CliStack("cli-sops", bin);
    // No age key of this machine's (~/.config/sops/age) may help: the key comes from SOPS_AGE_KEY only.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-cli-sops-home-"));
    Object.assign(stack.env, { HOME: home, SOPS_AGE_KEY: key.identity, PATH: [sopsBinDir(), bin, process.env.PATH].join(path.delimiter) });
    writeSopsFile(sopsFile(), { team: { first: K1, second: K2 }, "third.key": K3 }, [key]);
    stack.ws.write("openai/one.yaml", { id: IDS[0], toolkit: "openai", userId: "team", alias: "one", authScheme: "API_KEY", credentials: { api_key: { sops: "../../secrets/team.sops.yaml", key: "team.first" }, subdomain: "one" } });
    stack.ws.write("openai/two.yaml", { id: IDS[1], toolkit: "openai", userId: "team", alias: "two", authScheme: "API_KEY", credentials: { api_key: { sops: "../../secrets/team.sops.yaml", key: "team.second" } } });
    stack.ws.write("openai/three.yaml", { id: IDS[2], toolkit: "openai", userId: "team", alias: "three", authScheme: "API_KEY", credentials: { api_key: { sops: "../../secrets/team.sops.yaml", key: ["third.key"] } } });
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("adopts every account with its value from the SOPS file, then sends only the rotated one", async () => {
    sandbox.clearRequests();
    const adopt = await stack.up();
    expect(adopt.ok, adopt.text).toBe(true);
    expect(patches()).toEqual([
      { path: `/api/v3/connected_accounts/${IDS[0]}`, body: { alias: "one", ...val({ api_key: K1, subdomain: "one" }) } },
      { path: `/api/v3/connected_accounts/${IDS[1]}`, body: { alias: "two", ...val({ api_key: K2 }) } },
      { path: `/api/v3/connected_accounts/${IDS[2]}`, body: { alias: "three", ...val({ api_key: K3 }) } },
    ]);

    setSopsValue(sopsFile(), ["team", "second"], K2_ROTATED, key);
    sandbox.clearRequests();
    const preview = await stack.preview();
    expect(preview.ok, preview.text).toBe(true);
    expect(preview.ops).toMatchObject({ [IDS[0]]: "same", [IDS[1]]: "update", [IDS[2]]: "same" });
    const rotate = await stack.up();
    expect(rotate.ok, rotate.text).toBe(true);
    expect(patches()).toEqual([{ path: `/api/v3/connected_accounts/${IDS[1]}`, body: val({ api_key: K2_ROTATED }) }]);

    sandbox.clearRequests();
    const noop = await stack.preview();
    expect(noop.ops).toEqual({ [IDS[0]]: "same", [IDS[1]]: "same", [IDS[2]]: "same" });
    expect(sandbox.requests).toEqual([]);
  });

  it("a tampered file stops the preview at an account it feeds, and nothing is sent", async () => {
    const intact = fs.readFileSync(sopsFile(), "utf8");
    const text = intact.replace(/(first: ENC\[AES256_GCM,data:[^,]*)/, (_m, data: string) => `${data.slice(0, -4)}${data.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`);
    expect(text).not.toBe(intact);
    fs.writeFileSync(sopsFile(), text);
    // And a change that needs sending, so a preview that did not read the file would show it.
    setEnvAlias(stack, "two-renamed");
    sandbox.clearRequests();
    const run = await stack.preview();
    fs.writeFileSync(sopsFile(), intact);
    setEnvAlias(stack, "two");
    expect(run.ok).toBe(false);
    // The engine stops at the first account whose Check fails; each says where and what.
    expect(run.text).toMatch(/accounts\/openai\/(one|two|three)\.yaml:8:5 credentials\.api_key\.sops: SOPS file secrets\/team\.sops\.yaml fails its integrity check \(MAC mismatch\): it was changed without sops .*; nothing is sent for this account\. fix: restore it from a trusted revision/);
    expect(patches()).toEqual([]);
  });

  it("with a wrong key says so; with none, names every account up front; and sends nothing", async () => {
    sandbox.clearRequests();
    stack.env.SOPS_AGE_KEY = other.identity;
    const wrong = await stack.preview();
    stack.env.SOPS_AGE_KEY = "";
    const none = await stack.preview();
    stack.env.SOPS_AGE_KEY = key.identity;
    expect(wrong.ok).toBe(false);
    expect(none.ok).toBe(false);
    expect(wrong.text).toMatch(new RegExp(`accounts/openai/(one|two|three)\\.yaml:8:5 credentials\\.api_key\\.sops: no key available here can decrypt SOPS file secrets/team\\.sops\\.yaml: the age key set here is not one the file is encrypted for \\(it is encrypted for age ${key.recipient}\\)`));
    // No key at all is known before anything is registered: one line per account, as for an unset variable.
    expect(none.text).toContain("error: 3 problems in the account files; nothing was sent to Composio.");
    for (const file of ["one", "two", "three"]) {
      expect(none.text).toContain(`accounts/openai/${file}.yaml:8:5 credentials.api_key.sops: no age key is set here to decrypt SOPS file ../../secrets/team.sops.yaml (it is encrypted for age ${key.recipient})`);
    }
    expect(none.text).toContain("fix: set SOPS_AGE_KEY (or SOPS_AGE_KEY_FILE) to the age identity of one of those recipients");
    expect(none.ops).toEqual({});
    expect(sandbox.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("a key service the repository does not approve stops the preview, naming the file and its address, and is never contacted", async () => {
    // A Vault stand-in on loopback that records whether anything reached it.
    const reached: string[] = [];
    const vault = http.createServer((req, res) => {
      reached.push(`${req.method} ${req.url} token=${String(req.headers["x-vault-token"])}`);
      res.writeHead(403).end();
    });
    await new Promise<void>((resolve) => vault.listen(0, "127.0.0.1", resolve));
    const address = `http://127.0.0.1:${(vault.address() as AddressInfo).port}`;
    const intact = fs.readFileSync(sopsFile(), "utf8");
    // Metadata is outside the MAC: the file still decrypts with the age key; only a Vault token and no age key here.
    const i = /^sops:\n( +)/m.exec(intact)![1];
    fs.writeFileSync(sopsFile(), `${intact}${i}hc_vault:\n${i}${i}- vault_address: ${address}\n${i}${i}  engine_path: sops\n${i}${i}  key_name: team\n${i}${i}  created_at: "2026-01-01T00:00:00Z"\n${i}${i}  enc: vault:v1:QUJDREVGR0hJSktMTU5PUA==\n`);
    Object.assign(stack.env, { SOPS_AGE_KEY: "", VAULT_TOKEN: "hvs.PLANTED-vault-token" });
    sandbox.clearRequests();
    try {
      const run = await stack.preview();
      expect(run.ok).toBe(false);
      expect(run.text).toContain(`SOPS file ../../secrets/team.sops.yaml names a key service the repository does not approve (.sops.yaml does not name it): Vault transit ${address}/v1/sops/keys/team`);
      expect(run.ops).toEqual({});
      expect(reached).toEqual([]);
      expect(sandbox.requests.filter((r) => r.method !== "GET")).toEqual([]);
    } finally {
      fs.writeFileSync(sopsFile(), intact);
      Object.assign(stack.env, { SOPS_AGE_KEY: key.identity });
      delete stack.env.VAULT_TOKEN;
      await new Promise((resolve) => vault.close(resolve));
    }
  });

  it("takes a relative SOPS_AGE_KEY_FILE from the project root, and names the absolute path of one that is not there", async () => {
    const root = fs.realpathSync(stack.ws.dir);
    fs.mkdirSync(path.join(root, "keys"), { recursive: true });
    fs.writeFileSync(path.join(root, "keys/team.agekey"), `${key.identity}\n`, { mode: 0o600 });
    stack.env.SOPS_AGE_KEY = "";
    try {
      stack.env.SOPS_AGE_KEY_FILE = "keys/typo.agekey";
      const missing = await stack.preview();
      expect(missing.ok).toBe(false);
      expect(missing.text).toContain(`credentials.api_key.sops: age key file not found at ${path.join(root, "keys/typo.agekey")} (SOPS_AGE_KEY_FILE; "keys/typo.agekey" is resolved from the project root, ${root}): no age key here can decrypt SOPS file ../../secrets/team.sops.yaml`);
      expect(missing.text).not.toContain("no age key is set here");
      stack.env.SOPS_AGE_KEY_FILE = "keys/team.agekey";
      const found = await stack.preview();
      expect(found.ok, found.text).toBe(true);
    } finally {
      delete stack.env.SOPS_AGE_KEY_FILE;
      stack.env.SOPS_AGE_KEY = key.identity;
    }
  });

  it("leaves no value in anything the CLI printed or stored", async () => {
    expectNothingPlanted(stack.printed.join("\n"), "the CLI's output");
    expectNothingPlanted(stack.events.map(eventsWithoutDebug).join("\n"), "the engine's events");
    expectNothingPlanted(stack.stateFilesText(), "the backend's state files");
    expectNothingPlanted(await stack.exportState(), "pulumi stack export");
    expectNothingPlanted(stack.stackFileText(), "the stack settings file");
  });
});

/** Renames account two (a change the preview would show if it got that far). */
function setEnvAlias(stack: CliStack, alias: string): void {
  stack.ws.write("openai/two.yaml", { id: IDS[1], toolkit: "openai", userId: "team", alias, authScheme: "API_KEY", credentials: { api_key: { sops: "../../secrets/team.sops.yaml", key: "team.second" } } });
}
