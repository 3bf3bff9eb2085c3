/**
 * Real SOPS files for tests: age keys made by the real `age-keygen`, files encrypted and changed by
 * the real `sops`, both as `npm run pulumi:cli` provisions them (npm test runs it first). The
 * plaintext a test encrypts is written only to a temporary folder outside the repository.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { cacheBinDir } from "../../provider/pulumi-cli/locate";
import { AGE_KEYGEN, locateGoTool, SOPS } from "../../provider/pulumi-cli/secret-tools";
import { PINNED_PULUMI } from "./pulumi-cli";

let located: { sops: string; ageKeygen: string } | undefined;

/** The provisioned tools; a clear failure (never a skip) when they are missing. */
export function secretTools(): { sops: string; ageKeygen: string } {
  if (located) return located;
  const cache = cacheBinDir(PINNED_PULUMI, process.env);
  const sops = locateGoTool(SOPS, cache, process.env.PATH);
  const ageKeygen = locateGoTool(AGE_KEYGEN, cache, process.env.PATH);
  if (!sops || !ageKeygen) throw new Error(`no ${!sops ? "sops" : "age-keygen"} found: run npm run pulumi:cli (npm test runs it first)`);
  located = { sops: sops.file, ageKeygen: ageKeygen.file };
  return located;
}

/** The folder of `sops`, to put on the PATH of the CLI and the provider. */
export function sopsBinDir(): string {
  return path.dirname(secretTools().sops);
}

export interface AgeKey {
  /** `AGE-SECRET-KEY-1…`: what SOPS_AGE_KEY holds. */
  identity: string;
  /** `age1…`: what a file is encrypted for. */
  recipient: string;
}

export function newAgeKey(): AgeKey {
  const text = execFileSync(secretTools().ageKeygen, [], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const identity = /^AGE-SECRET-KEY-1[0-9A-Z]+$/m.exec(text)?.[0];
  const recipient = /^# public key: (age1[0-9a-z]+)$/m.exec(text)?.[1];
  if (!identity || !recipient) throw new Error("age-keygen printed no key");
  return { identity, recipient };
}

/** Environment that lets sops decrypt with `key` and nothing else from this machine. */
export function sopsEnv(key?: AgeKey): Record<string, string> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-home-"));
  // An empty HOME and config folder: sops finds no key file of this machine's (~/.config/sops/age/keys.txt, ~/.ssh).
  return { HOME: home, XDG_CONFIG_HOME: path.join(home, ".config"), SOPS_AGE_KEY: key?.identity ?? "" };
}

/** Encrypts `data` for `recipients` into `target` (YAML or JSON by its extension). */
export function writeSopsFile(target: string, data: Record<string, unknown>, recipients: readonly AgeKey[]): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sops-plain-"));
  const json = /\.json$/i.test(target);
  const plain = path.join(tmp, json ? "plain.json" : "plain.yaml");
  try {
    fs.writeFileSync(plain, json ? JSON.stringify(data) : stringify(data));
    const type = json ? "json" : "yaml";
    const out = execFileSync(secretTools().sops, ["--encrypt", "--age", recipients.map((r) => r.recipient).join(","), "--input-type", type, "--output-type", type, plain], {
      env: { ...process.env, SOPS_DISABLE_VERSION_CHECK: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** `sops set`: changes one value in place (the others keep their ciphertext), as a user rotates a credential. */
export function setSopsValue(target: string, key: readonly string[], value: string, identity: AgeKey): void {
  const jsonPath = key.map((s) => `[${JSON.stringify(s)}]`).join("");
  execFileSync(secretTools().sops, ["set", target, jsonPath, JSON.stringify(value)], {
    env: { ...process.env, ...sopsEnv(identity) },
    stdio: ["ignore", "pipe", "pipe"],
  });
}
