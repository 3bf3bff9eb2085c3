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
    const opened = openedAt(doc, e.message, e.pos[0]);
    const pos = lineCounter.linePos(opened?.offset ?? e.pos[0]);
    return {
      file,
      line: pos.line,
      column: pos.col,
      field: "",
      message: `invalid YAML: ${firstLine(e.message)}${opened ? ` (${opened.what} opened here is never closed)` : ""}`,
      fix: e.code === "DUPLICATE_KEY" ? "remove or rename the repeated key" : opened ? `close it: add ${opened.closer} where the value ends` : "fix the YAML syntax at this position",
      excerpt: excerptAt(text, pos.line, pos.col),
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

/**
 * Where the construct an error is about was opened, for errors the parser reports where it gave up
 * (the end of the file): a quoted value or a flow collection that is never closed.
 */
function openedAt(doc: Document, message: string, errorOffset: number): { offset: number; what: string; closer: string } | undefined {
  const unclosed = /Missing closing (["'])quote/.exec(message)?.[1] ?? /end with a ([\]}])/.exec(message)?.[1];
  if (!unclosed) return undefined;
  const wanted = (node: Node): boolean =>
    unclosed === '"' ? isScalar(node) && node.type === "QUOTE_DOUBLE"
      : unclosed === "'" ? isScalar(node) && node.type === "QUOTE_SINGLE"
        : unclosed === "]" ? isSeq(node) && node.flow === true
          : isMap(node) && node.flow === true;
  let found: number | undefined;
  visit(doc, {
    Node(_key, node) {
      const range = node.range;
      // The innermost such construct that reaches the error: it opened last.
      if (range && wanted(node) && range[0] < errorOffset && range[1] >= errorOffset && (found === undefined || range[0] > found)) found = range[0];
    },
  });
  if (found === undefined) return undefined;
  const what = unclosed === '"' ? "the double quote" : unclosed === "'" ? "the single quote" : unclosed === "]" ? "the [ list" : "the { mapping";
  return { offset: found, what, closer: unclosed };
}

/** The file's line `line` and a caret under `column`, as a terminal may show them. */
function excerptAt(text: string, line: number, column: number): string[] | undefined {
  const source = text.split(/\r?\n/)[line - 1];
  if (source === undefined) return undefined;
  // Control characters (a hostile file's escape sequences) are shown as a visible mark; a tab as one space, to keep the caret under its column.
  const shown = [...source.slice(0, 200)].map((c) => (c === "\t" ? " " : /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(c) ? "?" : c)).join("");
  const gutter = String(line);
  return [`${gutter} | ${shown}`, `${" ".repeat(gutter.length)} | ${" ".repeat(Math.max(0, Math.min(column, 201) - 1))}^`];
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
