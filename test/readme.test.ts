/**
 * The README a new user reads: the quick start is the two commands a fresh machine needs, the local
 * try-out is one block (run for real in try-it-locally.test.ts), it stays short, and every relative
 * link and anchor in it, in docs/ and in CONTRIBUTING.md leads somewhere.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "./support/git-repo";
import { anchorsOf, shellBlockAfter, tryItLocallyBlock } from "./support/readme";

const README = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
/** Relative links of a Markdown file outside code: `[text](target)`, inline or in tables. */
function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const m of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1];
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push(target);
    }
  }
  return links;
}

const DOCS = ["README.md", "CONTRIBUTING.md", ...fs.readdirSync(path.join(PROJECT_ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

describe("README", () => {
  it("quick start is npm ci, then npm run demo, and nothing else", () => {
    expect(shellBlockAfter(README, "## Quick start")).toBe("npm ci\nnpm run demo\n");
    const scripts = (JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
    expect(scripts.demo).toBe("node dist/provider/cli/main.js demo");
  });

  it("is for users: at most 400 lines, in the sections a user needs, in order", () => {
    expect(README.split("\n").length).toBeLessThanOrEqual(400);
    expect(README.split("\n").filter((l) => l.startsWith("## "))).toEqual([
      "## Quick start", "## Try it locally", "## The account file", "## Review and CI", "## Operations", "## Commands",
    ]);
    // Figures live in bench/RESULTS.md, linked, not copied.
    expect(README).toContain("(bench/RESULTS.md)");
    expect(README).not.toMatch(/\d+(\.\d+)?×/);
  });

  it("try it locally is one block: the provisioned CLI on PATH, the sandbox with its state file, the local backend, passphrase, age key and the examples' references, then the preview saved as a plan and the up bound to it", () => {
    const lines = tryItLocallyBlock().trimEnd().split("\n").map((l) => l.replace(/\s+#.*$/, ""));
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    const order = [
      /^export PATH="\$\(npm run --silent pulumi:cli \| tail -n 1\):\$PATH"$/,
      /^mkdir -p \.pulumi-state$/,
      /^npx connected-accounts sandbox --port 8787 --state \.pulumi-state\/sandbox-accounts\.json &$/,
      /^npx connected-accounts sandbox wait --url http:\/\/127\.0\.0\.1:8787$/,
      /^export PULUMI_BACKEND_URL="file:\/\/\$PWD\/\.pulumi-state"$/,
      /^export PULUMI_CONFIG_PASSPHRASE=dev-demo$/,
      /^export SOPS_AGE_KEY_FILE=examples\/sops\/demo\.agekey$/,
      /^export SHOPIFY_ACME_API_KEY=/,
      /^printf '.*' > secrets\/github-release-app\.pem$/,
      /^pulumi stack select --create dev$/,
      /^pulumi preview --diff --save-plan \.pulumi-state\/plan\.json$/,
      /^pulumi up --yes --plan \.pulumi-state\/plan\.json --continue-on-error$/,
    ].map(at);
    expect(order.every((i) => i >= 0), JSON.stringify(order)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines).toHaveLength(order.length);
  });

  it("links to the reference pages instead of holding them", () => {
    for (const doc of ["docs/settings.md", "docs/where-secrets-go.md", "docs/hardening.md", "docs/sandbox.md", "docs/large-fleets.md", "docs/provisioning.md", "docs/ci.md", "docs/review-and-apply.md", "CONTRIBUTING.md"]) {
      expect(README, doc).toContain(`](${doc}`);
    }
  });
});

describe("links in README.md, CONTRIBUTING.md and docs/", () => {
  it("every relative link leads to a file or folder of the repository, and every anchor to a heading there", () => {
    const broken: string[] = [];
    for (const doc of DOCS) {
      const text = fs.readFileSync(path.join(PROJECT_ROOT, doc), "utf8");
      for (const link of relativeLinks(text)) {
        const [file, anchor] = link.split("#");
        const target = file === "" ? path.join(PROJECT_ROOT, doc) : path.resolve(path.dirname(path.join(PROJECT_ROOT, doc)), decodeURIComponent(file));
        if (!target.startsWith(PROJECT_ROOT) || !fs.existsSync(target)) {
          broken.push(`${doc}: ${link} (no ${path.relative(PROJECT_ROOT, target)})`);
          continue;
        }
        if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(fs.readFileSync(target, "utf8")).has(anchor)) {
          broken.push(`${doc}: ${link} (no heading for #${anchor} in ${path.relative(PROJECT_ROOT, target)})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it("finds a broken link and a broken anchor, so a clean result means something", () => {
    expect(anchorsOf("# A title\n## The CLI, provisioned: `npm run pulumi:cli`\n## Drift\n## Drift\n")).toEqual(new Set(["a-title", "the-cli-provisioned-npm-run-pulumicli", "drift", "drift-1"]));
    expect(relativeLinks("see [a](docs/a.md#x), [b](https://example.com), `[c](not-a-link.md)`\n```\n[d](in-code.md)\n```\n| [e](e.md) |")).toEqual(["docs/a.md#x", "e.md"]);
  });
});
