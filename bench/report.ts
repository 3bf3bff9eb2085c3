/** The bench's one output: a Markdown table, printed and written to bench/RESULTS.md with the machine it ran on. */
import * as os from "node:os";

/** One line of the table: a measurement side by side with its floor (or minimum) and target. */
export interface Row {
  measurement: string;
  scale: string;
  measured: string;
  baseline: string;
  ratio: string;
  target: string;
  /** undefined: informational, no target. */
  met?: boolean;
}

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  node: string;
  date: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    node: process.version,
    date: new Date().toISOString(),
  };
}

export function renderTable(rows: readonly Row[]): string {
  const header = ["Measurement", "Scale", "Measured", "Floor / minimum", "Ratio", "Target", "Met"];
  const cells = rows.map((r) => [r.measurement, r.scale, r.measured, r.baseline, r.ratio, r.target, r.met === undefined ? "–" : r.met ? "yes" : "**no**"]);
  const line = (values: readonly string[]) => `| ${values.map((v) => v.replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...cells.map(line)].join("\n");
}

/** `appendix`: Markdown written by hand from profiles (bench/where-the-time-goes.md), kept after the notes. */
export function renderResults(m: Machine, rows: readonly Row[], notes: readonly string[], command: string, appendix = ""): string {
  return [
    "# Benchmark results",
    "",
    `Produced by \`${command}\` on ${m.date}.`,
    "",
    `- CPU: ${m.cpu} (${m.cores} cores)`,
    `- Memory: ${m.memory}`,
    `- Node.js: ${m.node}`,
    "",
    renderTable(rows),
    "",
    ...(notes.length > 0 ? ["Notes:", "", ...notes.map((n) => `- ${n}`), ""] : []),
    ...(appendix.trim() ? [appendix.trim(), ""] : []),
  ].join("\n");
}
