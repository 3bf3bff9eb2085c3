/**
 * The real Pulumi CLI under test: the one `npm run pulumi:cli` provides (npm test runs it first),
 * driving a copy of this project with a fresh local (file://) backend and the passphrase secrets
 * provider, offline. Each command's text, exit code and engine events are kept for assertions.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { locatePulumiCli } from "../../provider/pulumi-cli/locate";
import { pinnedPulumiVersion } from "../../provider/pulumi-cli/version";
import { PROJECT_ROOT, Workspace } from "./workspace";

export const PINNED_PULUMI = pinnedPulumiVersion(PROJECT_ROOT);
export const PASSPHRASE = "test-passphrase-not-secret";
const ACCOUNT_TYPE = "pulumi-nodejs:dynamic/composio:ConnectedAccount";
/** A command's whole run (the program compiled by ts-node included) stays far below this. */
const COMMAND_TIMEOUT_MS = 150_000;
/** The project as a user has it: what the CLI needs to run the program. */
const PROJECT_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "provider", "dist/provider"];

let binDir: Promise<string> | undefined;

/** A runnable copy of this project in `dest`: what the CLI needs (plus `extra` entries), its node_modules linked (its Pulumi SDK its own). */
export function copyProject(dest: string, extra: string[] = []): void {
  for (const entry of [...PROJECT_FILES, ...extra]) fs.cpSync(path.join(PROJECT_ROOT, entry), path.join(dest, entry), { recursive: true });
  linkNodeModules(dest);
}

/**
 * The project's installed packages, linked, except the Pulumi SDK, which the copy has as its own
 * (hard links: no bytes copied), as a project installed with npm ci has: the provider module
 * loads the build of the project whose node_modules really holds the SDK running it.
 */
function linkNodeModules(dest: string): void {
  const from = path.join(PROJECT_ROOT, "node_modules");
  const to = path.join(dest, "node_modules");
  fs.mkdirSync(path.join(to, "@pulumi"), { recursive: true });
  for (const entry of fs.readdirSync(from)) if (entry !== "@pulumi") fs.symlinkSync(path.join(from, entry), path.join(to, entry));
  for (const entry of fs.readdirSync(path.join(from, "@pulumi"))) if (entry !== "pulumi") fs.symlinkSync(path.join(from, "@pulumi", entry), path.join(to, "@pulumi", entry));
  linkTree(path.join(from, "@pulumi/pulumi"), path.join(to, "@pulumi/pulumi"));
}

function linkTree(from: string, to: string): void {
  fs.mkdirSync(to);
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const [src, dst] = [path.join(from, entry.name), path.join(to, entry.name)];
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else {
      try {
        fs.linkSync(src, dst);
      } catch {
        fs.copyFileSync(src, dst);
      }
    }
  }
}

/** The folder of the provisioned CLI; a clear failure (never a skip) when there is none. */
export function pulumiBinDir(): Promise<string> {
  binDir ??= locatePulumiCli(PINNED_PULUMI, process.env).then((found) => {
    if (!found) throw new Error(`no Pulumi CLI v${PINNED_PULUMI}: run npm run pulumi:cli (npm test runs it first), or install it from https://www.pulumi.com/docs/install/`);
    return found.binDir;
  });
  return binDir;
}

export type Op = "create" | "update" | "same" | "delete" | "replace" | "read" | "refresh" | "discard";

export interface CliRun {
  code: number;
  ok: boolean;
  /** stdout and stderr as printed, in order of arrival. */
  text: string;
  /** Per connected account (resource name): the step the engine took, from its event log. */
  ops: Record<string, Op>;
}

/** One stack of a project copy (the accounts folder is `ws.accountsDir`). */
export class CliStack {
  readonly ws: Workspace;
  /** Extra environment of the program and the provider (env references). */
  env: Record<string, string> = {};
  /** Every command's output (stdout and stderr), for secret scans. */
  readonly printed: string[] = [];
  /** Every command with its stdout and stderr apart (with `-v=9 --logtostderr`, the log is stderr). */
  readonly runs: { args: string[]; stdout: string; stderr: string }[] = [];
  /** Every engine event of the commands run with an event log, one JSON object a line. */
  readonly events: string[] = [];
  /** false: preview and up run without `--event-log`, as a user runs them (then `ops` is empty). */
  eventLog = true;
  /** Each command is killed after this long (a bench of thousands of resources raises it). */
  timeoutMs = COMMAND_TIMEOUT_MS;
  /** The file:// backend's folder. */
  readonly stateDir: string;
  private commands = 0;
  /** Told of each `pulumi` process as it starts (a test that kills one mid-run). */
  onStart?: (child: ChildProcess) => void;

  /** `populate` writes another project into the copy's folder instead of this one (the bench's minimal program). */
  /** `under`: the folder the project copy is made in (default test/.work). */
  constructor(name: string, private readonly bin: string, readonly stack = "test", populate?: (dir: string) => void, under?: string) {
    this.ws = new Workspace(name, under);
    if (populate) {
      populate(this.ws.dir);
      linkNodeModules(this.ws.dir);
    } else copyProject(this.ws.dir);
    this.stateDir = path.join(this.ws.dir, ".pulumi-state");
    fs.mkdirSync(this.stateDir);
  }

  /** `pulumi stack init`, then each setting with `pulumi config set` (`secrets` with --secret). */
  async init(config: Record<string, string>, secrets: Record<string, string>): Promise<void> {
    await this.must(["stack", "init", this.stack, "--secrets-provider", "passphrase"]);
    for (const [key, value] of Object.entries(config)) await this.must(["config", "set", `connected-accounts:${key}`, "--", value]);
    for (const [key, value] of Object.entries(secrets)) await this.must(["config", "set", "--secret", `connected-accounts:${key}`, "--", value]);
  }

  /** A stack as another version left it: its settings file (salt, encrypted config) and its exported state. */
  async importStack(stackFile: string, statePath: string): Promise<void> {
    await this.must(["stack", "init", this.stack, "--secrets-provider", "passphrase"]);
    fs.writeFileSync(path.join(this.ws.dir, "stacks", `Pulumi.${this.stack}.yaml`), stackFile);
    await this.must(["stack", "import", "--file", statePath]);
  }

  /** A stack recorded by an earlier version (test/fixtures/<fixture>.stack.yaml and .state.json), pointed at `baseUrl`. */
  async importRecorded(fixture: string, baseUrl: string): Promise<void> {
    const fixtures = path.join(PROJECT_ROOT, "test", "fixtures");
    await this.importStack(fs.readFileSync(path.join(fixtures, `${fixture}.stack.yaml`), "utf8"), path.join(fixtures, `${fixture}.state.json`));
    const moved = await this.setConfig("baseUrl", baseUrl);
    if (!moved.ok) throw new Error(`pulumi config set connected-accounts:baseUrl failed:\n${moved.text}`);
  }

  /** `pulumi config set --secret connected-accounts:KEY VALUE` after init. */
  setSecret(key: string, value: string): Promise<CliRun> {
    return this.pulumi(["config", "set", "--secret", `connected-accounts:${key}`, "--", value], false);
  }

  /** `pulumi config set connected-accounts:KEY VALUE` after init (e.g. pointing at another API). */
  setConfig(key: string, value: string): Promise<CliRun> {
    // --plaintext: the CLI otherwise refuses a plain value under a key that looks secret (`apiKey`).
    return this.pulumi(["config", "set", "--plaintext", `connected-accounts:${key}`, "--", value], false);
  }

  preview(...flags: string[]): Promise<CliRun> {
    return this.pulumi(["preview", "--diff", ...flags], true);
  }

  up(...flags: string[]): Promise<CliRun> {
    return this.pulumi(["up", "--yes", "--skip-preview", ...flags], true);
  }

  refresh(...flags: string[]): Promise<CliRun> {
    return this.pulumi(["refresh", "--yes", "--skip-preview", ...flags], true);
  }

  destroy(): Promise<CliRun> {
    return this.pulumi(["destroy", "--yes", "--skip-preview"], true);
  }

  /** The environment every command of this stack runs with. */
  commandEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("PULUMI_")) env[key] = value;
    return Object.assign(env, {
      PATH: [this.bin, process.env.PATH].join(path.delimiter),
      PULUMI_HOME: path.join(this.ws.dir, ".pulumi-home"),
      PULUMI_BACKEND_URL: `file://${this.stateDir}`,
      PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      // Exposes --event-log, the engine's own record of each step (as the Automation API reads it).
      PULUMI_DEBUG_COMMANDS: "true",
      ...this.env,
    });
  }

  /** `pulumi stack export`; `showSecrets`: decrypted, as anyone with the passphrase can read it. */
  async exportState(showSecrets = false): Promise<string> {
    return (await this.must(["stack", "export", ...(showSecrets ? ["--show-secrets"] : [])])).text;
  }

  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.must(["stack", "output", "--json"])).text) as Record<string, unknown>;
  }

  /** Every file the backend wrote (checkpoints, backups, history), as text. */
  stateFilesText(): string {
    const texts: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else texts.push(fs.readFileSync(full, "utf8"));
      }
    };
    walk(this.stateDir);
    return texts.join("\n");
  }

  /** The stack settings file, as `pulumi config set` left it. */
  stackFileText(): string {
    return fs.readFileSync(path.join(this.ws.dir, "stacks", `Pulumi.${this.stack}.yaml`), "utf8");
  }

  cleanup(): void {
    this.ws.cleanup();
  }

  private async must(args: string[]): Promise<CliRun> {
    const result = await this.pulumi(args, false);
    if (!result.ok) throw new Error(`pulumi ${args.join(" ")} failed (exit ${result.code}):\n${result.text}`);
    return result;
  }

  private pulumi(args: string[], withEvents: boolean): Promise<CliRun> {
    const eventLog = path.join(this.ws.dir, `events-${++this.commands}.jsonl`);
    const flags = ["--non-interactive", ...(args[1] === "init" ? [] : ["--stack", this.stack]), ...(withEvents && this.eventLog ? ["--event-log", eventLog] : [])];
    // Flags go before a `--`, after which everything is a value.
    const dashes = args.indexOf("--");
    const fullArgs = dashes < 0 ? [...args, ...flags] : [...args.slice(0, dashes), ...flags, ...args.slice(dashes)];
    const env = this.commandEnv();
    return new Promise((resolve, reject) => {
      const child = spawn(path.join(this.bin, "pulumi"), fullArgs, { cwd: this.ws.dir, env, stdio: ["ignore", "pipe", "pipe"] });
      this.onStart?.(child);
      let text = "";
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (c: Buffer) => {
        text += c.toString("utf8");
        stdout += c.toString("utf8");
      });
      child.stderr.on("data", (c: Buffer) => {
        text += c.toString("utf8");
        stderr += c.toString("utf8");
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), this.timeoutMs);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        this.printed.push(text);
        this.runs.push({ args: fullArgs, stdout, stderr });
        const ops = withEvents && fs.existsSync(eventLog) ? opsFromEvents(fs.readFileSync(eventLog, "utf8")) : {};
        if (fs.existsSync(eventLog)) this.events.push(fs.readFileSync(eventLog, "utf8"));
        resolve({ code: code ?? -1, ok: code === 0, text, ops });
      });
    });
  }
}

/**
 * Engine events without the SDK's debug diagnostics, which only `--debug` shows and Pulumi Cloud
 * drops: the SDK logs each RegisterResource answer there, registered inputs included in a preview.
 */
export function eventsWithoutDebug(log: string): string {
  return log
    .split("\n")
    .filter((line) => line.trim() && (JSON.parse(line) as { diagnosticEvent?: { severity?: string } }).diagnosticEvent?.severity !== "debug")
    .join("\n");
}

/** The op of each connected account's step, from the engine's `resourcePreEvent`s. */
export function opsFromEvents(log: string): Record<string, Op> {
  const ops: Record<string, Op> = {};
  for (const line of log.split("\n")) {
    if (!line.trim()) continue;
    const meta = (JSON.parse(line) as { resourcePreEvent?: { metadata?: { op: Op; urn: string; type: string } } }).resourcePreEvent?.metadata;
    if (meta?.type === ACCOUNT_TYPE) ops[meta.urn.split("::").pop()!] = meta.op;
  }
  return ops;
}

/**
 * A preview as a golden file holds it: without what changes from run to run (timings, progress
 * lines, the temporary project path).
 */
export function normalizePreview(text: string, projectDir: string): string {
  const failed = /^error: /m.test(text);
  const lines = text
    .split(projectDir).join("<project>")
    .split("\n")
    .filter((line) => !/^@ /.test(line) && !/^\s*Duration: /.test(line))
    .map((line) => line.replace(/\s+$/, "").replace(/\(\d+(\.\d+)?s\)/g, "(…s)"))
    .map((line) => (failed ? uncountedSummaryLine(line) : line));
  return sortResourceBlocks(lines).join("\n").trim() + "\n";
}

/**
 * A failed preview stops the engine while other accounts' steps are still running, so how many of
 * them the summary counts ("3 unchanged" or "2 unchanged") depends on timing, not on the product.
 */
function uncountedSummaryLine(line: string): string {
  return line.replace(/^(\s+)\d+ (unchanged|to (?:create|update|delete|replace))$/, "$1<n> $2");
}

/** The engine runs steps concurrently, so resources print in any order: sort each run of account blocks by name. */
function sortResourceBlocks(lines: string[]): string[] {
  const out: string[] = [];
  let blocks: string[][] = [];
  const flush = () => {
    blocks.sort((a, b) => (a.join("\n") < b.join("\n") ? -1 : 1)).forEach((b) => out.push(...b));
    blocks = [];
  };
  for (const line of lines) {
    const indent = line.length - line.trimStart().length;
    if (/^ {4}[+~-] pulumi-nodejs:dynamic\//.test(line)) blocks.push([line]);
    else if (blocks.length > 0 && indent > 4) blocks[blocks.length - 1].push(line);
    else {
      flush();
      out.push(line);
    }
  }
  flush();
  return out;
}

/** What `pulumi preview --diff` shows changing for one connected account, in the PATCH's terms. */
export interface ShownChange {
  /** `alias`, `credentials.<key>`: what a reviewer reads as changing, and so what must be sent. */
  fields: string[];
  /** `paused`, `manage`: lifecycle changes, recorded without a request. */
  lifecycle: string[];
}

const LIFECYCLE_PROPERTIES = new Set(["paused", "manage"]);
/** Shown on every block and never a change of what is sent: where the file is, what the account is. */
const CONTEXT_PROPERTIES = new Set(["accountFile", "nanoid", "toolkit", "userId", "authScheme"]);

/**
 * The changes each account's block of `pulumi preview --diff` shows, read the way a reviewer reads
 * them: a marked property (`~ alias`, `- credentials.token`, `+ removedCredentials[0]: "password"`)
 * is a change; in a `(create)` block everything listed is. Properties nest four columns deep each.
 */
export function shownChanges(text: string): Record<string, ShownChange> {
  const out: Record<string, ShownChange> = {};
  let current: { name?: string; create: boolean; stack: string[]; markers: (string | undefined)[] } | undefined;
  const add = (list: "fields" | "lifecycle", value: string) => {
    const c = (out[current!.name!] ??= { fields: [], lifecycle: [] });
    if (!c[list].includes(value)) c[list].push(value);
  };
  for (const line of text.split("\n")) {
    const header = /^ {4}([+~-]) pulumi-nodejs:dynamic\/composio:ConnectedAccount: \((\w+)\)/.exec(line);
    if (header) {
      current = { create: header[2] === "create", stack: [], markers: [] };
      continue;
    }
    if (!current) continue;
    const indent = line.length - line.trimStart().length;
    if (line.trim() === "" || indent <= 4) {
      current = undefined;
      continue;
    }
    const urn = /\[urn=.*::([^\]:]+)\]$/.exec(line.trim());
    if (urn) {
      current.name = urn[1];
      continue;
    }
    // Pulumi keeps a value's marker in its own column on the lines inside it (`+     [0]: "password"`).
    const prop = /^( *)(?:([+~-]) +)?(\[\d+\]|[^\s:]+)\s*: ?(.*)$/.exec(line);
    if (!prop || !current.name) continue;
    const keyAt = line.length - line.slice(prop[1].length).replace(/^[+~-] +/, "").length;
    const depth = Math.round((keyAt - 8) / 4);
    if (depth < 0) continue;
    current.stack.length = depth;
    current.stack[depth] = prop[3];
    current.markers.length = depth;
    // Inside a value added or deleted whole (`+ removedCredentials: [`), every line is.
    const whole = current.markers.find((m) => m === "+" || m === "-");
    const marker = prop[2] ?? whole;
    current.markers[depth] = prop[2];
    if (!marker && !current.create) continue;
    const [top, key] = current.stack;
    if (LIFECYCLE_PROPERTIES.has(top) && depth === 0) add("lifecycle", top);
    else if (CONTEXT_PROPERTIES.has(top)) continue;
    else if (top === "alias") add("fields", "alias");
    else if ((top === "fingerprints" || top === "credentials") && key !== undefined) add("fields", `credentials.${key}`);
    else if (top === "removedCredentials" && depth === 1) {
      // A key newly declared null is sent as null; one no longer declared null is not sent.
      const value = prop[4].includes("=>") ? prop[4].split("=>").pop()!.trim() : prop[4].trim();
      if (marker !== "-" && value.startsWith('"')) add("fields", `credentials.${JSON.parse(value) as string}`);
    }
  }
  for (const c of Object.values(out)) {
    c.fields.sort();
    c.lifecycle.sort();
  }
  return out;
}

/** The fields a PATCH body sends, in the terms of `shownChanges`. */
export function patchFields(body: unknown): string[] {
  const b = (body ?? {}) as { alias?: unknown; connection?: { state?: { val?: Record<string, unknown> } } };
  const fields = b.alias !== undefined ? ["alias"] : [];
  for (const key of Object.keys(b.connection?.state?.val ?? {})) fields.push(`credentials.${key}`);
  return fields.sort();
}
