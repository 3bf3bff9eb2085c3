/**
 * The sandbox as users run it by hand: started in the background by a launcher (npx, a shell) and
 * stopped by killing that launcher, and edited as someone would in Composio's dashboard for a drift
 * or health drill (`connected-accounts sandbox edit`). The compiled CLI as child processes; the
 * sandbox's own HTTP API to read back what changed.
 */
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, PROJECT_ROOT } from "./support/git-repo";
import { freePort, portIsFree } from "./support/ports";

const KEY = "sandbox-demo-key";

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: PROJECT_ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function getAccount(url: string, id: string): Promise<Record<string, any>> {
  const res = await fetch(`${url}/api/v3/connected_accounts/${id}`, { headers: { "x-api-key": KEY } });
  return (await res.json()) as Record<string, any>;
}

describe("a sandbox started in the background by a launcher", () => {
  it("stops when the launcher is killed, so nothing keeps holding the port", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sandbox-bg-"));
    const log = path.join(dir, "sandbox.log");
    // What `npx connected-accounts sandbox &` makes: a launcher, a shell under it (kept alive by the
    // second command, as npm's is), and the sandbox under that; `kill $!` ends the launcher only.
    const script = [
      `sh -c '"${process.execPath}" "${CLI}" sandbox --port 0 > "${log}" 2>&1; :' &`,
      "launcher=$!",
      `while ! grep -q listening "${log}" 2>/dev/null; do sleep 0.1; done`,
      "kill $launcher",
      "wait $launcher 2>/dev/null",
      "echo killed",
    ].join("\n");
    try {
      const shell = spawn("bash", ["-c", script], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      shell.stdout.on("data", (c: Buffer) => (out += c.toString()));
      await until("the launcher to be killed", () => out.includes("killed"), 30_000);
      const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(fs.readFileSync(log, "utf8"))![1]);
      await until("the sandbox to stop", async () => (await portIsFree(port)) || undefined, 10_000);
      await until("its last words", () => fs.readFileSync(log, "utf8").includes("sandbox stopped") || undefined, 5_000);
      expect(fs.readFileSync(log, "utf8")).toMatch(/the process that started the sandbox \(pid \d+\) exited: stopping\nsandbox stopped\n$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("connected-accounts sandbox edit: dashboard edits for drills", () => {
  let sandbox: ReturnType<typeof spawn>;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-sandbox-edit-"));
    sandbox = spawn(process.execPath, [CLI, "sandbox", "--port", "0", "--state", path.join(dir, "state.json")], { cwd: PROJECT_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    sandbox.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    url = await until("the sandbox", () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]);
  });
  afterAll(() => {
    sandbox.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("renames an account, switches it off, and marks its connection EXPIRED, as the API then shows", async () => {
    expect(await cli(["sandbox", "edit", "ca_gh8x2kPq", "--url", url, "--alias", "renamed-by-hand"])).toEqual({ code: 0, stdout: 'ca_gh8x2kPq: alias "renamed-by-hand", enabled, status ACTIVE\n', stderr: "" });
    expect(await getAccount(url, "ca_gh8x2kPq")).toMatchObject({ alias: "renamed-by-hand", is_disabled: false, status: "ACTIVE" });

    expect((await cli(["sandbox", "edit", "ca_slk9Hn3Te", "--url", url, "--disable"])).stdout).toBe("ca_slk9Hn3Te: alias none, disabled, status INACTIVE\n");
    expect(await getAccount(url, "ca_slk9Hn3Te")).toMatchObject({ is_disabled: true, status: "INACTIVE" });

    expect((await cli(["sandbox", "edit", "ca_shp3Ld9Xw", "--url", url, "--status", "expired", "--reason", "refresh token revoked"])).stdout).toBe("ca_shp3Ld9Xw: alias none, enabled, status EXPIRED (refresh token revoked)\n");
    expect(await getAccount(url, "ca_shp3Ld9Xw")).toMatchObject({ status: "EXPIRED", status_reason: "refresh token revoked", is_disabled: false });
    // Switching an expired account on does not repair it, as in Composio.
    const enabled = await fetch(`${url}/api/v3/connected_accounts/ca_shp3Ld9Xw/status`, { method: "PATCH", headers: { "x-api-key": KEY, "content-type": "application/json" }, body: '{"enabled": true}' });
    expect(enabled.status).toBe(200);
    expect(await getAccount(url, "ca_shp3Ld9Xw")).toMatchObject({ status: "EXPIRED" });
    // The list filter sees it, as the drift report's read does.
    const listed = (await (await fetch(`${url}/api/v3/connected_accounts?statuses=EXPIRED`, { headers: { "x-api-key": KEY } })).json()) as { items: { id: string }[] };
    expect(listed.items.map((i) => i.id)).toEqual(["ca_shp3Ld9Xw"]);
  });

  it("says what went wrong: an unknown account, no sandbox there, a bad status, a wrong key", async () => {
    const unknown = await cli(["sandbox", "edit", "ca_nope", "--url", url, "--disable"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^connected-accounts sandbox edit: the sandbox refused the edit of ca_nope: .*ca_nope/);
    const port = await freePort();
    const none = await cli(["sandbox", "edit", "ca_gh8x2kPq", "--url", `http://127.0.0.1:${port}`, "--disable"]);
    expect(none).toMatchObject({ code: 1, stderr: expect.stringContaining(`no sandbox answered at http://127.0.0.1:${port} (ECONNREFUSED): start one with connected-accounts sandbox`) });
    const bad = await cli(["sandbox", "edit", "ca_gh8x2kPq", "--url", url, "--status", "BROKEN"]);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining("--status must be one of INITIALIZING, INITIATED, ACTIVE, FAILED, EXPIRED, INACTIVE") });
    expect(await cli(["sandbox", "edit", "ca_gh8x2kPq", "--url", url])).toMatchObject({ code: 2, stderr: expect.stringContaining("nothing to change") });
    const wrongKey = await cli(["sandbox", "edit", "ca_gh8x2kPq", "--url", url, "--api-key", "nope", "--disable"]);
    expect(wrongKey).toMatchObject({ code: 1, stderr: expect.stringContaining("Invalid API key") });
  });

  it("sandbox wait returns once a sandbox answers, and gives up after its timeout naming the address", async () => {
    expect(await cli(["sandbox", "wait", "--url", url])).toEqual({ code: 0, stdout: "", stderr: "" });
    const port = await freePort();
    const started = Date.now();
    const none = await cli(["sandbox", "wait", "--url", `http://127.0.0.1:${port}`, "--timeout", "1"]);
    expect(none).toMatchObject({ code: 1, stderr: expect.stringContaining(`no sandbox answered at http://127.0.0.1:${port} within 1 s (ECONNREFUSED)`) });
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
