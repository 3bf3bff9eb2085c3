/**
 * The README's "Try it locally" block, run exactly as written with bash in a fresh copy of the
 * project (what a clone has after npm ci), with the real Pulumi CLI it provisions, the sandbox it
 * starts and the relative age key it names. Only the sandbox's port differs from the README's
 * (8787 may be taken on a shared machine): the same number is swapped in the block and the dev
 * stack file of the copy.
 */
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "./support/git-repo";
import { freePort, portIsFree } from "./support/ports";
import { tryItLocallyBlock } from "./support/readme";

const README_PORT = "8787";
/** npx's first start in a new checkout compiles the project; the first preview and up each take a while. */
const RUN_BOUND_MS = 540_000;

/** A clone as it is after npm ci: the repository's files, the compiled dist/, node_modules (linked). */
function freshCopy(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ca-try-it-locally-")));
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: PROJECT_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const file of files) {
    const from = path.join(PROJECT_ROOT, file);
    if (!fs.existsSync(from)) continue;
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.copyFileSync(from, path.join(dir, file));
    fs.chmodSync(path.join(dir, file), fs.statSync(from).mode);
  }
  fs.cpSync(path.join(PROJECT_ROOT, "dist"), path.join(dir, "dist"), { recursive: true });
  fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(dir, "node_modules"));
  return dir;
}

/** npx keeps an entry per checkout it ran a project's own command in: the copy's goes with the copy. */
function removeNpxEntries(dir: string): void {
  const npxDir = path.join(os.homedir(), ".npm/_npx");
  if (!fs.existsSync(npxDir)) return;
  for (const entry of fs.readdirSync(npxDir)) {
    const manifest = path.join(npxDir, entry, "package.json");
    if (fs.existsSync(manifest) && fs.readFileSync(manifest, "utf8").includes(dir)) fs.rmSync(path.join(npxDir, entry), { recursive: true, force: true });
  }
}

describe("README: try it locally", () => {
  const copies: string[] = [];
  afterAll(() => {
    for (const dir of copies) {
      removeNpxEntries(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the block runs as written on a fresh clone: adopts every example account in the sandbox, then the sandbox stops with the shell", async () => {
    const dir = freshCopy();
    copies.push(dir);
    const port = String(await freePort());
    const block = tryItLocallyBlock();
    expect(block.split(README_PORT).length - 1, "the block names the sandbox's port twice: where it starts and where it is awaited").toBe(2);
    const stackFile = path.join(dir, "stacks/Pulumi.dev.yaml");
    fs.writeFileSync(stackFile, fs.readFileSync(stackFile, "utf8").replace(`http://127.0.0.1:${README_PORT}`, `http://127.0.0.1:${port}`));

    // A user's shell on a machine with nothing of Pulumi's yet; no key of this machine's may help.
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const key of Object.keys(env)) if (/^(PULUMI_|SOPS_|COMPOSIO_|SHOPIFY_|npm_)/.test(key)) delete env[key];
    Object.assign(env, { PULUMI_HOME: path.join(dir, ".pulumi-home"), PULUMI_SKIP_UPDATE_CHECK: "true", XDG_CONFIG_HOME: path.join(dir, ".config") });
    const started = Date.now();
    const run = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const shell = spawn("bash", ["-e", "-c", block.split(README_PORT).join(port)], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      shell.stdout.on("data", (c: Buffer) => (out += c.toString()));
      shell.stderr.on("data", (c: Buffer) => (out += c.toString()));
      const bound = setTimeout(() => shell.kill("SIGKILL"), RUN_BOUND_MS);
      shell.on("close", (code) => {
        clearTimeout(bound);
        resolve({ code, out });
      });
    });
    expect(run.code, run.out).toBe(0);
    expect(Date.now() - started).toBeLessThan(RUN_BOUND_MS);
    // The preview saved as a plan and the up bound to it, with the env, file and SOPS (relative age
    // key) references all read.
    expect(run.out).toMatch(/Previewing update \(dev\)/);
    expect(run.out).toContain("Update plan written to '.pulumi-state/plan.json'");
    expect(run.out).not.toMatch(/violates plan|is not allowed by the plan|errored/);
    // Every example account, and the stack itself.
    const accounts = execFileSync("git", ["ls-files", "accounts/*.yaml", "accounts/**/*.yaml"], { cwd: PROJECT_ROOT, encoding: "utf8" }).trim().split("\n").length;
    expect(run.out).toContain(`+ ${accounts + 1} to create`);
    expect(run.out).toContain(`+ ${accounts + 1} created`);
    expect(run.out).not.toMatch(/age key|no key available/);
    const state = JSON.parse(fs.readFileSync(path.join(dir, ".pulumi-state/sandbox-accounts.json"), "utf8")) as { accounts: { id: string; alias: string | null; val: Record<string, string> }[] };
    const jira = state.accounts.find((a) => a.id === "ca_jrW4tT8r")!;
    // The SOPS value reached Composio (the sandbox), decrypted with the block's relative key file.
    expect(Object.keys(jira.val)).toContain("password");
    expect(state.accounts.find((a) => a.id === "ca_shp3Ld9Xw")!.val.api_key).toBe("demo-shopify-key");
    // The shell that started the sandbox is gone: so is the sandbox.
    const end = Date.now() + 10_000;
    while (!(await portIsFree(Number(port))) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    expect(await portIsFree(Number(port))).toBe(true);
  }, RUN_BOUND_MS + 60_000);
});
