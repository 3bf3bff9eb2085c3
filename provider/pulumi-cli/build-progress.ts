/**
 * What a user reads while Go builds the CLI: a first estimate before anything runs, then, every few
 * seconds, how far the current step is. Go prints one line per package it compiles (`go build -v`)
 * and one per module it downloads; against the number of packages to build (`go list -deps`) that
 * gives packages done of total. No time left is shown while compiling: packages differ in cost by
 * orders of magnitude (the standard library first, the CLI's large packages last) and the machine
 * may be shared, so any rate extrapolated mid-build jumps by minutes; a count only ever moves forward.
 */
import * as os from "node:os";

/**
 * The whole build from empty Go caches on a 2-core machine: about 40 s of module downloads and
 * 3½ minutes of compiling. Compiling is CPU-bound, so more cores shorten it.
 */
const DOWNLOAD_ESTIMATE_MS = 40_000;
const COMPILE_ESTIMATE_MS_ON_2_CORES = 210_000;

export function firstEstimate(cores = os.cpus().length, load = os.loadavg()[0]): string {
  const compile = (COMPILE_ESTIMATE_MS_ON_2_CORES * 2) / Math.max(1, cores);
  // Other work on the machine shares its cores: say so rather than promise the idle figure.
  const busy = load > cores ? `; the machine is busy (load ${load.toFixed(1)} on ${cores} cores), so expect several times that` : "";
  return `about ${duration(DOWNLOAD_ESTIMATE_MS + compile)} from empty Go caches on this ${cores}-core machine, seconds when the Go build cache is warm${busy}`;
}

/** `  go: compiling cmd/pulumi: 412 of 1530 packages (26%), 1m05s so far`. */
export function compileProgress(done: number, total: number, elapsedMs: number): string {
  const shown = Math.min(done, total);
  const rest = total > 0 && shown >= total ? ", linking" : "";
  const percent = total > 0 ? ` (${Math.floor((shown / total) * 100)}%)` : "";
  return `  go: compiling cmd/pulumi: ${shown} of ${total} packages${percent}, ${duration(elapsedMs)} so far${rest}`;
}

/** `  go: downloading modules: 120 so far, 45s`. */
export function downloadProgress(modules: number, elapsedMs: number): string {
  return `  go: downloading modules: ${modules} so far, ${duration(elapsedMs)}`;
}

/** 45s, 1m05s, 3m30s. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}
