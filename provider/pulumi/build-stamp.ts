/**
 * The compiled program and provider must be the sources' own: both run from dist/, so an edit
 * without a rebuild would deploy old code. `npm run build` stamps dist/ with a digest of the
 * sources; the program and the provider process refuse a stamp that does not match them.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

const STAMP = "dist/provider/source-digest.txt";
const SOURCES = "provider";

/** sha256 over every .ts and .json file under provider/ (path and content), in code-point order. */
export function sourceDigest(projectRoot: string): string {
  const hash = createHash("sha256");
  const walk = (rel: string) => {
    // Links are not followed (tsc compiles none here; an editor's lock link may dangle).
    const entries = fs.readdirSync(path.join(projectRoot, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && /\.(ts|json)$/.test(entry.name)) hash.update(child).update("\0").update(fs.readFileSync(path.join(projectRoot, child))).update("\0");
    }
  };
  walk(SOURCES);
  return hash.digest("hex");
}

export function writeStamp(projectRoot: string): void {
  fs.writeFileSync(path.join(projectRoot, STAMP), `${sourceDigest(projectRoot)}\n`);
}

/**
 * Undefined when dist/ was built from the sources as they are now; else what to tell the user.
 * A build with no sources beside it is refused too: nothing shows what it was built from.
 */
export function staleBuild(projectRoot: string): string | undefined {
  if (!fs.existsSync(path.join(projectRoot, SOURCES))) {
    return `the compiled provider in ${path.join(projectRoot, "dist")} has no provider/ sources beside it, so it cannot be checked: run pulumi from the project's own folder, after npm run build`;
  }
  const stampFile = path.join(projectRoot, STAMP);
  const stamped = fs.existsSync(stampFile) ? fs.readFileSync(stampFile, "utf8").trim() : "";
  if (stamped === sourceDigest(projectRoot)) return undefined;
  return stamped === ""
    ? "the provider is not built (dist/ is missing): run npm run build (npm ci does it), then run pulumi again"
    : "the compiled provider in dist/ is older than provider/: run npm run build, then run pulumi again";
}

if (require.main === module) writeStamp(path.resolve(__dirname, "../../.."));
