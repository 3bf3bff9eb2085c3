/**
 * Finding the Pulumi CLI for the demo: one of the pinned version or newer on PATH (never the npm
 * launcher in node_modules/.bin, which only downloads), else one built by `npm run pulumi:cli`,
 * else the one Pulumi's official npm launcher (the `pulumi` devDependency) downloads on first use.
 *
 * The launcher's resolve() runs the install script with execFileSync, which blocks its process's
 * timers, so it runs in a child process of its own: only then can the wait be bounded, and the child
 * killed together with the script and downloads it started.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { isExecutable, locatePulumiCli } from "../../pulumi-cli/locate";

export type PulumiCli = { bin: string; from: "PATH" | "cache" | "npm package" } | { unavailable: string };

export interface ObtainOptions {
  env: NodeJS.ProcessEnv;
  /** The project's pinned version (package.json's `pulumi`). */
  pinned: string;
  /** Bound on the whole download and install. */
  timeoutMs: number;
  /** Aborting kills the download at once (Ctrl-C). */
  signal: AbortSignal;
  /** Module exporting resolve(); default: the official launcher's. Tests swap in one that hangs. */
  launcher?: string;
}

/** Longest reason shown in the one-line "not available" message. */
const MAX_REASON_CHARS = 160;

export async function obtainPulumiCli(opts: ObtainOptions): Promise<PulumiCli> {
  const found = await locatePulumiCli(opts.pinned, opts.env);
  if (found) return { bin: path.join(found.binDir, "pulumi"), from: found.from };
  let launcher: string;
  try {
    launcher = opts.launcher ?? require.resolve("pulumi/lib/resolve");
  } catch {
    return { unavailable: "the npm package pulumi is not installed; it is a devDependency, run npm install" };
  }
  const resolved = await resolveInChild(launcher, opts);
  if ("unavailable" in resolved) return resolved;
  if (!isExecutable(resolved.bin)) return { unavailable: `no executable at ${resolved.bin} after the install` };
  return { bin: resolved.bin, from: "npm package" };
}

/**
 * Runs in the child: resolve() and report over IPC, since the install script writes to stdout.
 * `fetch failed` alone says nothing; its cause (e.g. `getaddrinfo ENOTFOUND get.pulumi.com`) does.
 */
const RESOLVE_SCRIPT = `
const describe = (err) => {
  const cause = err && err.cause && err.cause.message;
  return String((err && err.message) || err).split("\\n")[0] + (cause ? ": " + cause : "");
};
require(process.argv[1]).resolve().then(
  (bin) => process.send({ bin }, () => process.exit(0)),
  (err) => process.send({ error: describe(err) }, () => process.exit(0)),
);
`;

function resolveInChild(launcher: string, opts: ObtainOptions): Promise<{ bin: string } | { unavailable: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["-e", RESOLVE_SCRIPT, launcher], {
      env: opts.env,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Its own process group, so a timeout can kill the install script and its downloads too.
      detached: process.platform !== "win32",
    });
    let stderr = "";
    let answer: { bin: string } | { unavailable: string } | undefined;
    child.stdout?.resume();
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-4096)));
    child.on("message", (m: { bin?: unknown; error?: unknown }) => {
      answer = typeof m.bin === "string" ? { bin: m.bin } : { unavailable: shorten(String(m.error)) };
    });

    const killGroup = () => {
      try {
        if (child.pid !== undefined && process.platform !== "win32") process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // already gone
      }
    };
    const stopWith = (reason: string) => {
      answer ??= { unavailable: reason };
      killGroup();
    };
    const timer = setTimeout(() => stopWith(`no CLI after ${Math.round(opts.timeoutMs / 1000)} s`), opts.timeoutMs);
    const onAbort = () => stopWith("interrupted");
    opts.signal.addEventListener("abort", onAbort, { once: true });
    if (opts.signal.aborted) onAbort();

    const finish = (fallback: string) => {
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
      resolve(answer ?? { unavailable: shorten(lastLine(stderr) || fallback) });
    };
    child.on("error", (err) => finish(`could not start node: ${err.message}`));
    child.on("close", (code, signal) => finish(signal ? `the download was stopped by ${signal}` : `the download exited with code ${code}`));
  });
}

function lastLine(text: string): string {
  return text.trim().split(/\r?\n/).pop()?.trim() ?? "";
}

function shorten(reason: string): string {
  const flat = reason.replace(/\s+/g, " ").trim();
  return flat.length > MAX_REASON_CHARS ? `${flat.slice(0, MAX_REASON_CHARS - 1)}…` : flat;
}
