/**
 * Releasing an account: deleting its file stops managing it. Nothing is sent; the account stays in
 * Composio as it was; adopting it again sends what the file declares once more.
 */
import { describe, expect, it } from "vitest";
import { deploymentSuite } from "../support/deployment";

const KEY_1 = "sk_release_first_8Tj4Rs";

const suite = deploymentSuite({
  stackName: "release",
  seeds: [{ id: "ca_rel", toolkit: "github", userId: "team", authScheme: "API_KEY" }],
  env: { GH_KEY: KEY_1 },
});

const account = (over: Record<string, unknown> = {}) => ({
  id: "ca_rel", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme" }, ...over,
});
const patches = () => suite.sandbox.requests.filter((r) => r.method === "PATCH").map((r) => r.body);

/** Adopts the account as `account(over)` says, then forgets the adoption's requests. */
const adopted = (over: Record<string, unknown> = {}) => suite.adopted("a.yaml", account(over));

describe("a released account", () => {
  it("is dropped from the state without a request, stays in Composio, and is adopted again from a new file", async () => {
    await adopted();
    suite.stack.ws.remove("a.yaml");
    const released = await suite.stack.up();
    expect(released.steps[0]).toMatchObject({ name: "ca_rel", op: "delete" });
    expect(released.steps[0].error).toBeUndefined();
    expect(suite.sandbox.requests).toEqual([]);
    expect(JSON.parse(suite.stack.stateText()).resources).toEqual([]);
    expect(suite.sandbox.account("ca_rel")).toMatchObject({ alias: "gh-prod", val: { api_key: KEY_1, subdomain: "acme" } });

    suite.stack.ws.write("a.yaml", account({ alias: "gh-again" }));
    const again = await suite.stack.up();
    expect(again.steps[0].op).toBe("create");
    expect(patches()).toEqual([{ alias: "gh-again", connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_1, subdomain: "acme" } } } }]);
  });
});
