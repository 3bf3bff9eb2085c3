/**
 * What `connected-accounts plan` says a change intends is what `pulumi up` then sends. Each scenario
 * is one account file at a base and at a head: the plan command compares the two commits (the
 * compiled CLI, a real git repository), and the provider applies the base, then the head (the real
 * program and dynamic-provider server through the harness, against the loopback sandbox). The
 * changed fields of the one must be the requests of the other.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { GitRepo, runCli } from "./support/git-repo";
import { API_KEY, TestStack } from "./support/stack";

/** The same value behind two variables: a reference change the preview cannot see in the fingerprints. */
const VALUES = { GH_KEY: "sk_review_value_Qm71", GH_KEY_COPY: "sk_review_value_Qm71", GH_APP_SECRET: "tok_review_value_Zr40" };

type AccountYaml = Record<string, unknown>;

const BASE: AccountYaml = {
  toolkit: "github",
  alias: "gh-prod",
  authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme", token: { env: "GH_APP_SECRET" } },
};
const withCredentials = (credentials: Record<string, unknown>): AccountYaml => ({ ...BASE, credentials: { ...(BASE.credentials as object), ...credentials } });
const without = (field: string, from: AccountYaml = BASE): AccountYaml => Object.fromEntries(Object.entries(from).filter(([k]) => k !== field));

const SCENARIOS: { name: string; base?: AccountYaml; head: AccountYaml }[] = [
  { name: "an account adopted", head: BASE },
  { name: "nothing changed", base: BASE, head: BASE },
  { name: "an alias renamed", base: BASE, head: { ...BASE, alias: "gh-primary" } },
  { name: "an alias no longer managed", base: BASE, head: without("alias") },
  { name: "a reference moved to another variable holding the same value", base: BASE, head: withCredentials({ api_key: { env: "GH_KEY_COPY" } }) },
  { name: "a non-secret literal changed", base: BASE, head: withCredentials({ subdomain: "beta" }) },
  { name: "a key added", base: BASE, head: withCredentials({ region: "eu" }) },
  { name: "a key dropped from the file", base: BASE, head: { ...BASE, credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme" } } },
  { name: "a key set to null", base: BASE, head: withCredentials({ token: null }) },
  { name: "an account disabled, then renamed", base: BASE, head: { ...BASE, alias: "gh-off", enabled: false } },
  { name: "an account switched to observe", base: BASE, head: { ...withCredentials({ subdomain: "beta" }), manage: "observe" } },
  { name: "an account paused with a rename waiting", base: BASE, head: { ...BASE, alias: "gh-later", paused: true } },
];

/** What reaches Composio for one account: the alias and credential keys of its PATCH, and its status request. */
interface Sent {
  alias?: string;
  set: string[];
  removed: string[];
  enabled?: boolean;
}

interface PlannedAccount {
  action: string;
  alias?: { from: string | null; to: string | null };
  enabled?: { from: boolean | null; to: boolean | null };
  credentials: { added: string[]; changed: string[]; removed: string[] };
  lifecycle?: string;
}

/** What the plan says the next up sends: the changes it lists, unless the account is paused (they wait). */
function sentAccordingToPlan(planned: PlannedAccount): Sent {
  if (planned.lifecycle === "paused") return { set: [], removed: [] };
  const sent: Sent = { set: [...planned.credentials.added, ...planned.credentials.changed].sort(), removed: [...planned.credentials.removed].sort() };
  if (typeof planned.alias?.to === "string") sent.alias = planned.alias.to;
  if (typeof planned.enabled?.to === "boolean") sent.enabled = planned.enabled.to;
  return sent;
}

/** What the sandbox received for `id` from its `since`-th request on. */
function sentBySandbox(sandbox: Sandbox, id: string, since: number): Sent {
  const sent: Sent = { set: [], removed: [] };
  for (const r of sandbox.requests.slice(since).filter((q) => q.method === "PATCH")) {
    if (r.path === `/api/v3/connected_accounts/${id}/status`) {
      sent.enabled = (r.body as { enabled: boolean }).enabled;
    } else if (r.path === `/api/v3/connected_accounts/${id}`) {
      const body = r.body as { alias?: string; connection?: { state: { val: Record<string, string | null> } } };
      if (body.alias !== undefined) sent.alias = body.alias;
      for (const [key, value] of Object.entries(body.connection?.state.val ?? {})) (value === null ? sent.removed : sent.set).push(key);
    }
  }
  sent.set.sort();
  sent.removed.sort();
  return sent;
}

/** Each scenario's account belongs to a user of its own: aliases are unique per user and toolkit. */
function yaml(id: string, account: AccountYaml): string {
  return `${JSON.stringify({ id, ...account, userId: `user-${id}` }, null, 2)}\n`;
}

let sandbox: Sandbox;
const ids = SCENARIOS.map((_, i) => `ca_review${i + 1}`);

beforeAll(async () => {
  sandbox = await startSandbox({ apiKey: API_KEY, accounts: ids.map((id) => ({ id, toolkit: "github", userId: `user-${id}`, authScheme: "API_KEY" })) });
});
afterAll(async () => sandbox.close());

describe("plan and apply agree on what a change sends", () => {
  for (const [i, scenario] of SCENARIOS.entries()) it(scenario.name, async () => {
    const id = ids[i];
    // The plan command, between two commits.
    const repo = new GitRepo("review");
    let planned: PlannedAccount;
    try {
      if (scenario.base) repo.write("accounts/account.yaml", yaml(id, scenario.base));
      repo.commit("base");
      repo.write("accounts/account.yaml", yaml(id, scenario.head));
      repo.commit("head");
      const result = runCli(["plan", "--base", "base", "--head", "head", "--format", "json"], { cwd: repo.dir });
      expect(result.code, result.stderr + result.stdout).toBe(0);
      const plan = JSON.parse(result.stdout) as { accounts: PlannedAccount[] };
      expect(plan.accounts).toHaveLength(1);
      planned = plan.accounts[0];
    } finally {
      repo.cleanup();
    }

    // The provider, applying the base, then the head.
    const stack = new TestStack("review", sandbox.url);
    try {
      stack.env = { ...VALUES };
      if (scenario.base) {
        stack.ws.write("account.yaml", yaml(id, scenario.base));
        const adopted = await stack.up();
        expect(adopted.ok, adopted.log + JSON.stringify(adopted.steps)).toBe(true);
      }
      const since = sandbox.requests.length;
      stack.ws.write("account.yaml", yaml(id, scenario.head));
      const applied = await stack.up();
      expect(applied.ok, applied.log).toBe(true);
      expect(sentBySandbox(sandbox, id, since)).toEqual(sentAccordingToPlan(planned));
    } finally {
      stack.cleanup();
    }
  });
});
