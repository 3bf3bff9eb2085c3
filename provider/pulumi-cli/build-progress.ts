/**
 * What a user reads while Go builds the CLI: a first estimate before anything runs, then, every few
 * seconds, how far the current step is and how long is left. Go prints one line per package it
 * compiles (`go build -v`) and one per module it downloads; against the number of packages to
 * build (`go list -deps`) that gives a fraction done, and from the time taken so far, the rest.
 */
import * as os from "node:os";

/**
 * The whole build from empty Go caches on a 2-core machine: about 40 s of module downloads and
 * 3½ minutes of compiling. Compiling is CPU-bound, so more cores shorten it.
 */
const DOWNLOAD_ESTIMATE_MS = 40_000;
const COMPILE_ESTIMATE_MS_ON_2_CORES = 210_000;
/** Before this share of packages is compiled the rate says little (the standard library comes first). */
const MIN_SHARE_FOR_RATE = 0.1;

export function firstEstimate(cores = os.cpus().length): string {
  const compile = (COMPILE_ESTIMATE_MS_ON_2_CORES * 2) / Math.max(1, cores);
  return `about ${duration(DOWNLOAD_ESTIMATE_MS + compile)} from empty Go caches on this ${cores}-core machine, seconds when the Go build cache is warm`;
}

/** `  go: compiling cmd/pulumi: 412 of 1530 packages, 1m05s so far, about 2m40s left`. */
export function compileProgress(done: number, total: number, elapsedMs: number, cores = os.cpus().length): string {
  const shown = Math.min(done, total);
  const left = remainingMs(shown, total, elapsedMs, cores);
  const rest = shown >= total ? "linking" : `about ${duration(left)} left`;
  return `  go: compiling cmd/pulumi: ${shown} of ${total} packages, ${duration(elapsedMs)} so far, ${rest}`;
}

/** `  go: downloading modules: 120 so far, 45s`. */
export function downloadProgress(modules: number, elapsedMs: number): string {
  return `  go: downloading modules: ${modules} so far, ${duration(elapsedMs)}`;
}

/** Time left from the rate so far; before the rate means anything, the share of the fixed estimate still ahead. */
export function remainingMs(done: number, total: number, elapsedMs: number, cores = os.cpus().length): number {
  if (total <= 0 || done >= total) return 0;
  const share = done / total;
  if (share < MIN_SHARE_FOR_RATE) return Math.max(0, (COMPILE_ESTIMATE_MS_ON_2_CORES * 2) / Math.max(1, cores) - elapsedMs);
  return (elapsedMs / share) * (1 - share);
}

/** 45s, 1m05s, 3m30s. */
export function duration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}
