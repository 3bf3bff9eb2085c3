import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from "yaml";
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
  const problemAt = (offset: number | undefined, field: string, message: string, fix: string): AccountProblem => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { file, line: pos.line, column: pos.col, field, message, fix };
  };
  // Tags make the parser build something other than plain data (`!!js/function`, custom types); an
  // account file needs none, so each is refused where it is written.
  visit(doc, {
    Node(_key, node, ancestors) {
      if (node.tag) problems.push(problemAt(node.range?.[0], fieldOf(ancestors), `YAML tag ${JSON.stringify(node.tag)} is not allowed`, "remove the tag and write the plain value (quote it to keep it a string)"));
    },
  });
  if (problems.length > 0) return { problems };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    // The yaml package throws (rather than reports) for aliases: too many uses (a "billion laughs"
    // file) or one whose anchor is missing. Either is this file's problem, not the whole run's.
    const alias = firstAlias(doc, err instanceof Error ? err.message : "");
    return {
      problems: [
        /Unresolved alias/.test(String(err))
          // The alias's name is not repeated: it is text from the file, maybe a secret pasted there.
          ? problemAt(alias?.offset, alias?.field ?? "", "a YAML alias (*name) here has no anchor (&name) before it", "define the anchor before the alias that uses it, or write the value out")
          : problemAt(alias?.offset, alias?.field ?? "", `YAML aliases are used too often (more than ${MAX_ALIAS_COUNT} expansions)`, "write the values out; an account file needs no anchors or aliases"),
      ],
    };
  }
  // Positions are wanted only for problems, which are rare: keep the text (a few hundred bytes) and
  // parse again on demand, rather than keep every file's syntax tree alive through a large load.
  let positions: ReturnType<typeof positionFinder> | undefined;
  const locate = (field: readonly (string | number)[]): Position => (positions ??= positionFinder(text))(field);
  return { parsed: { file, path, data, locate }, problems: [] };
}

/** Beyond this many alias expansions a file is an attack on memory, not an account. */
const MAX_ALIAS_COUNT = 50;

/** The dotted field holding a node, from the pairs above it. */
function fieldOf(ancestors: readonly unknown[]): string {
  return ancestors
    .filter(isPair)
    .map((p) => (isScalar(p.key) ? String(p.key.value) : "?"))
    .join(".");
}

/** The alias an error is about (by name when the message gives it), else the first one. */
function firstAlias(doc: Document, message: string): { name: string; offset?: number; field: string } | undefined {
  const named = /: (\S+)$/.exec(message)?.[1];
  let found: { name: string; offset?: number; field: string } | undefined;
  visit(doc, {
    Alias(_key, node, ancestors) {
      if (named !== undefined && node.source !== named) return undefined;
      found = { name: node.source, offset: node.range?.[0], field: fieldOf(ancestors) };
      return visit.BREAK;
    },
  });
  return found;
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
