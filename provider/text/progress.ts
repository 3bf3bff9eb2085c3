/**
 * A one-line file counter on stderr for large account folders. It only appears for a person at a
 * terminal: never in CI, never when stderr is piped, never for a folder read in a blink.
 */

/** Below this many files a run finishes before a counter would be readable. */
export const PROGRESS_MIN_FILES = 200;
/** Redraw at most this often: a terminal repaint per file would cost more than parsing it. */
const REDRAW_INTERVAL_MS = 100;

export interface Progress {
  /** One more file done. */
  tick(): void;
  /** Clears the line; call once, before printing results. */
  done(): void;
}

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  env?: Record<string, string | undefined>;
  now?: () => number;
}

const SILENT: Progress = { tick() {}, done() {} };

export function progressEnabled(total: number, stream: ProgressStream, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && !env.CI && total > PROGRESS_MIN_FILES;
}

export function startProgress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const { stream = process.stderr, env = process.env, now = Date.now } = opts;
  if (!progressEnabled(total, stream, env)) return SILENT;
  let count = 0;
  let drawnAt = -Infinity;
  const draw = () => {
    drawnAt = now();
    stream.write(`\r${label} ${count}/${total}`);
  };
  draw();
  return {
    tick() {
      count++;
      if (count === total || now() - drawnAt >= REDRAW_INTERVAL_MS) draw();
    },
    done() {
      stream.write("\r\x1b[K");
    },
  };
}
