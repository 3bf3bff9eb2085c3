/**
 * `npm run pulumi:cli`'s choices, with stand-in binaries that only answer `pulumi version`: which
 * CLI on PATH counts, and which `replace` directives the Go build copies.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { remoteReplacements } from "../provider/pulumi-cli/build";
import { cacheBinDir, locatePulumiCli } from "../provider/pulumi-cli/locate";

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
