// Markdown pieces the CI scripts share: command output in a code block no text can break out of,
// cut to fit in a GitHub comment or issue (65,536 characters at most).
"use strict";

/** Output kept per block: with the rest of a comment, well under GitHub's limit. */
const MAX_OUTPUT_CHARS = 30_000;

/** `text` in a fenced block whose fence is longer than any backtick run inside; the end kept when cut. */
function codeBlock(text, maxChars = MAX_OUTPUT_CHARS) {
  let body = String(text).replace(/\r\n?/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "").trimEnd();
  if (body.length > maxChars) body = `… (${body.length - maxChars} characters cut; the run's log has everything)\n${body.slice(-maxChars)}`;
  const longest = Math.max(2, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}text\n${body}\n${fence}`;
}

/**
 * `text` as the content of one Markdown table cell, shown literally: no line breaks, no pipes, no
 * code spans, links, emphasis or HTML of its own (it comes from a file or an API answer).
 */
function tableCell(text, maxChars = 500) {
  let cell = String(text).replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  if (cell.length > maxChars) cell = `${cell.slice(0, maxChars)}…`;
  return cell.replace(/[\\`*_{}\[\]()<>#+!|~]/g, (c) => `\\${c}`).replace(/@/g, "@\u200b");
}

module.exports = { codeBlock, tableCell, MAX_OUTPUT_CHARS };
