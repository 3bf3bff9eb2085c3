/**
 * Rotating a secret: the value behind a reference changes (or the reference points elsewhere); the
 * preview shows which credential changed by its fingerprint, and the up sends that key alone.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";

const KEY_1 = "sk_rotate_first_2Kq9Lm";
const KEY_2 = "sk_rotate_second_7Wd3Zx";

let sandbox: Sandbox;
let stack: TestStack;

beforeAll(async () => {
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_rot", toolkit: "github", userId: "team", authScheme: "API_KEY" }] });
});
afterAll(async () => sandbox.close());
beforeEach(() => {
  stack = new TestStack("rotate", sandbox.url);
  stack.env = { GH_KEY: KEY_1 };
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

const account = (over: Record<string, unknown> = {}) => ({
  id: "ca_rot", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme" }, ...over,
});
const patches = () => sandbox.requests.filter((r) => r.method === "PATCH").map((r) => r.body);

/** Adopts the account as `account(over)` says, then forgets the adoption's requests. */
async function adopted(over: Record<string, unknown> = {}): Promise<void> {
  stack.ws.write("a.yaml", account(over));
  const d = await stack.up();
  expect(d.ok, JSON.stringify(d.steps)).toBe(true);
  sandbox.clearRequests();
}

describe("a rotated secret", () => {
  it("previews a changed fingerprint, sends only the rotated key, and prints neither value", async () => {
    await adopted();
    stack.env = { GH_KEY: KEY_2 };
    const preview = await stack.preview();
    expect(preview.steps[0].op).toBe("update");
    expect(preview.steps[0].diff?.map((c) => c.path)).toEqual(["fingerprints.api_key"]);
    expect(sandbox.requests).toEqual([]);
    await stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_2 } } } }]);
    sandbox.clearRequests();
    expect((await stack.up()).summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toEqual([]);
    for (const secret of [KEY_1, KEY_2]) expect(stack.everythingPrinted()).not.toContain(secret);
  });

  it("sends alias and credentials together in one request when both change", async () => {
    await adopted();
    stack.env = { GH_KEY: KEY_2 };
    stack.ws.write("a.yaml", account({ alias: "both-changed" }));
    await stack.up();
    expect(patches()).toEqual([{ alias: "both-changed", connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_2 } } } }]);
  });

  it("sends the key again when the same value comes from another reference", async () => {
    await adopted();
    stack.env = { GH_KEY: KEY_1, GH_KEY_NEW: KEY_1 };
    stack.ws.write("a.yaml", account({ credentials: { api_key: { env: "GH_KEY_NEW" }, subdomain: "acme" } }));
    await stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_1 } } } }]);
  });
});
