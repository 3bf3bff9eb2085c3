/**
 * Releasing an account: deleting its file stops managing it. Nothing is sent; the account stays in
 * Composio as it was; adopting it again sends what the file declares once more.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";

const KEY_1 = "sk_release_first_8Tj4Rs";

let sandbox: Sandbox;
let stack: TestStack;

beforeAll(async () => {
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_rel", toolkit: "github", userId: "team", authScheme: "API_KEY" }] });
});
afterAll(async () => sandbox.close());
beforeEach(() => {
  stack = new TestStack("release", sandbox.url);
  stack.env = { GH_KEY: KEY_1 };
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

const account = (over: Record<string, unknown> = {}) => ({
  id: "ca_rel", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
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

describe("a released account", () => {
  it("is dropped from the state without a request, stays in Composio, and is adopted again from a new file", async () => {
    await adopted();
    stack.ws.remove("a.yaml");
    const released = await stack.up();
    expect(released.steps[0]).toMatchObject({ name: "ca_rel", op: "delete" });
    expect(released.steps[0].error).toBeUndefined();
    expect(sandbox.requests).toEqual([]);
    expect(JSON.parse(stack.stateText()).resources).toEqual([]);
    expect(sandbox.account("ca_rel")).toMatchObject({ alias: "gh-prod", val: { api_key: KEY_1, subdomain: "acme" } });

    stack.ws.write("a.yaml", account({ alias: "gh-again" }));
    const again = await stack.up();
    expect(again.steps[0].op).toBe("create");
    expect(patches()).toEqual([{ alias: "gh-again", connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_1, subdomain: "acme" } } } }]);
  });
});
