/**
 * The README's commands a new user types first: the quick start is the two commands a fresh
 * machine needs, and the local-backend steps keep the sandbox's accounts beside Pulumi's state.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "./support/git-repo";

const README = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");

/** The first ```sh block after a heading. */
function shellBlockAfter(heading: string): string {
  const at = README.indexOf(`${heading}\n`);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const m = /```sh\n([\s\S]*?)```/.exec(README.slice(at));
  return m![1];
}

describe("README", () => {
  it("quick start is npm ci, then npm run demo, and nothing else", () => {
    expect(shellBlockAfter("## Quick start")).toBe("npm ci\nnpm run demo\n");
    const scripts = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts.demo).toBe("node dist/provider/cli/main.js demo");
  });

  it("local-backend steps start the sandbox with a state file inside the backend's folder, before Pulumi runs", () => {
    const lines = shellBlockAfter("### With a local backend (no account needed)").split("\n");
    const sandbox = lines.findIndex((l) => l.startsWith("npx connected-accounts sandbox "));
    expect(lines[sandbox]).toMatch(/^npx connected-accounts sandbox --state \.pulumi-state\/sandbox-accounts\.json &/);
    expect(lines.findIndex((l) => l.startsWith("mkdir -p .pulumi-state"))).toBeLessThan(sandbox);
    expect(lines).toContain('export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"  # state inside the project (git-ignored)');
    expect(lines.findIndex((l) => l.startsWith("pulumi up"))).toBeGreaterThan(sandbox);
  });
});
