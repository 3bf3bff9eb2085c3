/**
 * Removing a key: a credential dropped from the file is removed from the account (sent as null);
 * one declared null is sent once, recorded, and never again.
 */
import { describe, expect, it } from "vitest";
import { deploymentSuite } from "../support/deployment";

const KEY_1 = "sk_remove_first_5Hn2Pq";

const suite = deploymentSuite({
  stackName: "remove-key",
  seeds: [{ id: "ca_rm", toolkit: "github", userId: "team", authScheme: "API_KEY" }],
  env: { GH_KEY: KEY_1 },
});

const account = (over: Record<string, unknown> = {}) => ({
  id: "ca_rm", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme" }, ...over,
});
const patches = () => suite.sandbox.requests.filter((r) => r.method === "PATCH").map((r) => r.body);

/** Adopts the account as `account(over)` says, then forgets the adoption's requests. */
const adopted = (over: Record<string, unknown> = {}) => suite.adopted("a.yaml", account(over));

describe("a removed key", () => {
  it("a key dropped from the file is sent as null once", async () => {
    await adopted();
    suite.stack.ws.write("a.yaml", account({ credentials: { api_key: { env: "GH_KEY" } } }));
    await suite.stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { subdomain: null } } } }]);
    suite.sandbox.clearRequests();
    expect((await suite.stack.up()).summary).toMatchObject({ same: 1 });
    expect(suite.sandbox.requests).toEqual([]);
    expect(suite.sandbox.account("ca_rm")?.val).not.toHaveProperty("subdomain");
  });

  it("sends an explicit null once, records it, and sends nothing for it later", async () => {
    suite.stack.ws.write("a.yaml", account({ alias: undefined, credentials: { api_key: { env: "GH_KEY" }, password: null } }));
    await suite.stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_1, password: null } } } }]);
    suite.sandbox.clearRequests();
    const d = await suite.stack.up();
    expect(d.summary).toMatchObject({ same: 1 });
    expect(suite.sandbox.requests).toHaveLength(0);
  });
});
