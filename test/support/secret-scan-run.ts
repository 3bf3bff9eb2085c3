/**
 * The secret scan's deployment, under the real CLI, in one stack copy: preview --diff, up, refresh,
 * a rotation (preview and up), a release, each with --event-log, -v=9 --logtostderr and --tracing;
 * one preview through the Automation API (LocalWorkspace with onEvent, as pulumi/actions runs it).
 * Then every channel is read back into a ScanTable: what was printed, logged, traced, recorded.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation/index.js";
import type { Sandbox } from "../../provider/sandbox/server";
import type { CliStack } from "./pulumi-cli";
import { filesText, ScanTable, type Planted } from "./secret-scan";
import { newAgeKey, sopsBinDir, writeSopsFile } from "./sops";
import { API_KEY } from "./stack";

export const SCAN_VALUES = {
  env: "sk_envscan_Q7m2Xv9Lp4",
  envRotated: "sk_envscan_rotated_W3c8Bn",
  file: "pem_filescan_R8n3Kw5Tz1",
  fileRotated: "pem_filescan_rotated_Y5d1",
  config: "tok_cfgscan_H6j4Pd2Ns8",
  sops: "sops_scan_V4k8Jt2Wq6",
};

export const PLANTED: Planted[] = [
  { kind: "env", value: SCAN_VALUES.env },
  { kind: "env", value: SCAN_VALUES.envRotated },
  { kind: "file", value: SCAN_VALUES.file },
  { kind: "file", value: SCAN_VALUES.fileRotated },
  { kind: "sops", value: SCAN_VALUES.sops },
  { kind: "config", value: SCAN_VALUES.config },
  // The API key as a stack secret (connected-accounts:apiKey), as the stack is initialized.
  { kind: "apiKey", value: API_KEY },
];

export const SCAN_ACCOUNT = {
  id: "ca_scan", toolkit: "github", userId: "team", alias: "gh-scan", authScheme: "API_KEY",
  credentials: {
    api_key: { env: "SCAN_API_KEY" }, private_key: { file: "../../secrets/scan.pem" }, client_secret: { sops: "../../secrets/scan.sops.yaml", key: "client_secret" },
    token: { config: "scanToken" }, subdomain: "acme",
  },
};

export interface ScanRun {
  table: ScanTable;
  /** Each step's CLI result, for asserting that the deployment itself went as planned. */
  results: { step: string; ok: boolean; text: string }[];
  requests: { method: string; path: string; body?: unknown }[];
  /** Whether each debug channel recorded the account at all. */
  covered: Record<string, boolean>;
}

/** `stack` is initialized (baseUrl, apiKey, fingerprintKey, and `scanToken` as a secret). */
export async function runSecretScan(stack: CliStack, sandbox: Sandbox, cliRoot: string): Promise<ScanRun> {
  const dir = stack.ws.dir;
  const traces = path.join(dir, "traces");
  const tmp = path.join(dir, "tmp");
  fs.mkdirSync(traces);
  fs.mkdirSync(tmp);
  // Glog files (-v without --logtostderr) and the Automation API's event log land in TMPDIR.
  stack.env.TMPDIR = tmp;
  stack.env.SCAN_API_KEY = SCAN_VALUES.env;
  stack.ws.writeRaw("secrets/scan.pem", `${SCAN_VALUES.file}\n`);
  const age = newAgeKey();
  writeSopsFile(stack.ws.path("secrets/scan.sops.yaml"), { client_secret: SCAN_VALUES.sops }, [age]);
  stack.env.SOPS_AGE_KEY = age.identity;
  stack.env.PATH = [sopsBinDir(), stack.commandEnv().PATH].join(path.delimiter);
  stack.ws.write("github/scan.yaml", SCAN_ACCOUNT);

  let traceNo = 0;
  const channels = () => ["-v=9", "--logtostderr", "--tracing", `file:${path.join(traces, `trace-${++traceNo}.json`)}`];
  const results: ScanRun["results"] = [];
  const keep = (step: string, r: { ok: boolean; text: string }) => results.push({ step, ok: r.ok, text: r.ok ? "" : r.text.slice(-4000) });
  sandbox.clearRequests();

  keep("preview --diff (adopt)", await stack.preview(...channels()));
  keep("up (adopt)", await stack.up(...channels()));
  keep("refresh", await stack.refresh(...channels()));

  stack.env.SCAN_API_KEY = SCAN_VALUES.envRotated;
  stack.ws.writeRaw("secrets/scan.pem", `${SCAN_VALUES.fileRotated}\n`);
  const automation = await automationPreview(stack, cliRoot);
  results.push({ step: "Automation API preview (rotation)", ok: automation.ok, text: automation.ok ? "" : automation.output.slice(-4000) });
  keep("preview --diff (rotation)", await stack.preview(...channels()));
  keep("up (rotation)", await stack.up(...channels()));
  // While accounts exist, the state also holds the default provider's inputs (the stack config).
  const snapshots = [await stack.exportState(), await stack.exportState(true)];

  stack.ws.remove("github/scan.yaml");
  keep("up (release)", await stack.up(...channels()));

  const decrypted = decryptedAutomaticLogs(stack);
  const table = new ScanTable(PLANTED);
  // The deployment's commands; `stack export --show-secrets` prints decrypted config by design (its own row).
  const deploying = stack.runs.filter((r) => ["preview", "up", "refresh"].includes(r.args[0]));
  table.add("CLI output (stdout)", ...deploying.map((r) => r.stdout));
  table.add("-v=9 --logtostderr (stderr)", ...deploying.map((r) => r.stderr));
  table.add("--event-log files", ...stack.events);
  table.add("--tracing files", ...filesText(traces));
  table.add("TMPDIR files", ...filesText(tmp));
  table.add("Automation API onEvent events", ...automation.events);
  table.add("Automation API output", automation.output);
  table.add("automatic log $PULUMI_HOME/logs (decrypted)", ...decrypted);
  table.add("automatic log $PULUMI_HOME/logs (as stored)", ...filesText(path.join(dir, ".pulumi-home", "logs")));
  table.add("state backend files (as stored)", stack.stateFilesText());
  table.add("pulumi stack export", snapshots[0], await stack.exportState());
  table.add("pulumi stack export --show-secrets", snapshots[1], await stack.exportState(true));
  table.add("stack settings file", stack.stackFileText());
  const requests = sandbox.requests.map((r) => (r.body === undefined ? { method: r.method, path: r.path } : { method: r.method, path: r.path, body: r.body }));
  // Each channel must hold the deployment itself, or finding nothing in it would prove nothing.
  const covered = {
    "-v=9": stack.runs.some((r) => r.stderr.includes("ca_scan")),
    "event log": stack.events.some((e) => e.includes("ca_scan")),
    tracing: filesText(traces).some((t) => t.includes("ca_scan")),
    "automatic log": decrypted.some((t) => t.includes("ca_scan")),
    "Automation API": automation.events.some((e) => e.includes("ca_scan")),
  };
  return { table, results, requests, covered };
}

/** A preview as pulumi/actions runs one: LocalWorkspace, every engine event through onEvent. */
async function automationPreview(stack: CliStack, cliRoot: string): Promise<{ ok: boolean; events: string[]; output: string }> {
  const events: string[] = [];
  let output = "";
  const envVars = Object.fromEntries(Object.entries(stack.commandEnv()).filter((e): e is [string, string] => e[1] !== undefined));
  try {
    const pulumiCommand = await PulumiCommand.get({ root: cliRoot, skipVersionCheck: true });
    const ws = await LocalWorkspace.create({ workDir: stack.ws.dir, pulumiHome: envVars.PULUMI_HOME, envVars, pulumiCommand });
    const selected = await Stack.select(stack.stack, ws);
    await selected.preview({ diff: true, onEvent: (e) => events.push(JSON.stringify(e)), onOutput: (o) => (output += o), onError: (o) => (output += o) });
    return { ok: true, events, output };
  } catch (err) {
    return { ok: false, events, output: `${output}\n${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Every automatic log file, decrypted with `pulumi logs decrypt` (the stack's passphrase opens them). */
function decryptedAutomaticLogs(stack: CliStack): string[] {
  const logs = path.join(stack.ws.dir, ".pulumi-home", "logs");
  const files = fs.existsSync(logs) ? fs.readdirSync(logs).filter((f) => f.endsWith(".log")) : [];
  if (files.length === 0) throw new Error(`no automatic log in ${logs}`);
  return files.map((f) => {
    const r = spawnSync("pulumi", ["logs", "decrypt", path.join(logs, f)], { cwd: stack.ws.dir, env: stack.commandEnv(), encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`pulumi logs decrypt ${f} failed: ${r.stderr}`);
    return r.stdout;
  });
}
