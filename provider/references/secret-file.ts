/**
 * Reading a `file:` reference safely. The target is checked before it is opened (where it really
 * points, what kind of file it is, how large), because opening is already too late for a symbolic
 * link to `/dev/zero` (endless), a FIFO (blocks forever) or a 50 MB file. The same check serves
 * `validate` and the Pulumi program, so the two never disagree.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isInside } from "../accounts/validate";
import { LIMITS } from "../settings";

export type SecretFileProblem = { message: string; fix: string };
export type SecretFileCheck = { realPath: string; size: number } | { missing: true } | SecretFileProblem;

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const BOM = "\uFEFF";

/** Where a referenced path really leads, links resolved, without opening it. */
export type LocatedTarget = { missing: true } | { dangling: true } | { outside: true } | { realPath: string; stat: fs.Stats; kind?: string };

export function locateInRepository(target: string, repoRoot: string): LocatedTarget {
  try {
    fs.lstatSync(target);
  } catch {
    return { missing: true };
  }
  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch {
    return { dangling: true };
  }
  if (!isInside(realOrSelf(repoRoot), real)) return { outside: true };
  const stat = fs.statSync(real);
  return { realPath: real, stat, kind: describeKind(stat) };
}

/** Where `ref` (as written in the file) leads, without opening it. `missing` when nothing is there. */
export function inspectSecretFile(target: string, ref: string, repoRoot: string): SecretFileCheck {
  const at = locateInRepository(target, repoRoot);
  if ("missing" in at) return at;
  if ("dangling" in at) return { message: `file ${ref} is a symbolic link that leads nowhere (or in a loop)`, fix: "point the link at the secret file, or replace the link with the file itself" };
  if ("outside" in at) return { message: `file ${ref} links outside the repository`, fix: "keep the secret file itself inside the repository (git-ignored), or use an env or config reference" };
  if (at.kind) return { message: `file ${ref} is ${at.kind}, not a regular file`, fix: "point the reference at a regular file holding the credential" };
  if (at.stat.nlink > 1) return hardLinked(ref, at.stat.nlink);
  if (at.stat.size > LIMITS.maxSecretFileBytes) return tooLarge(ref, at.stat.size);
  return { realPath: at.realPath, size: at.stat.size };
}

/**
 * The credential a `file:` reference holds: UTF-8 text, one leading byte-order mark and one trailing
 * newline dropped (editors and `echo` add them; the API would take them as part of the secret).
 * Anything else (binary, another encoding) is refused rather than sent altered.
 */
export function readSecretFile(target: string, ref: string, repoRoot: string): { value: string } | SecretFileProblem {
  const check = inspectSecretFile(target, ref, repoRoot);
  if ("missing" in check) return { message: `file ${ref} does not exist (looked for ${path.relative(repoRoot, target)})`, fix: "create the file, or correct the path (it is relative to the account file)" };
  if ("message" in check) return check;
  const bytes = readAtMost(check.realPath, LIMITS.maxSecretFileBytes + 1);
  if ("message" in bytes) return { message: `file ${ref} ${bytes.message}`, fix: bytes.fix };
  if (bytes.data.length > LIMITS.maxSecretFileBytes) return tooLarge(ref, bytes.data.length);
  let text: string;
  try {
    text = UTF8.decode(bytes.data);
  } catch {
    return notText(ref, "is not UTF-8 text");
  }
  if (text.includes("\0")) return notText(ref, "holds NUL bytes: it is binary, not text");
  const value = (text.startsWith(BOM) ? text.slice(1) : text).replace(/\r?\n$/, "");
  if (value === "") return { message: `file ${ref} is empty`, fix: `write the credential into ${ref}` };
  return { value };
}

/** Opens without following links and without blocking (a FIFO swapped in after the check), then re-checks the open file. */
export function readAtMost(file: string, max: number): { data: Buffer } | SecretFileProblem {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    return { message: `could not be opened (${(err as NodeJS.ErrnoException).code ?? "error"})`, fix: "check the file's permissions" };
  }
  try {
    const stat = fs.fstatSync(fd);
    const kind = describeKind(stat);
    if (kind) return { message: `is ${kind}, not a regular file`, fix: "point the reference at a regular file holding the credential" };
    if (stat.nlink > 1) return hardLinked("", stat.nlink, true);
    const buffer = Buffer.alloc(max);
    let length = 0;
    for (let n = 1; n > 0 && length < max; length += n) n = fs.readSync(fd, buffer, length, max - length, null);
    return { data: buffer.subarray(0, length) };
  } finally {
    fs.closeSync(fd);
  }
}

function describeKind(stat: fs.Stats): string | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return "a folder";
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  if (stat.isSocket()) return "a socket";
  return "not a file";
}

/**
 * A hard link is the same file under a second name, which may lie anywhere on the file system
 * (`ln ~/.ssh/id_ed25519 secrets/key.pem`): no path shows where the other name is, so any file with
 * more than one name is refused, as a link leading outside the repository is.
 */
function hardLinked(ref: string, links: number, bare = false): SecretFileProblem {
  return {
    message: `${bare ? "" : `file ${ref} `}has ${links} hard links: another name for the same file may be outside the repository`,
    fix: "replace the hard link with a copy of the secret (cp --remove-destination), or use an env or config reference",
  };
}

function tooLarge(ref: string, size: number): SecretFileProblem {
  return { message: `file ${ref} is ${size} bytes; secret files are limited to ${LIMITS.maxSecretFileBytes} bytes`, fix: "a credential is a few KiB at most: check that the reference points at the right file" };
}

function notText(ref: string, what: string): SecretFileProblem {
  return { message: `file ${ref} ${what}; credentials are sent as text`, fix: `base64-encode it (base64 -w0 ${path.basename(ref)} > ${path.basename(ref)}.b64), reference the encoded file, and make sure the toolkit expects base64` };
}

function realOrSelf(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}
