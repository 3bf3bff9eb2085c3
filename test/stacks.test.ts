import { createDecipheriv, pbkdf2Sync } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROJECT_ROOT } from "./support/workspace";

const dev = parse(fs.readFileSync(path.join(PROJECT_ROOT, "stacks/Pulumi.dev.yaml"), "utf8")) as { encryptionsalt: string; config: Record<string, string | { secure: string }> };

/** Pulumi's passphrase provider: v1:<nonce>:<AES-256-GCM(value)>, key = PBKDF2-SHA256(passphrase, salt, 1e6). */
function open(sealedValue: string, key: Buffer): string {
  const [, nonce, sealed] = sealedValue.split(":");
  const raw = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
  decipher.setAuthTag(raw.subarray(raw.length - 16));
  return Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString();
}

describe("the dev stack", () => {
  const devKey = () => pbkdf2Sync("dev-demo", Buffer.from(dev.encryptionsalt.split(":")[1], "base64"), 1_000_000, 32, "sha256");

  it("points at the sandbox's default port and key, the key kept as a stack secret", () => {
    expect(dev.config["connected-accounts:baseUrl"]).toBe("http://127.0.0.1:8787");
    expect(open((dev.config["connected-accounts:apiKey"] as { secure: string }).secure, devKey())).toBe("sandbox-demo-key");
  });

  it("keeps every credential the demo accounts reference as a stack secret, not in plain text", () => {
    const plain = Object.entries(dev.config).filter(([, v]) => typeof v === "string").map(([k]) => k);
    expect(plain).toEqual(["connected-accounts:baseUrl"]);
    const key = devKey();
    expect(open((dev.config["connected-accounts:githubToken"] as { secure: string }).secure, key)).toBe("ghp_demoPlatformBotToken0001");
  });

  it("keeps the fingerprint key as a stack secret long enough for the program", () => {
    const [, salt] = dev.encryptionsalt.split(":");
    const key = pbkdf2Sync("dev-demo", Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
    const sealed = dev.config["connected-accounts:fingerprintKey"] as { secure: string };
    expect(open(sealed.secure, key).length).toBeGreaterThanOrEqual(32);
  });

  it("carries a passphrase salt that opens with the documented demo passphrase", () => {
    // Pulumi's passphrase provider: v1:<salt>:v1:<nonce>:<AES-256-GCM("pulumi")>, key = PBKDF2-SHA256(passphrase, salt, 1e6).
    const [v1, salt, v1b, nonce, sealed] = dev.encryptionsalt.split(":");
    expect([v1, v1b]).toEqual(["v1", "v1"]);
    const key = pbkdf2Sync("dev-demo", Buffer.from(salt, "base64"), 1_000_000, 32, "sha256");
    const raw = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "base64"));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    expect(Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString()).toBe("pulumi");
  });
});
