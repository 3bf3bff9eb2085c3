/**
 * Planted credential values searched for in every channel a Pulumi run writes: each value in plain,
 * JSON-escaped, base64 and URL-encoded form, counted per channel and reference kind.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export type PlantedKind = "env" | "file" | "sops" | "config" | "apiKey";
const KINDS: readonly PlantedKind[] = ["env", "file", "sops", "config", "apiKey"];
const noneFound = (): Record<PlantedKind, number> => ({ env: 0, file: 0, sops: 0, config: 0, apiKey: 0 });

export interface Planted {
  kind: PlantedKind;
  value: string;
}

/**
 * The forms a value takes in text: as is, inside a JSON string, URL-encoded, and base64. Logs write
 * a request's protobuf bytes as one base64 text, where the value starts at any byte offset: so the
 * base64 forms are the characters every such text shares, at each of the three alignments (in the
 * standard and the URL-safe alphabet).
 */
export function encodedForms(value: string): string[] {
  return [...new Set([value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value), ...base64AtAnyOffset(value)])];
}

function base64AtAnyOffset(value: string): string[] {
  const bytes = Buffer.from(value, "utf8");
  return [0, 1, 2].flatMap((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64").replace(/=+$/, "");
    // Drop the characters that also encode the neighbouring bytes: the padding before, the last group's tail.
    const core = encoded.slice(Math.ceil((offset * 4) / 3), (offset + bytes.length) % 3 === 0 ? encoded.length : encoded.length - 1);
    return [core, core.replace(/\+/g, "-").replace(/\//g, "_")];
  });
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
    const row = this.counts.get(channel) ?? noneFound();
    for (const text of texts) for (const p of this.planted) row[p.kind] += occurrences(text, p.value);
    this.counts.set(channel, row);
  }

  get(channel: string): Record<PlantedKind, number> {
    return this.counts.get(channel) ?? noneFound();
  }

  /** Channels where a kind was found, with its count. */
  found(kind: PlantedKind): Record<string, number> {
    return Object.fromEntries([...this.counts].filter(([, row]) => row[kind] > 0).map(([channel, row]) => [channel, row[kind]]));
  }

  markdown(): string {
    const lines = [`| channel | ${KINDS.join(" | ")} |`, `|---|${KINDS.map(() => "---|").join("")}`];
    for (const [channel, row] of this.counts) lines.push(`| ${channel} | ${KINDS.map((k) => row[k]).join(" | ")} |`);
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
