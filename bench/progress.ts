/**
 * Live progress for long runs (`deno task bench`, `bench:scaleout`, `soak`):
 * on a terminal, phase lines and one status line rewritten every second;
 * when stderr is piped, nothing unless `--progress` asks for it (then one
 * plain line per second, so a log file stays readable).
 *
 * @module
 */

/** How often the status line is redrawn. */
export const PROGRESS_INTERVAL_MS = 1000;

/** Where progress goes and how. */
export interface ProgressOptions {
  /** Prefix of every line, e.g. `bench`. */
  name: string;
  /** Show progress at all (a terminal, or `--progress`). */
  enabled: boolean;
  /** Rewrite one line in place (a terminal) instead of appending lines. */
  inPlace: boolean;
  write: (s: string) => void;
}

/** The progress reporter. */
export interface Progress {
  /** A phase started: one line. */
  phase(text: string): void;
  /**
   * Shows `label` with elapsed and total seconds, a bar, and `detail()`
   * once per second, until {@linkcode Progress.stop} or the next phase.
   */
  countdown(label: string, totalS: number, detail?: () => string): void;
  /** Erases the status line so the caller can print; the next second redraws it. */
  interrupt(): void;
  /** Stops the status line and erases it. */
  stop(): void;
}

/** Whether progress is shown: asked for with `--progress`, or stderr is a terminal. */
export function progressWanted(flag: boolean): boolean {
  return flag || Deno.stderr.isTerminal();
}

/** Progress on stderr for `name`, shown when {@linkcode progressWanted}. */
export function stderrProgress(name: string, flag: boolean): Progress {
  const encoder = new TextEncoder();
  return createProgress({
    name,
    enabled: progressWanted(flag),
    inPlace: Deno.stderr.isTerminal(),
    write: (s) => Deno.stderr.writeSync(encoder.encode(s)),
  });
}

/**
 * A text bar of `width` cells for `fraction` (0–1).
 *
 * @example
 * ```ts
 * import { bar } from "./progress.ts";
 * if (bar(0.5, 4) !== "[##--]") throw new Error(bar(0.5, 4));
 * ```
 */
export function bar(fraction: number, width = 20): string {
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${"#".repeat(done)}${"-".repeat(width - done)}]`;
}

/** Creates a progress reporter. */
export function createProgress(o: ProgressOptions): Progress {
  let timer: ReturnType<typeof setInterval> | undefined;
  let shown = false;
  const clear = () => {
    if (shown && o.inPlace) o.write("\r\x1b[K");
    shown = false;
  };
  function stop(): void {
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    clear();
  }
  return {
    phase(text) {
      stop();
      if (o.enabled) o.write(`${o.name}: ${text}\n`);
    },
    countdown(label, totalS, detail) {
      stop();
      if (!o.enabled) return;
      const begin = performance.now();
      const tick = () => {
        const elapsed = Math.min(totalS, (performance.now() - begin) / 1000);
        const extra = detail ? ` ${detail()}` : "";
        const line = `${o.name}: ${label} ${bar(elapsed / totalS)} ${elapsed.toFixed(0)}/${totalS} s${extra}`;
        if (o.inPlace) {
          o.write(`\r\x1b[K${line}`);
          shown = true;
        } else o.write(`${line}\n`);
      };
      timer = setInterval(tick, PROGRESS_INTERVAL_MS);
    },
    interrupt: clear,
    stop,
  };
}
