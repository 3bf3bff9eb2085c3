/**
 * The provider process under the real Pulumi CLI: which build it loads, what it says when there is
 * none, that it ends with the engine, and that state written before it changed its `__provider`
 * text still upgrades without a request. Each against a loopback API of the test's own.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PROVIDER_MODULE } from "../provider/pulumi/provider-module";
import { startSandbox, type Sandbox } from "../provider/sandbox/server";
import { json, startHostileApi, type HostileApi } from "./support/hostile-api";
import { CliStack, pulumiBinDir } from "./support/pulumi-cli";
import { API_KEY, FINGERPRINT_KEY } from "./support/stack";

let bin: string;
beforeAll(async () => {
  bin = await pulumiBinDir();
});

const OAUTH_ACCOUNT = { id: "ca_oauth", toolkit: "slack", userId: "team", alias: "slack-main", authScheme: "OAUTH2" };

interface ExportedState {
  deployment: { resources: { urn: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }[] };
}

describe("which build the provider process loads", () => {
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    sandbox = await startSandbox({ apiKey: API_KEY, accounts: [{ id: "ca_oauth", toolkit: "slack", userId: "team", authScheme: "OAUTH2" }] });
    stack = new CliStack("cli-build", bin);
    await stack.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    stack.ws.write("slack/oauth.yaml", OAUTH_ACCOUNT);
    const adopted = await stack.up();
    expect(adopted.ok, adopted.text).toBe(true);
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("a stray Pulumi.yaml with a dist/ in the program folder is never loaded, by preview or refresh", async () => {
    const marker = path.join(stack.ws.dir, "stray-build-loaded");
    const stray = path.join(stack.ws.dir, "provider/dist/provider/pulumi");
    fs.mkdirSync(stray, { recursive: true });
    fs.writeFileSync(path.join(stack.ws.dir, "provider/Pulumi.yaml"), "name: stray\nruntime: nodejs\n");
    fs.writeFileSync(path.join(stray, "entry.js"), `require("fs").writeFileSync(${JSON.stringify(marker)}, "loaded");\nthrow new Error("the stray build ran");\n`);
    try {
      const previewed = await stack.preview();
      expect(previewed.ok, previewed.text).toBe(true);
      expect(previewed.ops).toEqual({ ca_oauth: "same" });
      const refreshed = await stack.refresh();
      expect(refreshed.ok, refreshed.text).toBe(true);
      expect(fs.existsSync(marker)).toBe(false);
      expect([previewed.text, refreshed.text].join("\n")).not.toContain("stray build");
    } finally {
      fs.rmSync(path.join(stack.ws.dir, "provider/dist"), { recursive: true, force: true });
      fs.rmSync(path.join(stack.ws.dir, "provider/Pulumi.yaml"), { force: true });
    }
  });

  /** A build planted at `dir`: its entry records that it ran, and what it could read, in `marker`. */
  const plantBuild = (dir: string, marker: string) => {
    fs.mkdirSync(path.join(dir, "dist/provider/pulumi"), { recursive: true });
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: planted\nruntime: nodejs\n");
    fs.writeFileSync(
      path.join(dir, "dist/provider/pulumi/entry.js"),
      `require("fs").writeFileSync(${JSON.stringify(marker)}, "loaded with COMPOSIO_API_KEY=" + process.env.COMPOSIO_API_KEY);\nthrow new Error("the planted build ran");\n`,
    );
  };

  it("a provider module planted in the program folder with node_modules linked to the real SDK is never loaded", async () => {
    const planted = path.join(stack.ws.dir, "provider");
    const marker = path.join(stack.ws.dir, "planted-build-loaded");
    const sdk = path.join(stack.ws.dir, "node_modules/@pulumi/pulumi");
    stack.env.COMPOSIO_API_KEY = API_KEY;
    // The SDK folder linked (as committed with git add -f), then the whole node_modules linked.
    const shapes: [string, () => void][] = [
      ["node_modules/@pulumi/pulumi linked to the SDK", () => {
        fs.mkdirSync(path.join(planted, "node_modules/@pulumi"), { recursive: true });
        fs.symlinkSync(sdk, path.join(planted, "node_modules/@pulumi/pulumi"));
      }],
      ["node_modules linked to the project's", () => fs.symlinkSync("../node_modules", path.join(planted, "node_modules"))],
    ];
    try {
      for (const [shape, link] of shapes) {
        plantBuild(planted, marker);
        link();
        try {
          const previewed = await stack.preview();
          expect(previewed.ok, `${shape}: ${previewed.text}`).toBe(true);
          expect(previewed.ops).toEqual({ ca_oauth: "same" });
          const refreshed = await stack.refresh();
          expect(refreshed.ok, `${shape}: ${refreshed.text}`).toBe(true);
          expect(fs.existsSync(marker), shape).toBe(false);
          expect([previewed.text, refreshed.text].join("\n")).not.toContain("planted build");
        } finally {
          fs.rmSync(path.join(planted, "node_modules"), { recursive: true, force: true });
          fs.rmSync(path.join(planted, "dist"), { recursive: true, force: true });
          fs.rmSync(path.join(planted, "Pulumi.yaml"), { force: true });
        }
      }
    } finally {
      delete stack.env.COMPOSIO_API_KEY;
    }
  });

  it("NODE_PATH naming a folder with another SDK and build is never loaded", async () => {
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "ca-node-path-"));
    const marker = path.join(elsewhere, "planted-build-loaded");
    plantBuild(elsewhere, marker);
    fs.mkdirSync(path.join(elsewhere, "@pulumi/pulumi/cmd/dynamic-provider"), { recursive: true });
    fs.writeFileSync(path.join(elsewhere, "@pulumi/pulumi/cmd/dynamic-provider/index.js"), `require("fs").writeFileSync(${JSON.stringify(marker)}, "sdk");\n`);
    stack.env.NODE_PATH = elsewhere;
    try {
      const previewed = await stack.preview();
      expect(previewed.ok, previewed.text).toBe(true);
      expect(previewed.ops).toEqual({ ca_oauth: "same" });
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      delete stack.env.NODE_PATH;
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("a Pulumi.yaml with a dist/ and node_modules linked to the SDK in a parent folder is never loaded", async () => {
    const parent = fs.mkdtempSync(path.join(stack.ws.dir, "..", "cli-parent-"));
    const marker = path.join(parent, "planted-build-loaded");
    plantBuild(parent, marker);
    fs.symlinkSync(path.join(stack.ws.dir, "node_modules"), path.join(parent, "node_modules"));
    const nested = new CliStack("cli-nested", bin, "test", undefined, parent);
    try {
      await nested.init({ baseUrl: sandbox.url }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
      nested.ws.write("slack/oauth.yaml", OAUTH_ACCOUNT);
      const previewed = await nested.preview();
      expect(previewed.ok, previewed.text).toBe(true);
      expect(previewed.ops).toEqual({ ca_oauth: "create" });
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      nested.cleanup();
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it("a missing dist/ during refresh or destroy is one line: build, then run the command again", async () => {
    const dist = path.join(stack.ws.dir, "dist");
    fs.renameSync(dist, `${dist}.away`);
    try {
      const line = `connected-accounts: the provider is not built (${fs.realpathSync(stack.ws.dir)}/dist is missing): run npm run build (or npm ci), then the command again`;
      for (const run of [await stack.refresh(), await stack.destroy()]) {
        expect(run.ok).toBe(false);
        expect(run.text).toContain(line);
        expect(run.text).not.toMatch(/Cannot find module|Require stack|^\s+at /m);
      }
      expect(sandbox.account("ca_oauth")).toMatchObject({ alias: "slack-main" });
    } finally {
      fs.renameSync(`${dist}.away`, dist);
    }
  });
});

describe("the provider process when the engine is killed", () => {
  let api: HostileApi;
  let stack: CliStack;
  afterEach(async () => {
    await api?.close();
    stack?.cleanup();
  });

  /** Dynamic-provider servers running in this stack's project copy (there is one per engine). */
  const providerProcesses = (dir: string): number[] =>
    fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return cmdline.includes("dynamic-provider") && fs.realpathSync(`/proc/${pid}/cwd`).startsWith(fs.realpathSync(dir));
      } catch {
        return false;
      }
    });

  /**
   * Pulumi's released `pulumi-resource-pulumi-nodejs` (sdk/nodejs/dist): a `/bin/sh` script that
   * runs node without `exec`, so the provider's parent is the shell, which outlives a killed CLI.
   * Found first on PATH (the engine looks there before beside the CLI).
   */
  const pulumiLauncherDir = (): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ca-pulumi-launcher-"));
    fs.writeFileSync(
      path.join(dir, "pulumi-resource-pulumi-nodejs"),
      "#!/bin/sh\n" +
        "PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH=$(node -e \"console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))\")\n" +
        'if [ -n "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" ]; then\n    node "$PULUMI_DYNAMIC_PROVIDER_SCRIPT_PATH" $@\nfi\n',
      { mode: 0o755 },
    );
    return dir;
  };

  const parentCommand = (pid: number): string => {
    const ppid = Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ")[1]);
    return fs.readFileSync(`/proc/${ppid}/cmdline`, "utf8").split("\0").join(" ");
  };

  async function killDuringUp(launcherDir?: string): Promise<void> {
    // Each PATCH is answered after 1.5 s and one request runs at a time: the up is still sending when it is killed.
    api = await startHostileApi((req, res) => {
      setTimeout(() => json(res, 200, { success: true, id: req.url.split("/").pop(), status: "ACTIVE" }), 1_500);
    });
    stack = new CliStack("cli-kill", bin);
    await stack.init({ baseUrl: api.url, maxConcurrency: "1" }, { apiKey: API_KEY, fingerprintKey: FINGERPRINT_KEY });
    stack.env.SLOW_KEY = "sk_slow_Vd81qLw0Pz";
    if (launcherDir) stack.env.PATH = [launcherDir, bin, process.env.PATH].join(path.delimiter);
    for (let i = 0; i < 5; i++) stack.ws.write(`github/slow${i}.yaml`, { id: `ca_slow${i}`, toolkit: "github", userId: "team", authScheme: "API_KEY", credentials: { api_key: { env: "SLOW_KEY" } } });

    let cli: import("node:child_process").ChildProcess | undefined;
    stack.onStart = (child) => (cli = child);
    const up = stack.up();
    const deadline = Date.now() + 120_000;
    while (api.requests.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(api.requests.length).toBe(1);
    const providers = providerProcesses(stack.ws.dir);
    expect(providers.length).toBeGreaterThan(0);
    // The launcher really is the one under test: with Pulumi's, the provider's parent is its shell.
    if (launcherDir) for (const pid of providers) expect(parentCommand(pid)).toContain(path.join(launcherDir, "pulumi-resource-pulumi-nodejs"));

    cli!.kill("SIGKILL");
    const killedAt = Date.now();
    await up;
    const alive = () => providers.filter((pid) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "));
    while (alive().length > 0 && Date.now() - killedAt < 5_000) await new Promise((r) => setTimeout(r, 50));
    expect(alive()).toEqual([]);
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    // Long enough for the next queued PATCH (1.5 s after the first) to have been sent by a survivor.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(api.requests.filter((r) => r.at > killedAt + 300)).toEqual([]);
    expect(api.requests).toHaveLength(1);
  }

  it("kill -9 of `pulumi up`: the provider exits within seconds and sends nothing more", async () => {
    await killDuringUp();
  });

  it("the same under Pulumi's own launcher, a shell that does not exec node and outlives the CLI", async () => {
    const launcherDir = pulumiLauncherDir();
    try {
      await killDuringUp(launcherDir);
    } finally {
      fs.rmSync(launcherDir, { recursive: true, force: true });
    }
  });
});

describe("a stack recorded before the provider module found its project this way, under the real CLI", () => {
  const FIXTURES = path.join(__dirname, "fixtures");
  let sandbox: Sandbox;
  let stack: CliStack;
  beforeAll(async () => {
    sandbox = await startSandbox({
      apiKey: API_KEY,
      accounts: [
        { id: "ca_keep", toolkit: "github", userId: "team", authScheme: "API_KEY", alias: "gh-keep" },
        { id: "ca_oauth", toolkit: "slack", userId: "team", authScheme: "OAUTH2", alias: "slack-main" },
      ],
    });
    stack = new CliStack("cli-module-upgrade", bin);
    await stack.importRecorded("provider-module-nearest-pulumi-yaml", sandbox.url);
    stack.env.KEEP_KEY = "sk_keep_Lr83vQm2Zd";
    stack.ws.write("github/keep.yaml", { id: "ca_keep", toolkit: "github", userId: "team", alias: "gh-keep", authScheme: "API_KEY", credentials: { api_key: { env: "KEEP_KEY" } } });
    stack.ws.write("slack/oauth.yaml", OAUTH_ACCOUNT);
  });
  afterAll(async () => {
    await sandbox?.close();
    stack?.cleanup();
  });

  it("upgrades on the next up with no update and no request, and refreshes with the new module", async () => {
    const before = (JSON.parse(fs.readFileSync(path.join(FIXTURES, "provider-module-nearest-pulumi-yaml.state.json"), "utf8")) as ExportedState).deployment.resources;
    const recordedModule = String(before.find((r) => r.urn.endsWith("::ca_keep"))!.inputs.__provider);
    expect(recordedModule).not.toBe(PROVIDER_MODULE);
    expect(recordedModule).toContain('"Pulumi.yaml"');

    sandbox.clearRequests();
    const previewed = await stack.preview();
    expect(previewed.ok, previewed.text).toBe(true);
    expect(previewed.ops).toEqual({ ca_keep: "same", ca_oauth: "same" });
    const upgraded = await stack.up();
    expect(upgraded.ok, upgraded.text).toBe(true);
    expect(upgraded.ops).toEqual({ ca_keep: "same", ca_oauth: "same" });
    expect(sandbox.requests).toEqual([]);
    const state = (JSON.parse(await stack.exportState()) as ExportedState).deployment.resources;
    for (const id of ["ca_keep", "ca_oauth"]) expect(state.find((r) => r.urn.endsWith(`::${id}`))!.inputs.__provider).toBe(PROVIDER_MODULE);

    // The old text still serves what runs from the recorded outputs (a refresh reads with it).
    const refreshed = await stack.refresh();
    expect(refreshed.ok, refreshed.text).toBe(true);
    expect(sandbox.requests.every((r) => r.method === "GET")).toBe(true);
    const again = await stack.preview();
    expect(again.ops).toEqual({ ca_keep: "same", ca_oauth: "same" });
  });
});
