/**
 * Reading a stack file (and Pulumi.yaml) safely. CI names the stack on every pull request
 * (PULUMI_STACK), and git commits symbolic links: a stack file that is a link to /dev/zero would
 * be read without end, a FIFO would block the command forever. So a stack file is checked as an
 * account file is, before it is opened: a regular file, inside the project, of bounded size.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { locateInRepository, readAtMost } from "../references/secret-file";
import { UsageError } from "./usage-error";

/**
 * Pulumi hands the program the stack's whole config in one environment variable that Linux caps
 * at 128 KiB (see CONFIG_ENV_LIMIT_BYTES): a stack file many times that size is not a stack file.
 */
export const MAX_STACK_FILE_BYTES = 1024 * 1024;

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** A stack file this tool will not read; a usage error (exit 2) in the commands, a RunError in the program. */
export class StackFileError extends UsageError {
  constructor(message: string) {
    super(message, false);
    this.name = "StackFileError";
  }
}

/**
 * The stack file's text; undefined when there is none (a stack may keep its config in the backend).
 * Throws a StackFileError naming the file, what it is and the fix, for anything but a regular UTF-8
 * file inside the project of at most MAX_STACK_FILE_BYTES.
 */
export function readStackFile(file: string, projectRoot: string): string | undefined {
  const checked = checkedText(file, projectRoot);
  if ("problem" in checked) {
    // From where the command runs; the program runs in provider/, where the project's path reads better.
    const fromCwd = path.relative(process.cwd(), file);
    const shown = fromCwd.startsWith("..") ? path.relative(projectRoot, file) : fromCwd || file;
    throw new StackFileError(`stack file ${shown} ${checked.problem}; nothing was read from it. Fix: ${checked.fix}`);
  }
  return checked.text;
}

/** The same check, for files only read for a hint or a position: undefined for anything unreadable. */
export function readProjectFileQuietly(file: string, projectRoot: string): string | undefined {
  const checked = checkedText(file, projectRoot);
  return "text" in checked ? checked.text : undefined;
}

type Checked = { text: string | undefined } | { problem: string; fix: string };

function checkedText(file: string, projectRoot: string): Checked {
  const at = locateInRepository(file, projectRoot);
  const replace = "make it a regular file of the project, holding the stack's settings (git checkout -- it, or pulumi config set again)";
  if ("missing" in at) return { text: undefined };
  if ("dangling" in at) return { problem: "is a symbolic link that leads nowhere (or in a loop)", fix: replace };
  if ("outside" in at) return { problem: "links outside the project", fix: replace };
  if (at.kind) return { problem: `is ${at.kind}, not a regular file`, fix: replace };
  if (at.stat.size > MAX_STACK_FILE_BYTES) return tooLarge(at.stat.size);
  const read = readAtMost(at.realPath, MAX_STACK_FILE_BYTES + 1);
  if ("message" in read) return { problem: read.message, fix: read.fix };
  if (read.data.length > MAX_STACK_FILE_BYTES) return tooLarge(read.data.length);
  try {
    return { text: UTF8.decode(read.data) };
  } catch {
    return { problem: "is not UTF-8 text", fix: replace };
  }
}

function tooLarge(size: number): Checked {
  return {
    problem: `is ${size} bytes; stack files are limited to ${MAX_STACK_FILE_BYTES} bytes`,
    fix: "keep credentials in SOPS files or { env: NAME } references, not in stack config",
  };
}
