/**
 * Removing a key: a credential dropped from the file is removed from the account (sent as null);
 * one declared null is sent once, recorded, and never again.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../../provider/sandbox/server";
import { API_KEY, TestStack } from "../support/stack";

const KEY_1 = "sk_remove_first_5Hn2Pq";

let sandbox: Sandbox;
let stack: TestStack;

beforeAll(async () => {
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_rm", toolkit: "github", userId: "team", authScheme: "API_KEY" }] });
});
afterAll(async () => sandbox.close());
beforeEach(() => {
  stack = new TestStack("remove-key", sandbox.url);
  stack.env = { GH_KEY: KEY_1 };
  sandbox.clearRequests();
});
afterEach(() => stack.cleanup());

const account = (over: Record<string, unknown> = {}) => ({
  id: "ca_rm", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
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

describe("a removed key", () => {
  it("a key dropped from the file is sent as null once", async () => {
    await adopted();
    stack.ws.write("a.yaml", account({ credentials: { api_key: { env: "GH_KEY" } } }));
    await stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { subdomain: null } } } }]);
    sandbox.clearRequests();
    expect((await stack.up()).summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_rm")?.val).not.toHaveProperty("subdomain");
  });

  it("sends an explicit null once, records it, and sends nothing for it later", async () => {
    stack.ws.write("a.yaml", account({ alias: undefined, credentials: { api_key: { env: "GH_KEY" }, password: null } }));
    await stack.up();
    expect(patches()).toEqual([{ connection: { state: { authScheme: "API_KEY", val: { api_key: KEY_1, password: null } } } }]);
    sandbox.clearRequests();
    const d = await stack.up();
    expect(d.summary).toMatchObject({ same: 1 });
    expect(sandbox.requests).toHaveLength(0);
  });
});
