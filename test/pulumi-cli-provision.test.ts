/**
 * Provisioning the CLI (npm test, npm run pulumi:cli and npm run demo share it): which CLI on PATH
 * counts (stand-in binaries that only answer `pulumi version`), which Go builds one, which `replace`
 * directives the Go build copies, what the build reports while it runs, and `npm run pulumi:cli`
 * compiling the project only when its build is stale.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { staleBuild } from "../provider/pulumi/build-stamp";
import { findGo, remoteReplacements } from "../provider/pulumi-cli/build";
import { compileProgress, downloadProgress, firstEstimate } from "../provider/pulumi-cli/build-progress";
import { cacheBinDir, locatePulumiCli } from "../provider/pulumi-cli/locate";
import { pinnedPulumiVersion } from "../provider/pulumi-cli/version";
import { PROJECT_ROOT } from "./support/git-repo";

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "ca-provision-"));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A folder holding a `pulumi` that prints `version`, and optionally the Node.js language host. */
function cliDir(name: string, version: string, withHost = true): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\n[ "$1" = version ] && echo "${version}"\n`, { mode: 0o755 });
  if (withHost) {
    fs.writeFileSync(path.join(dir, "pulumi-language-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(dir, "pulumi-resource-pulumi-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
  }
  return dir;
}

describe("finding a usable Pulumi CLI", () => {
  it("takes the first pulumi on PATH of the pinned version or newer, with its plugins beside it or on PATH", async () => {
    const old = cliDir("old", "v3.200.0", false);
    const hostless = cliDir("hostless", "v3.300.0", false);
    const good = cliDir("good", "v3.260.1");
    const env = (dirs: string[]) => ({ PATH: dirs.join(path.delimiter), HOME: root, XDG_CACHE_HOME: path.join(root, "cache") });
    expect(await locatePulumiCli("3.259.0", env([old, good]))).toEqual({ binDir: good, version: "v3.260.1", from: "PATH" });
    expect(await locatePulumiCli("3.259.0", env([old, hostless]))).toBeUndefined();
    expect(await locatePulumiCli("3.259.0", env([hostless, good]))).toEqual({ binDir: hostless, version: "v3.300.0", from: "PATH" });
  });

  it("never takes the npm launcher in node_modules for a CLI", async () => {
    const launcher = cliDir("project/node_modules/.bin", "v3.259.0");
    const env = { PATH: launcher, HOME: root, XDG_CACHE_HOME: path.join(root, "cache") };
    expect(await locatePulumiCli("3.259.0", env)).toBeUndefined();
  });

  it("falls back to the build in the cache folder, only when it is the pinned version with both plugins", async () => {
    const env = { PATH: "", HOME: root, XDG_CACHE_HOME: path.join(root, "cache") };
    const cached = cacheBinDir("3.259.0", env);
    expect(cached).toBe(path.join(root, "cache/connected-accounts-gitops/pulumi/v3.259.0/bin"));
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    fs.renameSync(cliDir("built", "v3.259.0"), cached);
    fs.rmSync(path.join(cached, "pulumi-resource-pulumi-nodejs"));
    expect(await locatePulumiCli("3.259.0", env)).toBeUndefined();
    fs.writeFileSync(path.join(cached, "pulumi-resource-pulumi-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
    expect(await locatePulumiCli("3.259.0", env)).toEqual({ binDir: cached, version: "v3.259.0", from: "cache" });
  });
});

describe("the Go build's wrapper module", () => {
  it("copies the replace directives that point at other modules, not Pulumi's local paths", () => {
    const goMod = [
      "module github.com/pulumi/pulumi/pkg/v3",
      "",
      "replace (",
      "\tgithub.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e // fork",
      "\tgithub.com/pulumi/pulumi/sdk/v3 => ../sdk",
      ")",
      "",
      "replace example.com/a v1.0.0 => example.com/b v1.2.3",
      "replace example.com/local => /abs/path",
      "",
      "require github.com/pulumi/pulumi/sdk/v3 v3.259.0",
    ].join("\n");
    expect(remoteReplacements(goMod)).toEqual([
      ["github.com/atotto/clipboard", "github.com/tgummerer/clipboard@v0.0.0-20241001131231-d02d263e614e"],
      ["example.com/a", "example.com/b@v1.2.3"],
    ]);
  });
});

describe("progress while Go builds the CLI", () => {
  it("starts with an estimate for the machine, then counts packages compiled of the total, never a time left that could jump", () => {
    expect(firstEstimate(2, 0.5)).toBe("about 4m10s from empty Go caches on this 2-core machine, seconds when the Go build cache is warm");
    expect(firstEstimate(8, 1)).toBe("about 1m33s from empty Go caches on this 8-core machine, seconds when the Go build cache is warm");
    expect(firstEstimate(2, 20.2)).toBe("about 4m10s from empty Go caches on this 2-core machine, seconds when the Go build cache is warm; the machine is busy (load 20.2 on 2 cores), so expect several times that");
    expect(compileProgress(50, 1000, 30_000)).toBe("  go: compiling cmd/pulumi: 50 of 1000 packages (5%), 30s so far");
    expect(compileProgress(1200, 1000, 200_000)).toBe("  go: compiling cmd/pulumi: 1000 of 1000 packages (100%), 3m20s so far, linking");
    expect(downloadProgress(120, 45_000)).toBe("  go: downloading modules: 120 so far, 45s");
    // A slow start then a fast finish (what a shared machine does): each line reads at least as far as the one before.
    const lines = [[100, 240_000], [150, 300_000], [900, 330_000], [1000, 345_000]].map(([done, ms]) => compileProgress(done, 1000, ms));
    const percents = lines.map((l) => Number(l.match(/\((\d+)%\)/)![1]));
    expect(percents).toEqual([...percents].sort((x, y) => x - y));
    for (const l of lines) expect(l).not.toMatch(/left/);
  });
});

describe("finding Go to build with", () => {
  it("takes CONNECTED_ACCOUNTS_GO alone when set, else go on PATH, else GOROOT's", () => {
    const fakeGo = (name: string) => {
      const dir = path.join(root, name, "bin");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "go"), "#!/bin/sh\n", { mode: 0o755 });
      return path.join(dir, "go");
    };
    const onPath = fakeGo("go-on-path");
    const inRoot = fakeGo("goroot");
    expect(findGo({ CONNECTED_ACCOUNTS_GO: inRoot, PATH: path.dirname(onPath) })).toBe(inRoot);
    expect(findGo({ CONNECTED_ACCOUNTS_GO: path.join(root, "none"), PATH: path.dirname(onPath) })).toBeUndefined();
    expect(findGo({ PATH: path.dirname(onPath), GOROOT: path.dirname(path.dirname(inRoot)) })).toBe(onPath);
    expect(findGo({ PATH: "", GOROOT: path.dirname(path.dirname(inRoot)) })).toBe(inRoot);
  });
});

describe("npm run pulumi:cli", () => {
  it("compiles the project only when dist/ is older than provider/, and never runs a stale build", async () => {
    const found = await locatePulumiCli(pinnedPulumiVersion(PROJECT_ROOT), process.env);
    expect(found, "npm test provisions the CLI first").toBeDefined();
    const copy = fs.mkdtempSync(path.join(root, "project-"));
    for (const entry of ["Pulumi.yaml", "package.json", "tsconfig.json", "provider", "dist/provider", "scripts"]) fs.cpSync(path.join(PROJECT_ROOT, entry), path.join(copy, entry), { recursive: true });
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(copy, "node_modules"));
    const compiled = path.join(copy, "dist/provider/plan/patch-plan.js");
    const run = () => spawnSync(process.execPath, [path.join(copy, "scripts/pulumi-cli.js")], { cwd: copy, env: process.env, encoding: "utf8" });

    const builtAt = fs.statSync(compiled).mtimeMs;
    const fresh = run();
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(fresh.stdout.trim().split("\n").pop()).toBe(found!.binDir);
    expect(fresh.stderr).not.toContain("npm run build");
    expect(fs.statSync(compiled).mtimeMs).toBe(builtAt);

    fs.appendFileSync(path.join(copy, "provider/plan/patch-plan.ts"), "\n// edited after the build\n");
    expect(staleBuild(copy)).toBeDefined();
    const stale = run();
    expect(stale.status, stale.stderr).toBe(0);
    expect(stale.stderr).toContain("pulumi:cli: dist/ is missing or older than provider/: npm run build");
    expect(stale.stdout.trim().split("\n").pop()).toBe(found!.binDir);
    expect(staleBuild(copy)).toBeUndefined();
    expect(fs.readFileSync(compiled, "utf8")).toContain("// edited after the build");
  });
});
