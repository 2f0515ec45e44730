/**
 * The real terminal: raw-mode stdin decoded into keys, synchronous writes to
 * stdout, the window width, and restoring the terminal at the end.
 *
 * @module
 */
import { createKeyDecoder, type Key } from "./keys.ts";

/** The terminal the interactive client runs in. */
export interface Terminal {
  /** The next batch of keys, or undefined when input ended or `close` was called. */
  keys(): Promise<Key[] | undefined>;
  write(s: string): void;
  columns(): number;
  /** Calls `fn` when the window is resized; returns a function that stops it. */
  onResize(fn: () => void): () => void;
  /** Leaves raw mode and stops reading. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/** Writes all of `s` to a synchronous writer (the terminal may take it in parts). */
export function writeAllSync(w: { writeSync(p: Uint8Array): number }, s: string): void {
  let bytes = encoder.encode(s);
  while (bytes.length > 0) bytes = bytes.subarray(w.writeSync(bytes));
}

/** Opens the process terminal in raw mode. */
export function openTerminal(): Terminal {
  Deno.stdin.setRaw(true);
  const reader = Deno.stdin.readable.getReader();
  const decoder = new TextDecoder();
  const keyDecoder = createKeyDecoder();
  let closed = false;
  return {
    async keys() {
      for (;;) {
        if (closed) return undefined;
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done || !value) return undefined;
        const keys = keyDecoder.feed(decoder.decode(value, { stream: true }));
        if (keys.length) return keys;
      }
    },
    write: (s) => writeAllSync(Deno.stdout, s),
    columns() {
      try {
        return Deno.consoleSize().columns || 80;
      } catch {
        return 80;
      }
    },
    onResize(fn) {
      try {
        Deno.addSignalListener("SIGWINCH", fn);
      } catch {
        return () => {};
      }
      return () => Deno.removeSignalListener("SIGWINCH", fn);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        Deno.stdin.setRaw(false);
      } catch {
        // stdin already gone
      }
      await reader.cancel().catch(() => {});
    },
  };
}
