/**
 * What the files control, under the real Pulumi CLI: an account file named with an escape sequence
 * and a newline, and a SOPS file whose recipient holds the same. The program's error (what
 * `pulumi preview` prints, and the pull-request workflow posts) and the provider's error show them
 * escaped, as `validate` does: nothing clears the screen or forges an `error:` line.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { CliStack, pulumiBinDir } from "./support/pulumi-cli";
import { newAgeKey, sopsBinDir, writeSopsFile, type AgeKey } from "./support/sops";
import { API_KEY, FINGERPRINT_KEY } from "./support/stack";

/** Clears the screen, turns the text red, and starts a line that reads like Pulumi's own error. */
const FORGED = "\u001b[2J\u001b[1;31m\nerror: forged";
const ESCAPED = "\\x1b[2J\\x1b[1;31m\\x0aerror: forged";

/** What a terminal would act on; Pulumi's own colours are off (no terminal), so none is expected. */
function expectNothingRaw(text: string): void {
  expect(text).not.toContain("\u001b[2J");
  expect(text).not.toMatch(/^error: forged/m);
  expect(text).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202e]/);
}

describe("strings from files are escaped in what pulumi preview prints", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  let key: AgeKey;
  let other: AgeKey;

  beforeAll(async () => {
    const bin = await pulumiBinDir();
    key = newAgeKey();
    other = newAgeKey();
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_tt1", toolkit: "openai", userId: "team", authScheme: "API_KEY" }] });
    stack = new CliStack("cli-terminal-text", bin);
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-cli-tt-home-"));
    Object.assign(stack.env, { HOME: home, SOPS_AGE_KEY: "", PATH: [sopsBinDir(), bin, process.env.PATH].join(path.delimiter) });
    // A real SOPS file whose metadata (outside the MAC) names a hostile recipient.
    const sops = stack.ws.path("secrets/team.sops.yaml");
    writeSopsFile(sops, { first: "sk_terminal_text_Q2w9Lm" }, [key]);
    const doc = parseDocument(fs.readFileSync(sops, "utf8"));
    doc.setIn(["sops", "age", 0, "recipient"], `age1evil${FORGED}`);
    fs.writeFileSync(sops, doc.toString());
    stack.ws.write("openai/one.yaml", { id: "ca_tt1", toolkit: "openai", userId: "team", authScheme: "API_KEY", credentials: { api_key: { sops: "../../secrets/team.sops.yaml", key: "first" } } });
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("the program's error: an account file's name and a SOPS recipient, escaped, and nothing sent", async () => {
    stack.ws.write(`evil${FORGED}.yaml`, { id: "ca_tt2", toolkit: "openai", authScheme: "API_KEY" });
    const run = await stack.preview();
    stack.ws.remove(`evil${FORGED}.yaml`);
    expect(run.ok).toBe(false);
    expect(run.text).toContain(`accounts/evil${ESCAPED}.yaml:1:1 userId: missing required field "userId"`);
    expect(run.text).toContain(`(it is encrypted for age age1evil${ESCAPED})`);
    expectNothingRaw(run.text);
    expect(sandbox.requests).toEqual([]);
  });

  it("the provider's error: a wrong key's decryption failure names the recipient escaped", async () => {
    stack.env.SOPS_AGE_KEY = other.identity;
    const run = await stack.preview();
    expect(run.ok).toBe(false);
    expect(run.text).toContain(`age1evil${ESCAPED}`);
    expectNothingRaw(run.text);
    expect(sandbox.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });
});
