/**
 * Planted credential values searched for in every channel a Pulumi run writes: each value in plain,
 * JSON-escaped, base64 and URL-encoded form, counted per channel and reference kind.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export type PlantedKind = "env" | "file" | "config";

export interface Planted {
  kind: PlantedKind;
  value: string;
}

/** The forms a value takes in text: as is, inside a JSON string, base64 (protobuf bytes, logs), URL-encoded. */
export function encodedForms(value: string): string[] {
  return [...new Set([value, JSON.stringify(value).slice(1, -1), Buffer.from(value).toString("base64"), encodeURIComponent(value)])];
}

export function occurrences(text: string, value: string): number {
  let n = 0;
  for (const form of encodedForms(value)) for (let at = text.indexOf(form); at >= 0; at = text.indexOf(form, at + form.length)) n++;
  return n;
}

/** Channel → kind → occurrences. */
export class ScanTable {
  readonly counts = new Map<string, Record<PlantedKind, number>>();

  constructor(readonly planted: readonly Planted[]) {}

  /** Adds `texts` to `channel` (a channel may be fed by many commands). */
  add(channel: string, ...texts: string[]): void {
    const row = this.counts.get(channel) ?? { env: 0, file: 0, config: 0 };
    for (const text of texts) for (const p of this.planted) row[p.kind] += occurrences(text, p.value);
    this.counts.set(channel, row);
  }

  get(channel: string): Record<PlantedKind, number> {
    return this.counts.get(channel) ?? { env: 0, file: 0, config: 0 };
  }

  /** Channels where a kind was found, with its count. */
  found(kind: PlantedKind): Record<string, number> {
    return Object.fromEntries([...this.counts].filter(([, row]) => row[kind] > 0).map(([channel, row]) => [channel, row[kind]]));
  }

  markdown(): string {
    const lines = ["| channel | env | file | config (secret) |", "|---|---|---|---|"];
    for (const [channel, row] of this.counts) lines.push(`| ${channel} | ${row.env} | ${row.file} | ${row.config} |`);
    return lines.join("\n");
  }
}

/** Every regular file under `dir`, as text (missing folder: nothing). */
export function filesText(dir: string): string[] {
  const texts: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) texts.push(fs.readFileSync(full, "latin1"));
    }
  };
  walk(dir);
  return texts;
}
