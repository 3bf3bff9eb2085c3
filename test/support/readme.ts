/** The README's blocks and anchors, as the README tests and the try-it-locally test read them. */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_ROOT } from "./git-repo";

const README = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");

/** The marker line right before the block a user pastes to try the project locally. */
export const TRY_IT_LOCALLY_MARKER = "<!-- try-it-locally -->";

/** The first ```sh block after a line. */
export function shellBlockAfter(text: string, line: string): string {
  const at = text.indexOf(`${line}\n`);
  if (at < 0) throw new Error(`no line "${line}" in the text`);
  const m = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`no sh block after "${line}"`);
  return m[1];
}

/** The block the try-it-locally test runs, exactly as the README has it. */
export function tryItLocallyBlock(readme = README): string {
  const at = readme.indexOf(`${TRY_IT_LOCALLY_MARKER}\n\`\`\`sh\n`);
  if (at < 0) throw new Error(`README.md has no ${TRY_IT_LOCALLY_MARKER} marker right before a sh block`);
  return shellBlockAfter(readme, TRY_IT_LOCALLY_MARKER);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^(```|~~~)/.test(line)) fenced = !fenced;
    const m = !fenced && /^#{1,6} (.+?)\s*#*$/.exec(line);
    if (!m) continue;
    const base = m[1].replace(/`/g, "").replace(/\[([^\]]*)\]\([^)]*\)/g, "$1").trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

