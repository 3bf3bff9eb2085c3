/** Summaries of repeated measurements: medians for what is repeated, nearest-rank percentiles for latencies. */

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100): a value that was actually measured, never an interpolation. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function ms(value: number): string {
  if (value < 1) return `${(value * 1000).toFixed(0)} µs`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  if (value < 10_000) return `${Math.round(value)} ms`;
  return `${(value / 1000).toFixed(1)} s`;
}

export function bytes(value: number): string {
  if (value < 10 * 1024) return `${count(value)} B`;
  if (value < 10 * 1024 * 1024) return `${(value / 1024).toFixed(1)} KiB`;
  return `${(value / 1024 / 1024).toFixed(1)} MiB`;
}

export function ratio(measured: number, baseline: number): string {
  if (baseline === 0) return measured === 0 ? "1.00" : "∞";
  return (measured / baseline).toFixed(2);
}

export function count(value: number): string {
  return value.toLocaleString("en-US");
}
