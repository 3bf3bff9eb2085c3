import * as fs from "node:fs";
import * as path from "node:path";
import { Engine, type Deployment } from "../harness/engine";
import { PROJECT_ROOT, Workspace } from "./workspace";

export const API_KEY = "test-api-key-7Qv93xLm";
export const FINGERPRINT_KEY = "test-fingerprint-key-0Zp4-9f2c41d7a8e35b60c1d2e3f4";

/** A stack under test: a workspace of account files, its config, and the engine with its state file. */
export class TestStack {
  readonly ws: Workspace;
  readonly engine: Engine;
  env: Record<string, string> = {};
  config: Record<string, string>;
  secretKeys = ["connected-accounts:apiKey", "connected-accounts:fingerprintKey"];
  /** Every deployment's printed output, for secret scans. */
  readonly logs: string[] = [];

  constructor(name: string, baseUrl: string) {
    this.ws = new Workspace(name);
    this.engine = new Engine(PROJECT_ROOT, path.join(this.ws.dir, "state.json"));
    this.config = {
      "connected-accounts:baseUrl": baseUrl,
      "connected-accounts:apiKey": API_KEY,
      "connected-accounts:fingerprintKey": FINGERPRINT_KEY,
      "connected-accounts:accountsDir": this.ws.accountsDir,
      "connected-accounts:retryBaseMs": "20",
    };
  }

  setSecretConfig(key: string, value: string): void {
    this.config[`connected-accounts:${key}`] = value;
    this.secretKeys.push(`connected-accounts:${key}`);
  }

  async up(): Promise<Deployment> {
    return this.keep(await this.engine.up(this.options()));
  }

  async preview(): Promise<Deployment> {
    return this.keep(await this.engine.preview(this.options()));
  }

  async refresh(): Promise<Deployment> {
    return this.keep(await this.engine.refresh(this.options()));
  }

  stateText(): string {
    return fs.existsSync(this.engine.state.path) ? fs.readFileSync(this.engine.state.path, "utf8") : "";
  }

  /** Everything a user or an attacker with the state file could read. */
  everythingPrinted(): string {
    return [this.stateText(), ...this.logs].join("\n");
  }

  cleanup(): void {
    this.ws.cleanup();
  }

  private options() {
    return { config: this.config, secretKeys: this.secretKeys, env: this.env };
  }

  private keep(d: Deployment): Deployment {
    this.logs.push(d.log, JSON.stringify(d.steps), d.programError ?? "", JSON.stringify(d.outputs ?? {}));
    return d;
  }
}
