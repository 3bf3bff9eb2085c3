/**
 * Key services named in a SOPS file's metadata (outside its MAC, so anyone who commits can add
 * one): only those the repository's `.sops.yaml` approves are ever contacted. A loopback HTTP
 * server stands in for a Vault address and records every request it gets, with the token sent.
 * Also: sops runs with only the environment decryption needs, asynchronously and bounded in time.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptSopsFile } from "../provider/references/sops-decrypt";
import { approvedKeyServices, keyServicesOf, unapprovedKeyServices } from "../provider/references/sops-key-services";
import { readSopsRef } from "../provider/references/sops";
import { GitRepo, runCli } from "./support/git-repo";
import { newAgeKey, secretTools, sopsBinDir, sopsEnv, writeSopsFile, type AgeKey } from "./support/sops";

const STRIPE = "sk_live_KEYSERVICEsecret1";
const VAULT_TOKEN = "hvs.PLANTEDvaultTOKEN42";
const AWS_SECRET = "awsSECRETplanted/abc123";

interface VaultRequest {
  method: string;
  url: string;
  token: string | undefined;
}

/** A Vault stand-in on loopback: records each request; `answer: false` accepts and never answers. */
async function startVault(answer = true): Promise<{ url: string; requests: VaultRequest[]; close(): Promise<void> }> {
  const requests: VaultRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", token: req.headers["x-vault-token"] as string | undefined });
    req.resume();
    if (!answer) return;
    res.writeHead(403, { "content-type": "application/json" });
    res.end(JSON.stringify({ errors: ["permission denied"] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** What an attacker commits: the file's metadata gains a Vault entry; the file itself still decrypts. */
function addVaultEntry(file: string, address: string): void {
  // The `sops` mapping is the last of the file: the entry is appended to it, at its indentation, the rest left as sops wrote it.
  const text = fs.readFileSync(file, "utf8").replace(/\n( +)hc_vault:\n[\s\S]*$/, "\n");
  const i = /^sops:\n( +)/m.exec(text)![1];
  const entry = [`vault_address: ${JSON.stringify(address)}`, "engine_path: sops", "key_name: fleet", 'created_at: "2026-01-01T00:00:00Z"', "enc: vault:v1:QUJDREVGR0hJSktMTU5PUA=="];
  fs.writeFileSync(file, `${text}${i}hc_vault:\n${i}${i}- ${entry.join(`\n${i}${i}  `)}\n`);
}

const account = (credentials: string) => `id: ca_a\ntoolkit: stripe\nuserId: team\nauthScheme: API_KEY\ncredentials:\n${credentials}`;
const REF = "  api_key: { sops: ../secrets/fleet.sops.yaml, key: stripe.api_key }\n";

let key: AgeKey;
beforeAll(() => {
  key = newAgeKey();
});

describe("which key services a .sops.yaml approves", () => {
  // A file's metadata as sops writes it, one entry of every kind.
  const metadata = {
    kms: [{ arn: "arn:aws:kms:eu-west-1:111:key/k1", role: "arn:aws:iam::111:role/deploy", aws_profile: "", enc: "x" }],
    gcp_kms: [{ resource_id: "projects/p/locations/global/keyRings/r/cryptoKeys/k", enc: "x" }],
    azure_kv: [{ vault_url: "https://v.vault.azure.net", name: "sops", version: "abc", enc: "x" }],
    hc_vault: [{ vault_address: "https://vault.example.org:8200", engine_path: "sops", key_name: "fleet", enc: "x" }],
    pgp: [{ fp: "85D77543B3D624B63CEA9E6DBC17301B491B3F21", enc: "x" }],
    age: [{ recipient: "age1notaservice", enc: "x" }],
  };
  const config = [
    "creation_rules:",
    "  - path_regex: secrets/.*",
    "    kms: arn:aws:kms:eu-west-1:111:key/k1+arn:aws:iam::111:role/deploy",
    "    gcp_kms: projects/p/locations/global/keyRings/r/cryptoKeys/k",
    "    azure_keyvault: https://v.vault.azure.net/keys/sops/abc",
    "    hc_vault_transit_uri: https://vault.example.org:8200/v1/sops/keys/fleet",
    "    pgp: 85D77543B3D624B63CEA9E6DBC17301B491B3F21",
    "",
  ].join("\n");

  it("every kind sops contacts is matched exactly against the creation rules; age needs no approval", () => {
    const services = keyServicesOf(metadata);
    expect(services.map((s) => s.kind)).toEqual(["AWS KMS", "GCP KMS", "Azure Key Vault", "Vault transit", "PGP"]);
    const approved = approvedKeyServices(".sops.yaml", config);
    expect(unapprovedKeyServices(services, "message" in approved ? undefined : approved)).toEqual([]);
  });

  it("a key group in the rules approves as a rule's own keys do", () => {
    const grouped = [
      "creation_rules:",
      "  - key_groups:",
      "      - hc_vault: [https://vault.example.org:8200/v1/sops/keys/fleet]",
      "        kms: [{ arn: 'arn:aws:kms:eu-west-1:111:key/k1', role: 'arn:aws:iam::111:role/deploy' }]",
      "",
    ].join("\n");
    const approved = approvedKeyServices(".sops.yaml", grouped);
    const services = keyServicesOf({ kms: metadata.kms, hc_vault: metadata.hc_vault });
    expect(unapprovedKeyServices(services, "message" in approved ? undefined : approved)).toEqual([]);
  });

  it("another address, another role or a profile of its own, another key: not approved", () => {
    const approved = approvedKeyServices(".sops.yaml", config);
    if ("message" in approved) throw new Error(approved.message);
    const variants = keyServicesOf({
      hc_vault: [{ vault_address: "https://vault.example.org:8201", engine_path: "sops", key_name: "fleet" }],
      kms: [
        { arn: "arn:aws:kms:eu-west-1:111:key/k1", role: "arn:aws:iam::111:role/admin" },
        { arn: "arn:aws:kms:eu-west-1:111:key/k1", role: "arn:aws:iam::111:role/deploy", aws_profile: "attacker" },
      ],
      azure_kv: [{ vault_url: "https://v.vault.azure.net", name: "other", version: "abc" }],
      key_groups: [{ gcp_kms: [{ resource_id: "projects/evil/locations/global/keyRings/r/cryptoKeys/k" }] }],
    });
    expect(unapprovedKeyServices(variants, approved).map((s) => s.kind)).toEqual(["AWS KMS", "AWS KMS", "Azure Key Vault", "Vault transit", "GCP KMS"]);
  });

  it("a .sops.yaml that is not a mapping approves nothing, and says so", () => {
    expect(approvedKeyServices(".sops.yaml", "- just\n- a list\n")).toMatchObject({ message: ".sops.yaml is not a SOPS configuration (not a YAML mapping), so no key service is approved" });
  });
});

describe("a SOPS file naming a key service the repository does not approve", () => {
  let repo: GitRepo;
  let vault: Awaited<ReturnType<typeof startVault>>;
  const file = () => path.join(repo.dir, "secrets/fleet.sops.yaml");
  // The deploying machine: a Vault token and cloud credentials, no age key for this file.
  const machineEnv = () => ({ ...sopsEnv(), VAULT_TOKEN, AWS_SECRET_ACCESS_KEY: AWS_SECRET, PATH: `${sopsBinDir()}${path.delimiter}${process.env.PATH}` });
  beforeAll(async () => {
    vault = await startVault();
    repo = new GitRepo("sops-keyservice");
    repo.write(".sops.yaml", `creation_rules:\n  - path_regex: secrets/.*\\.sops\\.yaml$\n    age: ${key.recipient}\n`);
    writeSopsFile(file(), { stripe: { api_key: STRIPE } }, [key]);
    repo.write("accounts/a.yaml", account(REF));
    repo.commit("v1");
    addVaultEntry(file(), vault.url);
    repo.commit("v2");
  });
  afterAll(async () => {
    await vault?.close();
    repo?.cleanup();
  });

  const expectRefusal = (text: string, ref = "../secrets/fleet.sops.yaml") => {
    expect(text).toContain(`SOPS file ${ref} names a key service the repository does not approve (.sops.yaml does not name it)`);
    expect(text).toContain(`Vault transit ${vault.url}/v1/sops/keys/fleet`);
  };

  it("validate refuses it at the reference's line, naming the file and the address", () => {
    const result = runCli(["validate", "--format", "json"], { cwd: repo.dir, env: machineEnv() });
    expect(result.code).toBe(1);
    const errors = JSON.parse(result.stdout).errors as { file: string; line: number; field: string; message: string; fix: string }[];
    expect(errors.map((e) => [e.file, e.line, e.field])).toEqual([["accounts/a.yaml", 6, "credentials.api_key.sops"]]);
    expectRefusal(errors[0].message);
    expect(errors[0].fix).toContain("add it to a creation rule in .sops.yaml");
    expect(vault.requests).toEqual([]);
  });

  it("plan refuses the change that adds it", () => {
    const result = runCli(["plan", "--base", "v1", "--head", "v2"], { cwd: repo.dir, env: machineEnv() });
    expect(result.code).toBe(1);
    expectRefusal(result.stderr);
    expect(vault.requests).toEqual([]);
  });

  it("the provider's read refuses it without running sops: the address is never contacted, no token leaves", async () => {
    const ctx = { projectRoot: repo.dir, env: machineEnv(), once: <T>(_: string, read: () => T) => read() };
    const result = await readSopsRef({ sops: "secrets/fleet.sops.yaml", key: ["stripe", "api_key"] }, ctx);
    expect(result).toMatchObject({ at: ["sops"] });
    expectRefusal((result as { message: string }).message, "secrets/fleet.sops.yaml");
    // Long enough for a sops run to have reached the stand-in.
    await new Promise((r) => setTimeout(r, 500));
    expect(vault.requests).toEqual([]);
    expect(JSON.stringify(result)).not.toContain(STRIPE);
  });

  it("control characters in the address are escaped in the refusal", () => {
    const text = fs.readFileSync(file(), "utf8");
    try {
      addVaultEntry(file(), "http://evil\u001b[2J\nerror: forged");
      const result = runCli(["validate", "--format", "json"], { cwd: repo.dir, env: machineEnv() });
      const message = (JSON.parse(result.stdout).errors as { message: string }[])[0].message;
      expect(message).toContain("Vault transit http://evil\\x1b[2J\\x0aerror: forged/v1/sops/keys/fleet");
      expect(message).not.toMatch(/[\u0000-\u001f]/);
    } finally {
      fs.writeFileSync(file(), text);
    }
  });
});

describe("a key service the repository approves in .sops.yaml", () => {
  let repo: GitRepo;
  let vault: Awaited<ReturnType<typeof startVault>>;
  const file = () => path.join(repo.dir, "secrets/fleet.sops.yaml");
  beforeAll(async () => {
    vault = await startVault();
    repo = new GitRepo("sops-keyservice-approved");
    repo.write(".sops.yaml", `creation_rules:\n  - path_regex: secrets/.*\\.sops\\.yaml$\n    age: ${key.recipient}\n    hc_vault_transit_uri: ${vault.url}/v1/sops/keys/fleet\n`);
    writeSopsFile(file(), { stripe: { api_key: STRIPE } }, [key]);
    repo.write("accounts/a.yaml", account(REF));
    repo.commit("v1");
    addVaultEntry(file(), vault.url);
    repo.commit("v2");
  });
  afterAll(async () => {
    await vault?.close();
    repo?.cleanup();
  });

  it("passes validate, and plan shows the file's new key service as such", () => {
    expect(runCli(["validate"], { cwd: repo.dir, env: sopsEnv() }).code).toBe(0);
    const result = runCli(["plan", "--base", "v1", "--head", "v2"], { cwd: repo.dir, env: sopsEnv() });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`recipients changed in ../secrets/fleet.sops.yaml: added Vault transit ${vault.url}/sops/keys/fleet`);
  });

  it("is the one sops contacts, with the machine's Vault token and nothing else of it", async () => {
    const env = { ...sopsEnv(), VAULT_TOKEN, AWS_SECRET_ACCESS_KEY: AWS_SECRET, PATH: `${sopsBinDir()}${path.delimiter}${process.env.PATH}` };
    const result = await readSopsRef({ sops: "secrets/fleet.sops.yaml", key: ["stripe", "api_key"] }, { projectRoot: repo.dir, env, once: (_k, read) => read() });
    // The stand-in refuses the token: no key could decrypt, said in our words.
    expect(result).toMatchObject({ at: ["sops"], message: expect.stringContaining("no key available here can decrypt SOPS file secrets/fleet.sops.yaml") });
    expect(vault.requests.length).toBeGreaterThan(0);
    expect(vault.requests.every((r) => r.token === VAULT_TOKEN && r.url.startsWith("/v1/sops/decrypt/fleet"))).toBe(true);
  });
});

describe("the environment sops runs with", () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-env-"));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A stand-in for sops that records the environment it was given and prints an empty document. */
  function recordingSops(name: string): { command: string; env(): Record<string, string> } {
    const out = path.join(dir, `${name}.env`);
    const command = path.join(dir, `${name}-sops`);
    fs.writeFileSync(command, `#!/bin/sh\nenv -0 > '${out}'\necho '{}'\n`, { mode: 0o755 });
    return {
      command,
      env: () => Object.fromEntries(fs.readFileSync(out, "utf8").split("\0").filter(Boolean).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])),
    };
  }

  const home = () => {
    const h = fs.mkdtempSync(path.join(dir, "home-"));
    fs.writeFileSync(path.join(h, ".vault-token"), VAULT_TOKEN);
    fs.mkdirSync(path.join(h, ".aws"));
    fs.writeFileSync(path.join(h, ".aws/credentials"), `[default]\naws_secret_access_key = ${AWS_SECRET}\n`);
    return h;
  };
  const machine = (h: string) => ({
    ...process.env, HOME: h, VAULT_TOKEN, VAULT_ADDR: "http://127.0.0.1:1", AWS_SECRET_ACCESS_KEY: AWS_SECRET, AWS_PROFILE: "prod",
    GOOGLE_APPLICATION_CREDENTIALS: "/gcp.json", SOPS_KEYSERVICE: "tcp://127.0.0.1:1", SOPS_CONFIG: "/elsewhere.yaml",
    COMPOSIO_API_KEY: "ak_PLANTED", SOPS_AGE_KEY: key.identity,
  });

  it("for an age-only file: the age key, no service credentials, no remote key service, and a HOME with nothing in it", async () => {
    const sops = recordingSops("age");
    const h = home();
    const result = await decryptSopsFile({ file: "/x.sops.yaml", ref: "x.sops.yaml", recipients: [`age ${key.recipient}`], keyServices: [], env: machine(h), command: sops.command });
    expect(result).toEqual({ data: {} });
    const env = sops.env();
    expect(env.SOPS_AGE_KEY).toBe(key.identity);
    for (const name of ["VAULT_TOKEN", "VAULT_ADDR", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS", "SOPS_KEYSERVICE", "SOPS_CONFIG", "COMPOSIO_API_KEY"]) expect(env[name], name).toBeUndefined();
    expect(env.HOME).not.toBe(h);
    expect(fs.readdirSync(env.HOME)).toEqual([]);
    expect(Object.values(env).join("\n")).not.toContain(VAULT_TOKEN);
  });

  it("for a file with an approved Vault: Vault's variables and HOME (for ~/.vault-token), still no cloud credentials", async () => {
    const sops = recordingSops("vault");
    const h = home();
    await decryptSopsFile({ file: "/x.sops.yaml", ref: "x.sops.yaml", recipients: [], keyServices: [{ kind: "Vault transit", id: "http://127.0.0.1:1/v1/sops/keys/k" }], env: machine(h), command: sops.command });
    const env = sops.env();
    expect(env.VAULT_TOKEN).toBe(VAULT_TOKEN);
    expect(env.HOME).toBe(h);
    for (const name of ["AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "GOOGLE_APPLICATION_CREDENTIALS", "SOPS_KEYSERVICE", "COMPOSIO_API_KEY"]) expect(env[name], name).toBeUndefined();
  });
});

describe("decryption waiting on a key service that never answers", () => {
  let vault: Awaited<ReturnType<typeof startVault>>;
  let dir: string;
  beforeAll(async () => {
    vault = await startVault(false);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-slow-"));
  });
  afterAll(async () => {
    await vault?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps the event loop running, ends at its limit with a clear error, and leaves no sops process behind", async () => {
    const file = path.join(dir, "slow.sops.yaml");
    writeSopsFile(file, { token: STRIPE }, [key]);
    addVaultEntry(file, vault.url);
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 50);
    const started = Date.now();
    const result = await decryptSopsFile({
      file, ref: "slow.sops.yaml", recipients: [], keyServices: [{ kind: "Vault transit", id: `${vault.url}/v1/sops/keys/fleet` }],
      env: { ...sopsEnv(), VAULT_TOKEN, PATH: process.env.PATH }, command: secretTools().sops, timeoutMs: 2_000,
    });
    clearInterval(ticker);
    const elapsed = Date.now() - started;
    expect(result).toEqual({ message: "sops did not finish decrypting slow.sops.yaml within 2 s", fix: expect.stringContaining("key service") });
    expect(vault.requests.length).toBeGreaterThan(0);
    expect(elapsed).toBeLessThan(5_000);
    // A blocked loop would tick at most once; a free one about 40 times in 2 s.
    expect(ticks).toBeGreaterThan(20);
    const survivors = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(file);
      } catch {
        return false;
      }
    });
    expect(survivors).toEqual([]);
  }, 90_000);
});
