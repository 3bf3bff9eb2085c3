import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { isSecret, SECRET_SIG, SECRET_SIG_KEY, secret } from "./secrets";

/** One resource as Pulumi records it: inputs and outputs, secrets kept marked (and encrypted on disk). */
export interface ResourceState {
  urn: string;
  type: string;
  name: string;
  id: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  /** Reasons of a partial failure: the next deployment updates the resource even without a diff. */
  initErrors?: string[];
}

export interface StackState {
  resources: ResourceState[];
  /**
   * The stack config the default provider was configured with at the last update: the engine keeps
   * it as that provider's recorded inputs and configures a refresh with it, not with today's config.
   */
  providerConfig?: { config: Record<string, unknown>; secretKeys: string[] };
}

/**
 * State kept in a JSON file between deployments, secrets encrypted like a passphrase-backed stack
 * (`{ 4dabf…: 1b47…, ciphertext }`), so a test can read the file and find no plaintext secret.
 */
export class StateFile {
  private readonly key: Buffer;

  constructor(readonly path: string, passphrase = "harness-passphrase") {
    this.key = createHash("sha256").update(passphrase).digest();
  }

  read(): StackState {
    if (!fs.existsSync(this.path)) return { resources: [] };
    return this.decrypt(JSON.parse(fs.readFileSync(this.path, "utf8"))) as StackState;
  }

  write(state: StackState): void {
    fs.writeFileSync(this.path, JSON.stringify(this.encrypt(state), null, 2) + "\n");
  }

  private encrypt(v: unknown): unknown {
    if (isSecret(v)) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", this.key, iv);
      const data = Buffer.concat([cipher.update(JSON.stringify(v.value), "utf8"), cipher.final()]);
      return { [SECRET_SIG_KEY]: SECRET_SIG, ciphertext: `v1:${iv.toString("base64")}:${Buffer.concat([data, cipher.getAuthTag()]).toString("base64")}` };
    }
    if (Array.isArray(v)) return v.map((x) => this.encrypt(x));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.encrypt(x)]));
    return v;
  }

  private decrypt(v: unknown): unknown {
    if (v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG && "ciphertext" in v) {
      const [, ivB64, dataB64] = String((v as { ciphertext: string }).ciphertext).split(":");
      const raw = Buffer.from(dataB64, "base64");
      const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(ivB64, "base64"));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const text = Buffer.concat([decipher.update(raw.subarray(0, raw.length - 16)), decipher.final()]).toString("utf8");
      return secret(JSON.parse(text));
    }
    if (Array.isArray(v)) return v.map((x) => this.decrypt(x));
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.decrypt(x)]));
    return v;
  }
}
