/**
 * The one Pulumi CLI version the project pins: the version of the official `pulumi` npm launcher in
 * package.json, so `npx pulumi`, a CLI built by `npm run pulumi:cli` and the tests all agree.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** `3.259.0` from package.json's `devDependencies.pulumi` (an exact version). */
export function pinnedPulumiVersion(projectRoot: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(projectRoot, "package.json"), "utf8")) as { devDependencies?: Record<string, string> };
  const pinned = manifest.devDependencies?.pulumi;
  if (!pinned || !/^\d+\.\d+\.\d+$/.test(pinned)) {
    throw new Error(`package.json must pin devDependencies.pulumi to an exact version (x.y.z), not ${JSON.stringify(pinned)}`);
  }
  return pinned;
}

/** `v3.259.0` (or `3.259.0-dev…`) as printed by `pulumi version` → [3, 259, 0]; undefined when unreadable. */
export function parseVersion(text: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function atLeast(found: [number, number, number], wanted: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (found[i] !== wanted[i]) return found[i] > wanted[i];
  return true;
}
