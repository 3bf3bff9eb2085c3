/**
 * The module version a Go binary was built from, read from the build information the Go linker
 * embeds (what `go version -m` prints), without running the binary and without Go installed.
 * `sops --version` is no way to ask: it contacts GitHub to compare with the latest release.
 *
 * Format (Go 1.18 and newer): a 32-byte header starting with "\xff Go buildinf:", whose flags byte
 * marks the strings as inline; then the Go version and the module information, each a uvarint
 * length and its bytes. The module information lists `mod <path> <version> <sum>` for the main module.
 */
import * as fs from "node:fs";

const MAGIC = Buffer.from("\xff Go buildinf:", "latin1");
const HEADER_BYTES = 32;
const FLAG_INLINE_STRINGS = 0x2;
/** Module information is a few KiB; a larger length is not build information. */
const MAX_STRING_BYTES = 1 << 20;
const CHUNK_BYTES = 1 << 20;
/** Larger than any Go binary we would run: the scan stops here. */
const MAX_SCAN_BYTES = 1 << 30;

export interface GoBuildInfo {
  goVersion: string;
  /** The main module's path and version, e.g. github.com/getsops/sops/v3 and v3.13.3. */
  path?: string;
  version?: string;
}

/** The build information of `binary`, or undefined when it is not a Go binary of a known format. */
export function readGoBuildInfo(binary: string): GoBuildInfo | undefined {
  let fd: number;
  try {
    fd = fs.openSync(binary, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return undefined;
    const at = findMagic(fd);
    if (at === undefined) return undefined;
    const head = Buffer.alloc(HEADER_BYTES + 2 * (MAX_STRING_BYTES + 10));
    const length = fs.readSync(fd, head, 0, head.length, at);
    return parseBuildInfo(head.subarray(0, length));
  } finally {
    fs.closeSync(fd);
  }
}

/** The header is 16-byte aligned in the file's data section. */
function findMagic(fd: number): number | undefined {
  const chunk = Buffer.alloc(CHUNK_BYTES + MAGIC.length);
  for (let offset = 0; offset < MAX_SCAN_BYTES; offset += CHUNK_BYTES) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, offset);
    if (n < MAGIC.length) return undefined;
    for (let i = chunk.subarray(0, n).indexOf(MAGIC); i !== -1; i = chunk.subarray(0, n).indexOf(MAGIC, i + 1)) {
      if ((offset + i) % 16 === 0) return offset + i;
    }
    if (n < chunk.length) return undefined;
  }
  return undefined;
}

export function parseBuildInfo(data: Buffer): GoBuildInfo | undefined {
  if (data.length < HEADER_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  if ((data[15] & FLAG_INLINE_STRINGS) === 0) return undefined;
  let pos = HEADER_BYTES;
  const readString = (): string | undefined => {
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      if (pos >= data.length || shift > 28) return undefined;
      const byte = data[pos++];
      length |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    if (length > MAX_STRING_BYTES || pos + length > data.length) return undefined;
    const text = data.subarray(pos, pos + length).toString("utf8");
    pos += length;
    return text;
  };
  const goVersion = readString();
  const modInfo = readString();
  if (goVersion === undefined || modInfo === undefined) return undefined;
  const main = /^mod\t(\S+)\t(\S+)/m.exec(modInfo);
  return main ? { goVersion, path: main[1], version: main[2] } : { goVersion };
}
