/**
 * The real Pulumi CLI (built by `npm run pulumi:cli` or installed), driving a copy of this project
 * against the loopback sandbox with a fresh local backend per stack. What a user runs, asserted the
 * way they would read it: the PATCH bodies Composio receives, what `pulumi preview --diff` prints
 * (golden files under test/golden/pulumi-cli/), refresh and drift, errors, and the absence of every
 * secret from everything the CLI printed or stored.
 *
 * The same deployment sequence then runs through test/harness/: it must take the same step per
 * account and send the same requests as the real engine, so the fast tests keep telling the truth.
 */
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { CliStack, eventsWithoutDebug, normalizePreview, pulumiBinDir, type Op } from "./support/pulumi-cli";
import { API_KEY, FINGERPRINT_KEY, TestStack } from "./support/stack";

const KEY_1 = "sk_first_6FqL2nP0aZ";
const KEY_2 = "sk_rotated_Hh81dMwq3";
const TOKEN = "tok_config_Xy7Bc90Lk";
const SECRETS = [KEY_1, KEY_2, TOKEN, API_KEY, FINGERPRINT_KEY];

let bin: string;
beforeAll(async () => {
  bin = await pulumiBinDir();
});

const SEEDS = [
  { id: "ca_seq1", toolkit: "github", userId: "team", authScheme: "API_KEY" as const },
  { id: "ca_oauth", toolkit: "slack", userId: "team", authScheme: "OAUTH2" as const },
];
const seqAccount = (over: Record<string, unknown> = {}) => ({
  id: "ca_seq1", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme", token: { config: "ghToken" } },
  ...over,
});
const OAUTH_ACCOUNT = { id: "ca_oauth", toolkit: "slack", userId: "team", alias: "slack-main", authScheme: "OAUTH2" };
const SEQ = "/api/v3/connected_accounts/ca_seq1";
const val = (v: Record<string, unknown>, scheme = "API_KEY") => ({ connection: { state: { authScheme: scheme, val: v } } });

/** What either engine needs to play the sequence. */
interface SequenceDriver {
  write(rel: string, content: Record<string, unknown>): void;
  remove(rel: string): void;
  env: Record<string, string>;
  preview(): Promise<{ ok: boolean; ops: Record<string, Op>; text?: string }>;
  up(): Promise<{ ok: boolean; ops: Record<string, Op>; text?: string }>;
}

interface StepSpec {
  name: string;
  change: (d: SequenceDriver) => void;
  /** Requests Composio receives during the `up`, in order per account (method path body). */
  requests: { method: string; path: string; body?: unknown }[];
  ops: Record<string, Op>;
}

/** adopt → rename → rotate → remove a key → a key set to null → no-op → pause → unpause → observe → release → re-adopt */
const SEQUENCE: StepSpec[] = [
  {
    name: "adopt",
    change: (d) => {
      d.env.GH_KEY = KEY_1;
      d.write("github/seq.yaml", seqAccount());
      d.write("slack/oauth.yaml", OAUTH_ACCOUNT);
    },
    requests: [
      { method: "GET", path: "/api/v3/connected_accounts/ca_oauth" },
      { method: "PATCH", path: "/api/v3/connected_accounts/ca_oauth", body: { alias: "slack-main" } },
      { method: "PATCH", path: SEQ, body: { alias: "gh-prod", ...val({ api_key: KEY_1, subdomain: "acme", token: TOKEN }) } },
    ],
    ops: { ca_seq1: "create", ca_oauth: "create" },
  },
  {
    name: "rename-alias",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-primary" })),
    requests: [{ method: "PATCH", path: SEQ, body: { alias: "gh-primary" } }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
  },
  {
    name: "rotate-secret",
    change: (d) => (d.env.GH_KEY = KEY_2),
    requests: [{ method: "PATCH", path: SEQ, body: val({ api_key: KEY_2 }) }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
  },
  {
    name: "remove-key",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-primary", credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme" } })),
    requests: [{ method: "PATCH", path: SEQ, body: val({ token: null }) }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
  },
  {
    name: "key-set-to-null",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-primary", credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme", password: null } })),
    requests: [{ method: "PATCH", path: SEQ, body: val({ password: null }) }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
  },
  {
    name: "no-op",
    change: () => {},
    requests: [],
    ops: { ca_seq1: "same", ca_oauth: "same" },
  },
  {
    name: "pause-and-change",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-frozen", paused: true, credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme", password: null } })),
    requests: [],
    ops: { ca_seq1: "update", ca_oauth: "same" },
  },
  {
    name: "unpause",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-frozen", credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme", password: null } })),
    requests: [{ method: "PATCH", path: SEQ, body: { alias: "gh-frozen" } }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
  },
  {
    name: "observe",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-frozen", manage: "observe", credentials: { api_key: { env: "GH_KEY" } } })),
    requests: [{ method: "GET", path: SEQ }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
  },
  {
    name: "release",
    change: (d) => d.remove("github/seq.yaml"),
    requests: [],
    ops: { ca_seq1: "delete", ca_oauth: "same" },
  },
  {
    name: "re-adopt",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-primary" })),
    requests: [{ method: "PATCH", path: SEQ, body: { alias: "gh-primary", ...val({ api_key: KEY_2, subdomain: "acme", token: TOKEN }) } }],
    ops: { ca_seq1: "create", ca_oauth: "same" },
  },
];

interface StepResult {
  name: string;
  previewOps: Record<string, Op>;
  upOps: Record<string, Op>;
  requests: { method: string; path: string; body?: unknown }[];
  previewText?: string;
}

/** Plays the sequence; each step is a preview, then an up, against a sandbox seeded afresh. */
async function playSequence(sandbox: Sandbox, driver: SequenceDriver): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of SEQUENCE) {
    step.change(driver);
    sandbox.clearRequests();
    const preview = await driver.preview();
    expect(preview.ok, `${step.name}: preview failed\n${preview.text ?? ""}`).toBe(true);
    expect(sandbox.requests, `${step.name}: a preview sends nothing`).toEqual([]);
    const up = await driver.up();
    expect(up.ok, `${step.name}: up failed\n${up.text ?? ""}`).toBe(true);
    results.push({
      name: step.name,
      previewOps: preview.ops,
      upOps: up.ops,
      previewText: preview.text,
      // Accounts are applied concurrently: the order between accounts is not fixed, within one it is.
      requests: sandbox.requests
        .map((r) => (r.body === undefined ? { method: r.method, path: r.path } : { method: r.method, path: r.path, body: r.body }))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    });
  }
  return results;
}

const expectedRequests = (step: StepSpec) => [...step.requests].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

/** Plain, JSON-escaped and base64 forms of a secret: none may appear anywhere. */
function expectNoSecret(text: string, where: string): void {
  for (const s of SECRETS) {
    for (const form of [s, JSON.stringify(s).slice(1, -1), Buffer.from(s).toString("base64"), encodeURIComponent(s)]) {
      const at = text.indexOf(form);
      // The context names the leak without repeating the secret.
      const context = at < 0 ? "" : text.slice(Math.max(0, at - 160), at + form.length + 40).split(form).join("<SECRET>");
      expect(at < 0, `${where} contains a secret (${s.slice(0, 6)}…): …${context}…`).toBe(true);
    }
  }
}

let realResults: StepResult[] | undefined;

describe("the deployment sequence under the real Pulumi CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
    stack = new CliStack("cli-sequence", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY, ghToken: TOKEN });
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("applies each step with the minimal PATCH, and the preview shows it", async () => {
    const driver: SequenceDriver = {
      write: (rel, content) => stack.ws.write(rel, content),
      remove: (rel) => stack.ws.remove(rel),
      env: stack.env,
      preview: () => stack.preview(),
      up: () => stack.up(),
    };
    const results = await playSequence(sandbox, driver);
    for (const [i, step] of SEQUENCE.entries()) {
      const got = results[i];
      expect({ step: step.name, requests: got.requests }).toEqual({ step: step.name, requests: expectedRequests(step) });
      expect({ step: step.name, preview: got.previewOps, up: got.upOps }).toEqual({ step: step.name, preview: step.ops, up: step.ops });
      await expect(normalizePreview(got.previewText ?? "", stack.ws.dir)).toMatchFileSnapshot(`golden/pulumi-cli/${String(i + 1).padStart(2, "0")}-${step.name}.txt`);
    }
    realResults = results;
    expect(sandbox.account("ca_seq1")).toMatchObject({ alias: "gh-primary" });

    // Nothing secret anywhere: what the CLI printed, its events, the backend's files, the export.
    expectNoSecret(stack.printed.join("\n"), "the CLI's output");
    expectNoSecret(stack.events.map(eventsWithoutDebug).join("\n"), "the engine's events");
    expectNoSecret(stack.stateFilesText(), "the backend's state files");
    const exported = await stack.exportState();
    expectNoSecret(exported, "pulumi stack export");
    expectNoSecret(stack.stackFileText(), "the stack settings file");
    expect(exported).toContain('"ca_seq1"');

    // Stack outputs as the CLI reads them back.
    const outputs = await stack.outputs();
    expect(outputs.accounts).toEqual({ ca_oauth: { alias: "slack-main", status: "ACTIVE" }, ca_seq1: { alias: "gh-primary", status: "ACTIVE" } });
    expect(outputs.fleet).toMatchObject({ total: 2, byToolkit: { github: 1, slack: 1 }, notActive: [] });
  });
});

describe("test/harness/ against the real CLI", () => {
  let sandbox: Sandbox;
  let stack: TestStack;
  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
    stack = new TestStack("harness-sequence", sandbox.url);
    stack.setSecretConfig("ghToken", TOKEN);
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("takes the same step per account and sends the same requests", async () => {
    const opsOf = (d: { steps: { name: string; op: string }[] }) => Object.fromEntries(d.steps.map((s) => [s.name, s.op as Op]));
    const driver: SequenceDriver = {
      write: (rel, content) => stack.ws.write(rel, content),
      remove: (rel) => stack.ws.remove(rel),
      env: stack.env,
      preview: async () => {
        const d = await stack.preview();
        return { ok: d.ok, ops: opsOf(d), text: d.programError };
      },
      up: async () => {
        const d = await stack.up();
        return { ok: d.ok, ops: opsOf(d), text: d.programError ?? d.steps.map((s) => s.error).join("\n") };
      },
    };
    const harness = await playSequence(sandbox, driver);
    expect(realResults, "the real CLI's sequence must have run first").toBeDefined();
    const comparable = (r: StepResult[]) => r.map(({ name, previewOps, upOps, requests }) => ({ name, previewOps, upOps, requests }));
    expect(comparable(harness)).toEqual(comparable(realResults!));
  });
});

describe("drift under the real CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [SEEDS[0]] });
    stack = new CliStack("cli-drift", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY, ghToken: TOKEN });
    stack.env.GH_KEY = KEY_1;
    stack.ws.write("github/seq.yaml", seqAccount());
    const adopted = await stack.up();
    expect(adopted.ok, adopted.text).toBe(true);
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("shows an alias renamed in Composio on refresh, and the next up puts the declared one back", async () => {
    const res = await request(`${sandbox.url}${SEQ}`, { method: "PATCH", body: JSON.stringify({ alias: "renamed-by-hand" }), headers: { "x-api-key": API_KEY, "content-type": "application/json" } });
    expect(res.statusCode).toBe(200);
    await res.body.text();

    const previewed = await stack.preview("--refresh");
    expect(previewed.ok, previewed.text).toBe(true);
    expect(previewed.text).toMatch(/~ alias\s*: "renamed-by-hand" => "gh-prod"/);

    const refreshed = await stack.refresh();
    expect(refreshed.ok, refreshed.text).toBe(true);
    expect(refreshed.ops).toEqual({ ca_seq1: "refresh" });
    // Credential values are never recorded, so the refreshed inputs lack them (nothing is sent for them).
    expect(refreshed.text).toMatch(/ca_seq1 updated \(.*\) \[diff: -credentials~alias\]/);

    sandbox.clearRequests();
    const restored = await stack.up();
    expect(restored.ok, restored.text).toBe(true);
    expect(sandbox.requests.map((r) => [r.method, r.path, r.body])).toEqual([["PATCH", SEQ, { alias: "gh-prod" }]]);
    expect(sandbox.account("ca_seq1")).toMatchObject({ alias: "gh-prod" });
  });

  it("drops an account deleted in Composio on refresh, with our message", async () => {
    const res = await request(`${sandbox.url}${SEQ}`, { method: "DELETE", headers: { "x-api-key": API_KEY } });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const refreshed = await stack.refresh();
    expect(refreshed.ok, refreshed.text).toBe(true);
    expect(refreshed.text).toContain("connected account ca_seq1 no longer exists in Composio (404)");
    expect(refreshed.ops).toEqual({ ca_seq1: "refresh" });
    const resources = (JSON.parse(await stack.exportState()) as { deployment: { resources: { urn: string }[] } }).deployment.resources;
    expect(resources.map((r) => r.urn.split("::").pop())).toEqual(["connected-accounts-test", "default"]);
  });
});

describe("bad input under the real CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [SEEDS[0]] });
    stack = new CliStack("cli-bad-input", bin);
    await stack.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY, ghToken: TOKEN });
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("stops the preview at a literal secret, then at an unset env reference, with file, line, field and fix, and sends nothing", async () => {
    sandbox.clearRequests();
    stack.ws.write("github/seq.yaml", seqAccount({ credentials: { api_key: { env: "GH_KEY" }, token: "ghp_literal_in_git_0001" } }));
    stack.env.GH_KEY = KEY_1;
    const literal = await stack.preview();
    expect(literal.ok).toBe(false);
    expect(literal.text).toContain("error: 1 problem in the account files; nothing was sent to Composio.");
    expect(literal.text).toContain('accounts/github/seq.yaml:9:3 credentials.token: "token" is a literal secret: secrets must never be written in an account file');
    expect(literal.text).toContain("fix: replace the value with a reference, e.g. { env: TOKEN } or { config: token }");
    expect(literal.text).not.toContain("ghp_literal_in_git_0001");

    stack.ws.write("github/seq.yaml", seqAccount({ credentials: { api_key: { env: "GH_KEY_UNSET" } } }));
    const unset = await stack.preview();
    expect(unset.ok).toBe(false);
    expect(unset.text).toContain("accounts/github/seq.yaml:7:3 credentials.api_key: environment variable GH_KEY_UNSET is not set");
    expect(unset.text).toContain("fix: export GH_KEY_UNSET=... before running pulumi");
    for (const run of [literal, unset]) {
      // A user error, not a crash: no stack trace, no engine noise about the program.
      expect(run.text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
      expect(run.ops).toEqual({});
    }
    expect(sandbox.requests).toEqual([]);
  });
});
