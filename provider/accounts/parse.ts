import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import type { AccountProblem } from "./problem";

export interface Position {
  line: number;
  column: number;
}

/** One account file parsed, with a way back from a field path to its line and column. */
export interface ParsedFile {
  /** Display path (relative to the working directory). */
  file: string;
  /** Absolute path on disk, for resolving `file:` references. */
  path: string;
  data: unknown;
  locate(field: readonly (string | number)[]): Position;
}

/**
 * Parses YAML text keeping source positions (the yaml package tracks them; we only map paths to them).
 * Duplicate keys, tabs and syntax errors come back as problems with the parser's own position.
 */
export function parseAccountText(file: string, path: string, text: string): { parsed?: ParsedFile; problems: AccountProblem[] } {
  const { doc, lineCounter } = parseWithPositions(text);
  const problems: AccountProblem[] = doc.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0]);
    return {
      file,
      line: pos.line,
      column: pos.col,
      field: "",
      message: `invalid YAML: ${firstLine(e.message)}`,
      fix: e.code === "DUPLICATE_KEY" ? "remove or rename the repeated key" : "fix the YAML syntax at this position",
    };
  });
  if (problems.length > 0) return { problems };
  // Positions are wanted only for problems, which are rare: keep the text (a few hundred bytes) and
  // parse again on demand, rather than keep every file's syntax tree alive through a large load.
  let positions: ReturnType<typeof positionFinder> | undefined;
  const locate = (field: readonly (string | number)[]): Position => (positions ??= positionFinder(text))(field);
  return { parsed: { file, path, data: doc.toJS({ maxAliasCount: 50 }), locate }, problems: [] };
}

function parseWithPositions(text: string) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  return { doc, lineCounter };
}

/** Maps a field path to the line and column of its key (or of the closest parent present). */
function positionFinder(text: string): (field: readonly (string | number)[]) => Position {
  const { doc, lineCounter } = parseWithPositions(text);
  const at = (offset: number | undefined): Position => {
    const p = lineCounter.linePos(offset ?? 0);
    return { line: p.line, column: p.col };
  };
  return (field: readonly (string | number)[]): Position => {
    let node: unknown = doc.contents;
    let last = at((doc.contents as Node | null)?.range?.[0]);
    for (const segment of field) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) return last;
        last = at((pair.key as Node).range?.[0]);
        node = pair.value;
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment] as Node | undefined;
        if (!item) return last;
        last = at(item.range?.[0]);
        node = item;
      } else {
        return last;
      }
    }
    return last;
  };
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}
