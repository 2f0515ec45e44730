/**
 * A chunked line splitter for byte streams (the plain-TCP transport): feed
 * it whatever each read returns, get back whole lines. Lines end in `\n`; a
 * `\r` right before it is dropped. Buffering is bounded: a line that grows
 * beyond `maxBytes` without a newline is reported once and the splitter
 * stops. Each line is decoded as strict UTF-8 on its own, so one bad line
 * does not spoil the next. Pure: no I/O, no timers.
 *
 * @module
 */
import { HARD_FRAME_CAP } from "../../protocol/mod.ts";

/** What {@linkcode LineSplitter.push} yields, in stream order. */
export type SplitItem =
  /** One line, terminator removed. */
  | { type: "line"; line: string }
  /** A line that is not valid UTF-8 (dropped; the following lines go on). */
  | { type: "invalid_utf8" }
  /** A line beyond the byte bound; the splitter yields nothing more. */
  | { type: "too_long" };

/** Splits a byte stream into lines; see the module doc. */
export interface LineSplitter {
  /** Feeds one chunk; returns the items it completed. */
  push(chunk: Uint8Array): SplitItem[];
  /** Bytes held for an unfinished line. */
  readonly buffered: number;
  /** True once a line went over the bound. */
  readonly failed: boolean;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Creates a splitter; `maxBytes` bounds one line's content (terminator not
 * counted), {@linkcode HARD_FRAME_CAP} by default.
 *
 * @example
 * ```ts
 * import { createLineSplitter } from "./line_splitter.ts";
 * const s = createLineSplitter();
 * const enc = new TextEncoder();
 * const first = s.push(enc.encode("NICK al"));
 * const rest = s.push(enc.encode("ice\r\nWHO\n"));
 * if (first.length !== 0) throw new Error("a partial line came out");
 * if (JSON.stringify(rest) !== '[{"type":"line","line":"NICK alice"},{"type":"line","line":"WHO"}]') {
 *   throw new Error(JSON.stringify(rest));
 * }
 * ```
 */
export function createLineSplitter(maxBytes: number = HARD_FRAME_CAP): LineSplitter {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let parts: Uint8Array[] = [];
  let held = 0;
  let failed = false;

  function finish(tail: Uint8Array): SplitItem {
    let bytes: Uint8Array;
    if (parts.length === 0) bytes = tail;
    else {
      bytes = new Uint8Array(held + tail.length);
      let at = 0;
      for (const p of parts) {
        bytes.set(p, at);
        at += p.length;
      }
      bytes.set(tail, at);
    }
    parts = [];
    held = 0;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length;
    if (end > maxBytes) return { type: "too_long" };
    try {
      return { type: "line", line: decoder.decode(bytes.subarray(0, end)) };
    } catch {
      return { type: "invalid_utf8" };
    }
  }

  return {
    push(chunk) {
      const out: SplitItem[] = [];
      if (failed) return out;
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(NEWLINE, start);
        if (nl < 0) break;
        const item = finish(chunk.subarray(start, nl));
        out.push(item);
        start = nl + 1;
        if (item.type === "too_long") {
          failed = true;
          return out;
        }
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        // One byte of slack for the `\r` of a `\r\n` still to come.
        if (held + rest.length > maxBytes + 1) {
          parts = [];
          held = 0;
          failed = true;
          out.push({ type: "too_long" });
          return out;
        }
        parts.push(rest.slice());
        held += rest.length;
      }
      return out;
    },
    get buffered() {
      return held;
    },
    get failed() {
      return failed;
    },
  };
}
