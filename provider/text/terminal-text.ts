/**
 * Text for a terminal. File names, keys and ids come from the repository, so from whoever wrote a
 * pull request: raw, an escape sequence could recolour or erase a line, and a newline could forge a
 * plan line. Every control character is shown escaped instead (Markdown output escapes on its own).
 */

/** C0 controls, DEL, C1 controls, line and paragraph separators, and the bidirectional overrides. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * A message of several lines whose line breaks are its own (a problem and its `fix:` line): each
 * line escaped, the breaks kept. Only for text whose parts were not escaped already, line by line,
 * where a break inside one part would still forge a line: prefer escaping each part with terminalSafe.
 */
export function terminalSafeLines(text: string): string {
  return text.split("\n").map(terminalSafe).join("\n");
}
