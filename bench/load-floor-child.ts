/**
 * Child process of measurement 2, the physical floor: read and YAML-parse every account file, nothing
 * else. Its own process, so its peak RSS is its own. argv: <accounts dir>. Prints one JSON line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const dir = process.argv[2];
const started = performance.now();
const files = fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => /\.ya?ml$/i.test(f)).sort();
// Kept, as a loader keeps what it parsed: the floor must not win by letting the collector free it.
const parsed = files.map((f) => parse(fs.readFileSync(path.join(dir, f), "utf8")) as unknown);
const elapsedMs = performance.now() - started;
process.stdout.write(JSON.stringify({ elapsedMs, maxRssKb: process.resourceUsage().maxRSS, files: parsed.length }) + "\n");
