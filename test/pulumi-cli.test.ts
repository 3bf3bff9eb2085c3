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
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { execFileSync, spawnSync } from "node:child_process";
import { PROVIDER_MODULE } from "../provider/pulumi/provider-module";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { CliStack, copyProject, eventsWithoutDebug, normalizePreview, patchFields, pulumiBinDir, shownChanges, type Op, type ShownChange } from "./support/pulumi-cli";
import { PROJECT_ROOT } from "./support/workspace";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { classifyPreview } = require("../scripts/ci/drift.js") as { classifyPreview(code: number, text: string): string };
import { API_KEY, FINGERPRINT_KEY, TestStack } from "./support/stack";

const KEY_1 = "sk_first_6FqL2nP0aZ";
const KEY_2 = "sk_rotated_Hh81dMwq3";
const TOKEN = "tok_config_Xy7Bc90Lk";
const SECRETS = [KEY_1, KEY_2, TOKEN, API_KEY, FINGERPRINT_KEY];
/** A test that runs many CLI commands in a row (each under COMMAND_TIMEOUT_MS) on a busy 2-core machine. */
const MANY_COMMANDS_MS = 900_000;

/** A sequence runs some thirty CLI commands, each a program, an engine and a provider process. */
const SEQUENCE_TIMEOUT_MS = 900_000;

let bin: string;
beforeAll(async () => {
  bin = await pulumiBinDir();
});

const SEEDS = [
  { id: "ca_seq1", toolkit: "github", userId: "team", authScheme: "API_KEY" as const },
  { id: "ca_oauth", toolkit: "slack", userId: "team", authScheme: "OAUTH2" as const },
  { id: "ca_linear", toolkit: "linear", userId: "team", authScheme: "OAUTH2" as const },
];
const seqAccount = (over: Record<string, unknown> = {}) => ({
  id: "ca_seq1", toolkit: "github", userId: "team", alias: "gh-prod", authScheme: "API_KEY",
  credentials: { api_key: { env: "GH_KEY" }, subdomain: "acme", token: { config: "ghToken" } },
  ...over,
});
const OAUTH_ACCOUNT = { id: "ca_oauth", toolkit: "slack", userId: "team", alias: "slack-main", authScheme: "OAUTH2" };
const SEQ = "/api/v3/connected_accounts/ca_seq1";
const val = (v: Record<string, unknown>, scheme = "API_KEY") => ({ connection: { state: { authScheme: scheme, val: v } } });
/** One list call reading these accounts (their order sorted, as `comparablePath` does). */
const LIST = (...ids: string[]) => `/api/v3/connected_accounts?connected_account_ids=${[...ids].sort().join(",")}&limit=${ids.length}`;
const PAUSED_CREDENTIALS = { api_key: { env: "GH_KEY" }, subdomain: "acme", password: null };

/** What either engine needs to play the sequence. */
interface SequenceDriver {
  write(rel: string, content: Record<string, unknown>): void;
  remove(rel: string): void;
  env: Record<string, string>;
  preview(): Promise<{ ok: boolean; ops: Record<string, Op>; text?: string }>;
  up(): Promise<{ ok: boolean; ops: Record<string, Op>; text?: string }>;
  refresh(): Promise<{ ok: boolean; text?: string }>;
}

interface StepSpec {
  name: string;
  change: (d: SequenceDriver, sandbox: Sandbox) => void | Promise<void>;
  /** Refresh after the change, before the preview (drift made in the dashboard). */
  refresh?: true;
  /** The up is expected to fail (a request refused mid-step). */
  fails?: true;
  /** Reads Composio receives during the preview (live checks of the accounts being adopted); it receives no write. */
  previewReads?: string[];
  /** The reads when the engine checks the accounts in another order. */
  previewReadsOr?: string[];
  /** Requests Composio receives during the `up`, in order per account (method path body). */
  requests: { method: string; path: string; body?: unknown }[];
  ops: Record<string, Op>;
  /** Lifecycle changes the preview shows per account (recorded without a request). */
  lifecycle?: Record<string, string[]>;
  /** The preview fails with these words (file, line, fix) and nothing is sent; `undo` puts the files back, no up runs. */
  previewFails?: string[];
  undo?: (d: SequenceDriver) => void;
}

/**
 * adopt → rename → rotate → remove a key → a key set to null → no-op → pause → change while paused →
 * unpause → observe → release → re-adopt → a wrong id → a wrong scheme
 */
const SEQUENCE: StepSpec[] = [
  {
    name: "adopt",
    change: (d) => {
      d.env.GH_KEY = KEY_1;
      d.write("github/seq.yaml", seqAccount());
      d.write("slack/oauth.yaml", OAUTH_ACCOUNT);
    },
    previewReads: [LIST("ca_seq1", "ca_oauth")],
    requests: [
      { method: "PATCH", path: "/api/v3/connected_accounts/ca_oauth", body: { alias: "slack-main" } },
      { method: "PATCH", path: SEQ, body: { alias: "gh-prod", ...val({ api_key: KEY_1, subdomain: "acme", token: TOKEN }) } },
      { method: "GET", path: LIST("ca_seq1", "ca_oauth") },
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
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-primary", credentials: PAUSED_CREDENTIALS })),
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
    name: "pause",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-primary", paused: true, credentials: PAUSED_CREDENTIALS })),
    requests: [],
    ops: { ca_seq1: "update", ca_oauth: "same" },
    lifecycle: { ca_seq1: ["paused"] },
  },
  {
    name: "change-while-paused",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-frozen", paused: true, credentials: { api_key: { env: "GH_KEY" }, password: null } })),
    requests: [],
    ops: { ca_seq1: "same", ca_oauth: "same" },
  },
  {
    name: "unpause",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-frozen", credentials: { api_key: { env: "GH_KEY" }, password: null } })),
    requests: [{ method: "PATCH", path: SEQ, body: { alias: "gh-frozen", ...val({ subdomain: null }) } }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
    lifecycle: { ca_seq1: ["paused"] },
  },
  {
    name: "observe",
    change: (d) => d.write("github/seq.yaml", seqAccount({ alias: "gh-frozen", manage: "observe", credentials: { api_key: { env: "GH_KEY" } } })),
    requests: [{ method: "GET", path: SEQ }],
    ops: { ca_seq1: "update", ca_oauth: "same" },
    lifecycle: { ca_seq1: ["manage"] },
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
    previewReads: [LIST("ca_seq1", "ca_oauth")],
    // When the engine checks ca_oauth first (it is recorded), nothing is left to read ahead: one GET.
    previewReadsOr: [SEQ],
    requests: [
      { method: "PATCH", path: SEQ, body: { alias: "gh-primary", ...val({ api_key: KEY_2, subdomain: "acme", token: TOKEN }) } },
      { method: "GET", path: LIST("ca_seq1", "ca_oauth") },
    ],
    ops: { ca_seq1: "create", ca_oauth: "same" },
  },
  {
    name: "wrong-id",
    change: (d) => d.write("github/missing.yaml", seqAccount({ id: "ca_missing", alias: "gh-missing" })),
    previewReads: [LIST("ca_missing", "ca_oauth", "ca_seq1"), "/api/v3/connected_accounts/ca_missing"],
    // When the engine checks the recorded accounts first, the read ahead has nothing else to read.
    previewReadsOr: ["/api/v3/connected_accounts/ca_missing"],
    previewFails: ["accounts/github/missing.yaml:1:1 id: connected account ca_missing does not exist in Composio; nothing is sent to it.", "fix: correct the id"],
    undo: (d) => d.remove("github/missing.yaml"),
    requests: [],
    ops: {},
  },
  {
    name: "wrong-scheme",
    change: (d) => d.write("linear/triage.yaml", { id: "ca_linear", toolkit: "linear", userId: "team", alias: "linear-triage", authScheme: "API_KEY", credentials: { api_key: { env: "GH_KEY" } } }),
    // ca_seq1 is checked first (its file comes first) and is recorded: the read ahead skips it.
    previewReads: [LIST("ca_linear", "ca_oauth")],
    // When the engine checks ca_oauth first, the read ahead has nothing else to read.
    previewReadsOr: ["/api/v3/connected_accounts/ca_linear"],
    previewFails: ["accounts/linear/triage.yaml:5:1 authScheme: connected account ca_linear has authScheme OAUTH2 in Composio, not API_KEY; nothing is sent to it.", "fix: set authScheme: OAUTH2"],
    undo: (d) => d.remove("linear/triage.yaml"),
    requests: [],
    ops: {},
  },
];

/** Someone switching the account in Composio's dashboard. */
async function dashboardEnable(sandbox: Sandbox, enabled: boolean): Promise<void> {
  const res = await request(`${sandbox.url}${SEQ}/status`, { method: "PATCH", body: JSON.stringify({ enabled }), headers: { "x-api-key": API_KEY, "content-type": "application/json" } });
  expect(res.statusCode).toBe(200);
  await res.body.text();
}

const STATUS = `${SEQ}/status`;

/**
 * `enabled` from adoption to observe: disable, enable with a rotation (rotation first), disable with a
 * rotation (disable first), a re-enable in the dashboard put back, an enable refused after its
 * rotation went through (and the retry), paused, observed.
 */
const ENABLED_SEQUENCE: StepSpec[] = [
  {
    name: "adopt-enabled",
    change: (d) => {
      d.env.GH_KEY = KEY_1;
      d.write("github/seq.yaml", seqAccount({ enabled: true }));
    },
    requests: [
      // No status request: the adoption's check read the account, already enabled.
      { method: "PATCH", path: SEQ, body: { alias: "gh-prod", ...val({ api_key: KEY_1, subdomain: "acme", token: TOKEN }) } },
    ],
    ops: { ca_seq1: "create" },
  },
  {
    name: "disable",
    change: (d) => d.write("github/seq.yaml", seqAccount({ enabled: false })),
    requests: [{ method: "PATCH", path: STATUS, body: { enabled: false } }],
    ops: { ca_seq1: "update" },
  },
  {
    name: "enable-and-rotate",
    change: (d) => {
      d.env.GH_KEY = KEY_2;
      d.write("github/seq.yaml", seqAccount({ enabled: true }));
    },
    requests: [
      { method: "PATCH", path: SEQ, body: val({ api_key: KEY_2 }) },
      { method: "PATCH", path: STATUS, body: { enabled: true } },
    ],
    ops: { ca_seq1: "update" },
  },
  {
    name: "disable-and-rotate",
    change: (d) => {
      d.env.GH_KEY = KEY_1;
      d.write("github/seq.yaml", seqAccount({ enabled: false }));
    },
    requests: [
      { method: "PATCH", path: STATUS, body: { enabled: false } },
      { method: "PATCH", path: SEQ, body: val({ api_key: KEY_1 }) },
    ],
    ops: { ca_seq1: "update" },
  },
  {
    name: "re-enabled-in-dashboard",
    change: (_d, sandbox) => dashboardEnable(sandbox, true),
    refresh: true,
    requests: [{ method: "PATCH", path: STATUS, body: { enabled: false } }],
    ops: { ca_seq1: "update" },
  },
  {
    name: "enable-refused-after-rotate",
    change: (d, sandbox) => {
      d.env.GH_KEY = KEY_2;
      d.write("github/seq.yaml", seqAccount({ enabled: true }));
      sandbox.inject({ method: "PATCH", path: /\/status$/, status: 403 });
    },
    fails: true,
    requests: [
      { method: "PATCH", path: SEQ, body: val({ api_key: KEY_2 }) },
      { method: "PATCH", path: STATUS, body: { enabled: true } },
    ],
    ops: { ca_seq1: "update" },
  },
  {
    name: "enable-retried",
    change: () => {},
    requests: [{ method: "PATCH", path: STATUS, body: { enabled: true } }],
    ops: { ca_seq1: "update" },
  },
  {
    name: "paused",
    change: (d) => d.write("github/seq.yaml", seqAccount({ enabled: false, paused: true })),
    requests: [],
    ops: { ca_seq1: "update" },
  },
  {
    name: "unpaused",
    change: (d) => d.write("github/seq.yaml", seqAccount({ enabled: false })),
    requests: [{ method: "PATCH", path: STATUS, body: { enabled: false } }],
    ops: { ca_seq1: "update" },
  },
  {
    name: "observe",
    change: async (d, sandbox) => {
      await dashboardEnable(sandbox, true);
      d.write("github/seq.yaml", seqAccount({ manage: "observe", enabled: false }));
    },
    requests: [{ method: "GET", path: SEQ }],
    ops: { ca_seq1: "update" },
  },
];

interface StepResult {
  name: string;
  previewOps: Record<string, Op>;
  upOps: Record<string, Op>;
  requests: { method: string; path: string; body?: unknown }[];
  previewReads: string[];
  previewText?: string;
  previewFailed: boolean;
  upText?: string;
}

/** A list call's ids in sorted order: which account's Check reads ahead first depends on the engine. */
function comparablePath(p: string): string {
  const m = /^(\/api\/v3\/connected_accounts\?)(.*)$/.exec(p);
  if (!m) return p;
  const q = new URLSearchParams(m[2]);
  const ids = q.get("connected_account_ids");
  return ids ? `${m[1]}connected_account_ids=${ids.split(",").sort().join(",")}&limit=${q.get("limit")}` : p;
}

/**
 * Plays a sequence; each step is a preview, then an up, against a sandbox seeded afresh. The preview
 * writes nothing, and (with `shows`) what it shows changing for each account is exactly what the up
 * sends to it: nothing for an account that gets no request (its lifecycle change aside).
 */
async function playSequence(sandbox: Sandbox, driver: SequenceDriver, sequence = SEQUENCE, shows?: (text: string) => Record<string, ShownChange>): Promise<StepResult[]> {
  const results: StepResult[] = [];
  for (const step of sequence) {
    sandbox.clearFaults();
    await step.change(driver, sandbox);
    if (step.refresh) {
      const refreshed = await driver.refresh();
      expect(refreshed.ok, `${step.name}: refresh failed\n${refreshed.text ?? ""}`).toBe(true);
    }
    sandbox.clearRequests();
    const preview = await driver.preview();
    const previewReads = sandbox.requests.filter((r) => r.method === "GET").map((r) => comparablePath(r.path));
    expect(sandbox.requests.filter((r) => r.method !== "GET"), `${step.name}: a preview writes nothing`).toEqual([]);
    if (step.previewFails) {
      expect(preview.ok, `${step.name}: the preview must fail`).toBe(false);
      for (const words of step.previewFails) expect(preview.text ?? "").toContain(words);
      step.undo?.(driver);
      results.push({ name: step.name, previewOps: {}, upOps: {}, requests: [], previewReads, previewText: preview.text, previewFailed: true });
      continue;
    }
    expect(preview.ok, `${step.name}: preview failed\n${preview.text ?? ""}`).toBe(true);
    sandbox.clearRequests();
    const up = await driver.up();
    expect(up.ok, `${step.name}: up ${step.fails ? "succeeded, but was to fail" : "failed"}\n${up.text ?? ""}`).toBe(!step.fails);
    // Accounts are applied concurrently: the order between accounts is not fixed, within one it is.
    // Writes only: which reads an adoption's check makes (a list call reading ahead, or one GET)
    // depends on the order the engine checks accounts in; the preview's reads are compared above.
    const requests = byAccount(sandbox.requests.filter((r) => r.method !== "GET").map((r) => (r.body === undefined ? { method: r.method, path: comparablePath(r.path) } : { method: r.method, path: r.path, body: r.body })));
    if (shows) {
      const shown = shows(preview.text ?? "");
      const sent: Record<string, string[]> = {};
      for (const r of requests) {
        const id = /^\/api\/v3\/connected_accounts\/([^/?]+)$/.exec(r.path)?.[1];
        if (id && r.method === "PATCH") sent[id] = patchFields(r.body);
      }
      for (const id of new Set([...Object.keys(shown), ...Object.keys(sent)])) {
        expect({ step: step.name, id, shown: shown[id]?.fields ?? [] }).toEqual({ step: step.name, id, shown: sent[id] ?? [] });
        expect({ step: step.name, id, lifecycle: shown[id]?.lifecycle ?? [] }).toEqual({ step: step.name, id, lifecycle: step.lifecycle?.[id] ?? [] });
      }
    }
    results.push({ name: step.name, previewOps: preview.ops, upOps: up.ops, previewText: preview.text, upText: up.text, requests, previewReads, previewFailed: false });
  }
  return results;
}

const expectedRequests = (step: StepSpec) => byAccount(step.requests.filter((r) => r.method !== "GET"));

/** Requests grouped by account (a stable sort: each account's own order is kept). */
function byAccount<T extends { path: string }>(requests: readonly T[]): T[] {
  const account = (r: T) => /\/connected_accounts\/([^/?]+)/.exec(r.path)?.[1] ?? "";
  return [...requests].sort((a, b) => (account(a) < account(b) ? -1 : account(a) > account(b) ? 1 : 0));
}

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

/** What the real CLI and the harness must agree on. */
// Which reads a preview's checks make depends on the order the engine checks accounts in: compared per run above, not here.
const comparable = (r: StepResult[]) => r.map(({ name, previewOps, upOps, requests, previewFailed }) => ({ name, previewOps, upOps, requests, previewFailed }));

function cliDriver(stack: CliStack): SequenceDriver {
  return {
    write: (rel, content) => stack.ws.write(rel, content),
    remove: (rel) => stack.ws.remove(rel),
    env: stack.env,
    preview: () => stack.preview(),
    up: () => stack.up(),
    refresh: () => stack.refresh(),
  };
}

function harnessDriver(stack: TestStack): SequenceDriver {
  const opsOf = (d: { steps: { name: string; op: string }[] }) => Object.fromEntries(d.steps.map((s) => [s.name, s.op as Op]));
  return {
    write: (rel, content) => stack.ws.write(rel, content),
    remove: (rel) => stack.ws.remove(rel),
    env: stack.env,
    preview: async () => {
      const d = await stack.preview();
      return { ok: d.ok, ops: opsOf(d), text: d.programError ?? d.steps.map((s) => s.error).filter(Boolean).join("\n") };
    },
    up: async () => {
      const d = await stack.up();
      return { ok: d.ok, ops: opsOf(d), text: d.programError ?? d.steps.map((s) => s.error).join("\n") };
    },
    refresh: async () => {
      const d = await stack.refresh();
      return { ok: d.ok, text: d.steps.map((s) => s.error).join("\n") };
    },
  };
}

interface ExportedState {
  deployment: { resources: { urn: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[] };
}

describe("the deployment sequence", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  /** The sequence as the real CLI plays it: what the tests below assert, and what the harness must match. */
  let real: StepResult[];
  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
    stack = new CliStack("cli-sequence", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY, ghToken: TOKEN });
    real = await playSequence(sandbox, cliDriver(stack), SEQUENCE, shownChanges);
  }, SEQUENCE_TIMEOUT_MS);
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("under the real Pulumi CLI, applies each step with the minimal PATCH, and the preview shows it", async () => {
    for (const [i, step] of SEQUENCE.entries()) {
      const got = real[i];
      expect({ step: step.name, requests: got.requests }).toEqual({ step: step.name, requests: expectedRequests(step) });
      // Which list call a check reads ahead with depends on the order the engine checks accounts in:
      // the preview reads the accounts being adopted, in at most as many requests as expected.
      const expectedReads = [step.previewReads ?? [], ...(step.previewReadsOr ? [step.previewReadsOr] : [])];
      const readIds = (paths: string[]) => new Set(paths.flatMap((p) => /connected_account_ids=([^&]+)/.exec(p)?.[1].split(",") ?? [p.split("/").pop()!]));
      const adopted = [...readIds(expectedReads.flat())].filter((id) => expectedReads.every((reads) => readIds(reads).has(id)));
      expect(got.previewReads.length, step.name).toBeLessThanOrEqual(Math.max(...expectedReads.map((r) => r.length)));
      for (const id of adopted) expect([...readIds(got.previewReads)], `${step.name}: the preview reads ${id}`).toContain(id);
      expect({ step: step.name, preview: got.previewOps, up: got.upOps }).toEqual({ step: step.name, preview: step.ops, up: step.ops });
      await expect(normalizePreview(got.previewText ?? "", stack.ws.dir)).toMatchFileSnapshot(`golden/pulumi-cli/${String(i + 1).padStart(2, "0")}-${step.name}.txt`);
    }
    expect(sandbox.account("ca_seq1")).toMatchObject({ alias: "gh-primary" });
  });

  it("under the real Pulumi CLI, leaves no secret in any output, and a small state", async () => {
    // Nothing secret anywhere: what the CLI printed, its events, the backend's files, the export.
    expectNoSecret(stack.printed.join("\n"), "the CLI's output");
    expectNoSecret(stack.events.map(eventsWithoutDebug).join("\n"), "the engine's events");
    expectNoSecret(stack.stateFilesText(), "the backend's state files");
    const exported = await stack.exportState();
    expectNoSecret(exported, "pulumi stack export");
    expectNoSecret(stack.stackFileText(), "the stack settings file");
    expect(exported).toContain('"ca_seq1"');

    // What each account costs in the state: the provider module twice, no credential value.
    const seq = (JSON.parse(exported) as ExportedState).deployment.resources.find((r) => r.urn.endsWith("::ca_seq1"))!;
    expect(seq.inputs.__provider).toBe(PROVIDER_MODULE);
    expect(seq.outputs.__provider).toBe(PROVIDER_MODULE);
    expect(Object.keys(seq.inputs.fingerprints as object)).toEqual(["api_key", "subdomain", "token"]);
    // The outputs keep where each credential came from (names only), never a value.
    expect(seq.outputs.credentials).toEqual({ api_key: { env: "GH_KEY" }, subdomain: "acme", token: { config: "ghToken" } });
    expect(JSON.stringify({ inputs: seq.inputs, outputs: seq.outputs }).length).toBeLessThanOrEqual(4096);

    // Stack outputs as the CLI reads them back.
    const outputs = await stack.outputs();
    // One output, whose size does not grow with the fleet.
    expect(outputs).toEqual({ fleet: { total: 2, byToolkit: { github: 1, slack: 1 }, byStatus: { ACTIVE: 2 }, notActive: [] } });
  });

  it("test/harness/ takes the same step per account and sends the same requests as the real CLI", async () => {
    const harnessSandbox = await startSandbox({ apiKey: API_KEY, accounts: SEEDS });
    const harnessStack = new TestStack("harness-sequence", harnessSandbox.url);
    try {
      harnessStack.setSecretConfig("ghToken", TOKEN);
      const harness = await playSequence(harnessSandbox, harnessDriver(harnessStack));
      expect(comparable(harness)).toEqual(comparable(real));
    } finally {
      await harnessSandbox.close();
      harnessStack.cleanup();
    }
  }, MANY_COMMANDS_MS);
});

describe("enabled: true | false", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  /** The enabled sequence as the real CLI plays it. */
  let real: StepResult[];
  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [SEEDS[0]] });
    stack = new CliStack("cli-enabled", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY, ghToken: TOKEN });
    real = await playSequence(sandbox, cliDriver(stack), ENABLED_SEQUENCE);
  }, SEQUENCE_TIMEOUT_MS);
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("under the real Pulumi CLI, sends one status request per change, in order beside the PATCH, and the preview shows `enabled`", async () => {
    for (const [i, step] of ENABLED_SEQUENCE.entries()) {
      const got = real[i];
      expect({ step: step.name, requests: got.requests }).toEqual({ step: step.name, requests: expectedRequests(step) });
      expect({ step: step.name, preview: got.previewOps, up: got.upOps }).toEqual({ step: step.name, preview: step.ops, up: step.ops });
      await expect(normalizePreview(got.previewText ?? "", stack.ws.dir)).toMatchFileSnapshot(`golden/pulumi-cli/enabled-${String(i + 1).padStart(2, "0")}-${step.name}.txt`);
    }
    const refused = real.find((r) => r.name === "enable-refused-after-rotate")!;
    expect(refused.upText).toContain("Composio could not enable connected account ca_seq1: Injected fault: HTTP 403");
    expect(refused.upText).toMatch(/slug: Sandbox_InjectedFault, HTTP 403, request_id: req_\S+/);
    expect(refused.upText).toContain("The alias and credential change was applied and is recorded; the next pulumi up sends only what is still missing.");
    expect(sandbox.account("ca_seq1")).toMatchObject({ isDisabled: false, status: "ACTIVE" });
    const seq = (JSON.parse(await stack.exportState()) as ExportedState).deployment.resources.find((r) => r.urn.endsWith("::ca_seq1"))!;
    expect(seq.outputs).toMatchObject({ manage: "observe", enabled: true, status: "ACTIVE" });
    expectNoSecret(stack.printed.join("\n"), "the CLI's output");
    expectNoSecret(stack.stateFilesText(), "the backend's state files");
  });

  it("test/harness/ takes the same step per account and sends the same requests as the real CLI", async () => {
    const harnessSandbox = await startSandbox({ apiKey: API_KEY, accounts: [SEEDS[0]] });
    const harnessStack = new TestStack("harness-enabled", harnessSandbox.url);
    try {
      harnessStack.setSecretConfig("ghToken", TOKEN);
      const harness = await playSequence(harnessSandbox, harnessDriver(harnessStack), ENABLED_SEQUENCE);
      expect(comparable(harness)).toEqual(comparable(real));
    } finally {
      await harnessSandbox.close();
      harnessStack.cleanup();
    }
  }, SEQUENCE_TIMEOUT_MS);
});

describe("one failing account among several changed ones, under the real CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  const team = (id: string, alias: string) => ({ id, toolkit: "github", userId: "team", alias, authScheme: "OAUTH2" });
  beforeAll(async () => {
    sandbox = await startSandbox({
      apiKey: API_KEY,
      accounts: [
        ...["ca_ind1", "ca_ind2", "ca_ind3", "ca_ind4"].map((id) => ({ id, toolkit: "github", userId: "team", authScheme: "OAUTH2" as const })),
        { id: "ca_taken", toolkit: "github", userId: "team", authScheme: "OAUTH2", alias: "already-taken" },
        { id: "ca_slack", toolkit: "slack", userId: "team", authScheme: "OAUTH2" },
      ],
    });
    stack = new CliStack("cli-independent", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    for (const id of ["ca_ind1", "ca_ind2", "ca_ind3", "ca_ind4"]) stack.ws.write(`github/${id}.yaml`, team(id, `${id}-v1`));
    const adopted = await stack.up();
    expect(adopted.ok, adopted.text).toBe(true);
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("sends and records every other PATCH, and exits non-zero", async () => {
    // Three renames, one alias another account holds (Composio answers 409), one adoption of a file
    // whose toolkit is wrong (refused before anything is sent to it).
    for (const id of ["ca_ind1", "ca_ind3", "ca_ind4"]) stack.ws.write(`github/${id}.yaml`, team(id, `${id}-v2`));
    stack.ws.write("github/ca_ind2.yaml", team("ca_ind2", "already-taken"));
    stack.ws.write("github/ca_slack.yaml", team("ca_slack", "slack-as-github"));
    sandbox.clearRequests();
    const up = await stack.up("--continue-on-error");
    expect(up.ok).toBe(false);
    expect(up.code).not.toBe(0);
    const patched = sandbox.requests.filter((r) => r.method === "PATCH").map((r) => [r.path.split("/").pop(), r.body]);
    expect(patched.sort()).toEqual([
      ["ca_ind1", { alias: "ca_ind1-v2" }],
      ["ca_ind2", { alias: "already-taken" }],
      ["ca_ind3", { alias: "ca_ind3-v2" }],
      ["ca_ind4", { alias: "ca_ind4-v2" }],
    ]);
    expect(up.ops).toMatchObject({ ca_ind1: "update", ca_ind2: "update", ca_ind3: "update", ca_ind4: "update", ca_slack: "create" });
    expect(up.text).toContain("accounts/github/ca_slack.yaml:2:1 toolkit: connected account ca_slack has toolkit slack in Composio, not github; nothing is sent to it.");
    expect(up.text).toMatch(/ca_ind2[\s\S]*409/);
    // A failed up lists no account's output as removed: the one summary is not known until every
    // account applied (Pulumi shows it as [unknown]; the next successful up records it again).
    expect(up.text).toMatch(/^\s*\+ fleet: \[unknown\]$/m);
    expect(up.text).not.toMatch(/^\s*- (accounts|accountCount)\b/m);

    // Recorded: the applied renames; the failed accounts keep their previous state, so the next up
    // (with both files fixed) sends exactly their requests and nothing for the others.
    const state = (JSON.parse(await stack.exportState()) as ExportedState).deployment.resources;
    const alias = (id: string) => state.find((r) => r.urn.endsWith(`::${id}`))?.outputs.alias;
    expect([alias("ca_ind1"), alias("ca_ind2"), alias("ca_ind3"), alias("ca_ind4"), alias("ca_slack")]).toEqual(["ca_ind1-v2", "ca_ind2-v1", "ca_ind3-v2", "ca_ind4-v2", undefined]);
    stack.ws.write("github/ca_ind2.yaml", team("ca_ind2", "ca_ind2-v2"));
    stack.ws.write("github/ca_slack.yaml", { ...team("ca_slack", "slack-main"), toolkit: "slack" });
    sandbox.clearRequests();
    const retried = await stack.up("--continue-on-error");
    expect(retried.ok, retried.text).toBe(true);
    expect(sandbox.requests.filter((r) => r.method === "PATCH").map((r) => [r.path.split("/").pop(), r.body]).sort()).toEqual([
      ["ca_ind2", { alias: "ca_ind2-v2" }],
      ["ca_slack", { alias: "slack-main" }],
    ]);
  }, SEQUENCE_TIMEOUT_MS);
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
    // The refreshed inputs are the recorded ones with the alias Composio has: only the alias drifted.
    expect(refreshed.text).toMatch(/ca_seq1 updated \(.*\) \[diff: ~alias\]/);

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

  it("refuses a credential in plain stack config, and a plain apiKey, before anything is registered, with the --secret fix", async () => {
    sandbox.clearRequests();
    stack.env.GH_KEY = KEY_1;
    expect((await stack.setConfig("plainToken", "plain_cfg_value_0001")).ok).toBe(true);
    stack.ws.write("github/seq.yaml", seqAccount({ credentials: { api_key: { env: "GH_KEY" }, token: { config: "plainToken" } } }));
    const plainConfig = await stack.preview();
    expect(plainConfig.ok).toBe(false);
    expect(plainConfig.text).toContain("accounts/github/seq.yaml:10:5 credentials.token.config: stack config connected-accounts:plainToken is not a stack secret");
    expect(plainConfig.text).toContain("fix: pulumi config set --secret connected-accounts:plainToken <value>");
    expect(plainConfig.ops).toEqual({});

    stack.ws.write("github/seq.yaml", seqAccount({ credentials: { api_key: { env: "GH_KEY" } } }));
    expect((await stack.setConfig("apiKey", API_KEY)).ok).toBe(true);
    const plainKey = await stack.preview();
    expect(plainKey.ok).toBe(false);
    expect(plainKey.text).toMatch(/stacks\/Pulumi\.test\.yaml:\d+:3 connected-accounts:apiKey: stack config connected-accounts:apiKey is not a stack secret/);
    expect(plainKey.text).toContain("fix: pulumi config set --secret connected-accounts:apiKey <value>");
    expect(plainKey.ops).toEqual({});
    expect((await stack.setSecret("apiKey", API_KEY)).ok).toBe(true);
    for (const run of [plainConfig, plainKey]) expect(run.text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(sandbox.requests).toEqual([]);
  });

  it("stops an account whose secret file only the provider finds unreadable: a Check failure with file, line and field, nothing sent", async () => {
    sandbox.clearRequests();
    stack.ws.writeRaw("secrets/key.der", Buffer.from([0x30, 0x82, 0x01, 0x0a, 0xc3, 0xff, 0xfe]));
    stack.ws.write("github/seq.yaml", seqAccount({ credentials: { api_key: { env: "GH_KEY" }, private_key: { file: "../../secrets/key.der" } } }));
    for (const run of [await stack.preview(), await stack.up()]) {
      expect(run.ok).toBe(false);
      expect(run.text).toContain("accounts/github/seq.yaml:10:5 credentials.private_key.file: file secrets/key.der is not UTF-8 text; credentials are sent as text; nothing is sent for this account.");
      expect(run.text).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    }
    expect(sandbox.requests).toEqual([]);
  });
});

/**
 * A stack another version left (test/fixtures/<fixture>.*), its API moved to a fresh sandbox that
 * holds the github account `githubId` and the OAuth account ca_oauth with the recorded aliases.
 */
async function recordedStack(name: string, fixture: string, githubId: string, aliases: { github: string; slack: string }): Promise<{ sandbox: Sandbox; stack: CliStack }> {
  const fixtures = path.join(__dirname, "fixtures");
  const sandbox = await startSandbox({
    apiKey: API_KEY,
    accounts: [
      { id: githubId, toolkit: "github", userId: "team", authScheme: "API_KEY", alias: aliases.github },
      { id: "ca_oauth", toolkit: "slack", userId: "team", authScheme: "OAUTH2", alias: aliases.slack },
    ],
  });
  const stack = new CliStack(name, bin);
  await stack.importStack(fs.readFileSync(path.join(fixtures, `${fixture}.stack.yaml`), "utf8"), path.join(fixtures, `${fixture}.state.json`));
  const moved = await stack.setConfig("baseUrl", sandbox.url);
  expect(moved.ok, moved.text).toBe(true);
  stack.ws.write("slack/oauth.yaml", { id: "ca_oauth", toolkit: "slack", userId: "team", alias: aliases.slack, authScheme: "OAUTH2" });
  return { sandbox, stack };
}

describe("a stack recorded by 0.1.0 (the provider serialized into the state) under the real CLI", () => {
  const FIXTURES = path.join(__dirname, "fixtures");
  const LEGACY_KEY = "sk_legacy_Zr51nVb8q";
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    ({ sandbox, stack } = await recordedStack("cli-legacy", "legacy-0.1.0", "ca_legacy", { github: "gh-legacy", slack: "slack-legacy" }));
    stack.env.LEGACY_KEY = LEGACY_KEY;
    stack.ws.write("github/legacy.yaml", { id: "ca_legacy", toolkit: "github", userId: "team", alias: "gh-legacy", authScheme: "API_KEY", credentials: { api_key: { env: "LEGACY_KEY" }, subdomain: "acme", token: { config: "ghToken" } } });
  }, MANY_COMMANDS_MS);
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("upgrades on the next up with no update, replacement or request, then shrinks as accounts change", async () => {
    const before = (JSON.parse(fs.readFileSync(path.join(FIXTURES, "legacy-0.1.0.state.json"), "utf8")) as ExportedState).deployment.resources;
    expect(String(before.find((r) => r.urn.endsWith("::ca_legacy"))!.inputs.__provider).length).toBeGreaterThan(40_000);

    sandbox.clearRequests();
    const previewed = await stack.preview();
    expect(previewed.ok, previewed.text).toBe(true);
    expect(previewed.ops).toEqual({ ca_legacy: "same", ca_oauth: "same" });
    const upgraded = await stack.up();
    expect(upgraded.ok, upgraded.text).toBe(true);
    expect(upgraded.ops).toEqual({ ca_legacy: "same", ca_oauth: "same" });
    expect(sandbox.requests).toEqual([]);
    let state = (JSON.parse(await stack.exportState()) as ExportedState).deployment.resources;
    expect(state.find((r) => r.urn.endsWith("::ca_legacy"))!.inputs.__provider).toBe(PROVIDER_MODULE);

    // A change applies minimally against the credentials the old provider recorded.
    stack.ws.write("github/legacy.yaml", { id: "ca_legacy", toolkit: "github", userId: "team", alias: "gh-upgraded", authScheme: "API_KEY", credentials: { api_key: { env: "LEGACY_KEY" }, subdomain: "acme", token: { config: "ghToken" } } });
    const changed = await stack.up();
    expect(changed.ok, changed.text).toBe(true);
    expect(changed.ops).toEqual({ ca_legacy: "update", ca_oauth: "same" });
    expect(sandbox.requests.map((r) => [r.method, r.path, r.body])).toEqual([["PATCH", "/api/v3/connected_accounts/ca_legacy", { alias: "gh-upgraded" }]]);
    state = (JSON.parse(await stack.exportState()) as ExportedState).deployment.resources;
    const legacy = state.find((r) => r.urn.endsWith("::ca_legacy"))!;
    expect(legacy.outputs.__provider).toBe(PROVIDER_MODULE);
    // What 0.1 recorded under credentials (the values) is gone; where each value comes from is recorded instead.
    expect(legacy.outputs.credentials).toEqual({ api_key: { env: "LEGACY_KEY" }, subdomain: "acme", token: { config: "ghToken" } });

    // The OAuth account still has the old provider in its outputs: releasing it runs that one.
    sandbox.clearRequests();
    stack.ws.remove("slack/oauth.yaml");
    const released = await stack.up();
    expect(released.ok, released.text).toBe(true);
    expect(released.ops).toEqual({ ca_legacy: "same", ca_oauth: "delete" });
    expect(sandbox.requests).toEqual([]);
    expect(sandbox.account("ca_oauth")).toMatchObject({ alias: "slack-legacy" });
  }, MANY_COMMANDS_MS);
});

describe("a stack recorded by the version that registered credential values, under the real CLI", () => {
  const FIXTURES = path.join(__dirname, "fixtures");
  // The values the fixture was recorded with (test/fixtures/README.md).
  const RECORDED = { env: "sk_recorded_Wy62kDn0b", file: "pem_recorded_Jt93xVa1c", config: "tok_recorded_Qm4Lp8Zt2" };
  const ROTATED = "sk_rotated_after_upgrade_4Fq";
  const VALUES_ACCOUNT = {
    id: "ca_values", toolkit: "github", userId: "team", alias: "gh-values", authScheme: "API_KEY",
    credentials: { api_key: { env: "RECORDED_KEY" }, subdomain: "acme", token: { config: "ghToken" }, private_key: { file: "../../secrets/recorded.pem" } },
  };
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    ({ sandbox, stack } = await recordedStack("cli-values-registered", "legacy-values-registered", "ca_values", { github: "gh-values", slack: "slack-values" }));
    stack.env.RECORDED_KEY = RECORDED.env;
    stack.ws.writeRaw("secrets/recorded.pem", `${RECORDED.file}\n`);
    stack.ws.write("github/values.yaml", VALUES_ACCOUNT);
  }, MANY_COMMANDS_MS);
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("upgrades with no update and no request, keeps no credential value even encrypted, then sends exactly what changed", async () => {
    const recorded = (JSON.parse(fs.readFileSync(path.join(FIXTURES, "legacy-values-registered.state.json"), "utf8")) as ExportedState).deployment.resources;
    // What the fixture holds: the credentials as one encrypted input.
    expect(Object.keys(recorded.find((r) => r.urn.endsWith("::ca_values"))!.inputs.credentials as object)).toContain("ciphertext");

    sandbox.clearRequests();
    const previewed = await stack.preview();
    expect(previewed.ok, previewed.text).toBe(true);
    expect(previewed.ops).toEqual({ ca_values: "same", ca_oauth: "same" });
    const upgraded = await stack.up();
    expect(upgraded.ok, upgraded.text).toBe(true);
    expect(upgraded.ops).toEqual({ ca_values: "same", ca_oauth: "same" });
    expect(sandbox.requests).toEqual([]);

    // Decrypted, the state holds the references and fingerprints, not one credential value.
    const decrypted = await stack.exportState(true);
    const accounts = (JSON.parse(decrypted) as ExportedState).deployment.resources.filter((r) => r.urn.includes("ConnectedAccount"));
    for (const value of Object.values(RECORDED)) expect(JSON.stringify(accounts)).not.toContain(value);
    for (const value of [RECORDED.env, RECORDED.file]) expect(decrypted).not.toContain(value);
    const values = accounts.find((r) => r.urn.endsWith("::ca_values"))!;
    expect(values.inputs.credentials).toEqual({ api_key: { env: "RECORDED_KEY" }, private_key: { file: "secrets/recorded.pem" }, subdomain: "acme", token: { config: "ghToken" } });
    expect(Object.keys(values.inputs.fingerprints as object)).toEqual(["api_key", "private_key", "subdomain", "token"]);

    // The first change after the upgrade: one rotated key, sent alone.
    stack.env.RECORDED_KEY = ROTATED;
    const rotated = await stack.up();
    expect(rotated.ok, rotated.text).toBe(true);
    expect(rotated.ops).toEqual({ ca_values: "update", ca_oauth: "same" });
    expect(sandbox.requests.map((r) => [r.method, r.path, r.body])).toEqual([["PATCH", "/api/v3/connected_accounts/ca_values", val({ api_key: ROTATED })]]);
    expect(await stack.exportState(true)).not.toContain(ROTATED);
  }, MANY_COMMANDS_MS);
});

describe("a provider edited without a rebuild, under the real CLI", () => {
  let stack: CliStack;
  afterAll(() => stack?.cleanup());

  it("is refused before anything runs, with one line telling how to rebuild", async () => {
    stack = new CliStack("cli-stale", bin);
    await stack.init({ baseUrl: "http://127.0.0.1:9" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    stack.ws.write("slack/oauth.yaml", OAUTH_ACCOUNT);
    fs.appendFileSync(path.join(stack.ws.dir, "provider/plan/patch-plan.ts"), "\n// edited after the build\n");
    const previewed = await stack.preview();
    expect(previewed.ok).toBe(false);
    expect(previewed.text).toContain("the compiled provider in dist/ is older than provider/: run npm run build, then run pulumi again");
    expect(previewed.ops).toEqual({});
  });
});

describe("npm run demo with the real Pulumi CLI", () => {
  it("reuses the CLI npm test provisioned, adopts every account, then shows a change as a reviewer sees it and what up sent", async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "ca-demo-real-"));
    const listing = (dir: string) => (fs.existsSync(path.join(PROJECT_ROOT, dir)) ? fs.readdirSync(path.join(PROJECT_ROOT, dir)).sort().join(",") : "-");
    const checkout = () => [execFileSync("git", ["status", "--porcelain", "--", "accounts", "stacks"], { cwd: PROJECT_ROOT, encoding: "utf8" }), listing("secrets"), listing(".pulumi-state")].join("\n");
    const before = checkout();
    try {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("PULUMI_") && !k.startsWith("CONNECTED_ACCOUNTS_")) env[k] = v;
      const run = spawnSync(process.execPath, [path.join(PROJECT_ROOT, "dist/provider/cli/main.js"), "demo"], {
        cwd: PROJECT_ROOT,
        env: {
          ...env,
          HOME: home,
          // Where npm test provisioned the CLI (on PATH or in the cache folder), as a user's next command finds it.
          XDG_CACHE_HOME: process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"),
          // Never a second build in one CI run: without a CLI to reuse this test fails instead.
          CONNECTED_ACCOUNTS_GO: path.join(home, "no-go"),
        },
        encoding: "utf8",
        // Under a minute on an idle machine; a busy shared one takes a few times that.
        timeout: 400_000,
      });
      const out = `${run.stdout}${run.stderr}`;
      expect(run.status, out).toBe(0);
      expect(out).toMatch(/^using pulumi v[\d.]+ (on PATH|built earlier) \(/m);
      expect(out).not.toContain("building the Pulumi CLI");

      // The adoption.
      expect(out).toMatch(/\+ pulumi-nodejs:dynamic\/composio:ConnectedAccount: \(create\)/);
      expect(out).toMatch(/Resources:\n\s+\+ 8 created/);
      const table = out.slice(out.indexOf("==> Sandbox accounts after the adoption"));
      // The dev stack's one account on a SOPS file, decrypted with the committed demo key.
      expect(out).toContain("examples/sops/dev.sops.yaml: decrypted with the demo key examples/sops/demo.agekey (SOPS_AGE_KEY_FILE, for the commands below only)");
      for (const [id, alias] of [["ca_shp3Ld9Xw", "acme-store"], ["ca_gh8x2kPq", "github-platform-bot"], ["ca_slk9Hn3Te", "slack-main-workspace"], ["ca_jrW4tT8r", "jira-reporting"]]) {
        expect(table).toMatch(new RegExp(`^${id} +\\S+ +\\S+ +"${alias}" +ACTIVE`, "m"));
      }

      // The change, as a reviewer sees it: the plan comment, then the preview.
      const change = out.slice(out.indexOf("==> A change, made as a user makes one"));
      expect(change).toContain('accounts/github/platform-bot.yaml: alias "github-platform-bot" → "github-platform-bot-renamed" (renamed)');
      expect(change).toContain("accounts/shopify/storefront.yaml: api_key rotated (SHOPIFY_ACME_API_KEY has a new value");
      expect(change).toContain("accounts/github/release-app.yaml: credentials.private_key deleted from the file");
      const comment = change.slice(change.indexOf("==> connected-accounts plan --format markdown"), change.indexOf("==> pulumi preview"));
      expect(comment).toContain("<!-- connected-accounts-plan -->");
      expect(comment).toContain("**0 to adopt, 2 to update, 0 to release, 5 unchanged**");
      expect(comment).toContain("| `ca_gh8x2kPq` | `accounts/github/platform-bot.yaml` | update | `github-platform-bot` → `github-platform-bot-renamed` |  |");
      expect(comment).toContain("| `ca_ghApp42Rel` | `accounts/github/release-app.yaml` | update |  | removed `private_key` |");
      const preview = change.slice(change.indexOf("==> pulumi preview"), change.indexOf("==> pulumi up"));
      expect(preview).toMatch(/~ alias +: "github-platform-bot" => "github-platform-bot-renamed"/);
      expect(preview).toMatch(/~ api_key: "hmac:[0-9a-f]{12}" => "hmac:[0-9a-f]{12}"/);
      expect(preview).toMatch(/- private_key +: "hmac:[0-9a-f]{12}"/);
      expect(preview).toMatch(/Resources:\n\s+~ 3 to update\n\s+5 unchanged/);

      // What up sent, exactly, values masked.
      const sent = change.slice(change.indexOf("==> What pulumi up sent")).split("\n").filter((l) => l.startsWith("PATCH "));
      expect(sent).toEqual([
        'PATCH /api/v3/connected_accounts/ca_gh8x2kPq 200 {"alias":"github-platform-bot-renamed"}',
        'PATCH /api/v3/connected_accounts/ca_ghApp42Rel 200 {"connection":{"state":{"authScheme":"SERVICE_ACCOUNT","val":{"private_key":null}}}}',
        'PATCH /api/v3/connected_accounts/ca_shp3Ld9Xw 200 {"connection":{"state":{"authScheme":"API_KEY","val":{"api_key":"***"}}}}',
      ]);
      expect(out).not.toMatch(/demo-[A-Za-z0-9_-]{24}/);

      // Everything happened in the demo's own copy: it is gone, the checkout is as it was.
      const project = /^==> Demo project: .*\n(\S+)/m.exec(run.stdout)?.[1] ?? "";
      expect(project).toMatch(/connected-accounts-demo-/);
      expect(fs.existsSync(project)).toBe(false);
      expect(checkout()).toBe(before);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  }, 420_000);
});

describe("the drift workflow's check with the real CLI", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  afterAll(async () => {
    stack?.cleanup();
    await sandbox?.close();
  });

  it("pulumi preview --refresh --expect-no-changes reads as clean, then drift after a rename in the dashboard, then a broken run", async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [SEEDS[1]] });
    stack = new CliStack("cli-drift-check", bin);
    await stack.init({ baseUrl: sandbox.url, retryBaseMs: "20", maxRetries: "1" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    stack.ws.write("slack/oauth.yaml", OAUTH_ACCOUNT);
    expect((await stack.up()).ok).toBe(true);
    const check = async () => {
      const r = await stack.preview("--refresh", "--expect-no-changes");
      return classifyPreview(r.code, r.text);
    };
    expect(await check()).toBe("clean");
    const renamed = await request(`${sandbox.url}/api/v3/connected_accounts/ca_oauth`, {
      method: "PATCH",
      headers: { "x-api-key": API_KEY, "content-type": "application/json" },
      body: JSON.stringify({ alias: "renamed-in-dashboard" }),
    });
    expect(renamed.statusCode).toBe(200);
    await renamed.body.dump();
    expect(await check()).toBe("drift");
    await sandbox.close();
    expect(await check()).toBe("error");
  }, 420_000);
});
