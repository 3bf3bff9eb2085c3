/**
 * Rotating a secret: the value behind a reference changes (or the reference points elsewhere); the
 * preview shows which credential changed by its fingerprint, and the up sends that key alone.
 */
import { describe, expect, it } from "vitest";
import { deploymentSuite } from "../support/deployment";

const KEY_1 = "sk_rotate_first_2Kq9Lm";
const KEY_2 = "sk_rotate_second_7Wd3Zx";

const suite = deploymentSuite({
  stackName: "rotate",
  seeds: [{ id: "ca_rot", toolkit: "github", userId: "team", authScheme: "API_KEY" }],
  env: { GH_KEY: KEY_1 },
});

const account = (over: Record<string, unknown> = {}) => ({
  id: "ca_rot", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme" }, ...over,
});
const patches = () => suite.sandbox.requests.filter((r) => r.method === "PATCH").map((r) => r.body);

/** Adopts the account as `account(over)` says, then forgets the adoption's requests. */
const adopted = (over: Record<string, unknown> = {}) => suite.adopted("a.yaml", account(over));

describe("a rotated secret", () => {
  it("previews a changed fingerprint, sends only the rotated key, and prints neither value", async () => {
    await adopted();
    suite.stack.env = { GH_KEY: KEY_2 };
    const preview = await suite.stack.preview();
    expect(preview.steps[0].op).toBe("update");
    expect(preview.steps[0].diff?.map((c) => c.path)).toEqual(["fingerprints.api_key"]);
    expect(suite.sandbox.requests).toEqual([]);
    await suite.stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_2 } } } }]);
    suite.sandbox.clearRequests();
    expect((await suite.stack.up()).summary).toMatchObject({ same: 1 });
    expect(suite.sandbox.requests).toEqual([]);
    for (const secret of [KEY_1, KEY_2]) expect(suite.stack.everythingPrinted()).not.toContain(secret);
  });

  it("sends alias and credentials together in one request when both change", async () => {
    await adopted();
    suite.stack.env = { GH_KEY: KEY_2 };
    suite.stack.ws.write("a.yaml", account({ alias: "both-changed" }));
    await suite.stack.up();
    expect(patches()).toEqual([{ alias: "both-changed", connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_2 } } } }]);
  });

  it("sends the key again when the same value comes from another reference", async () => {
    await adopted();
    suite.stack.env = { GH_KEY: KEY_1, GH_KEY_NEW: KEY_1 };
    suite.stack.ws.write("a.yaml", account({ credentials: { api_key: { env: "GH_KEY_NEW" }, subdomain: "acme" } }));
    await suite.stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_1 } } } }]);
  });
});
