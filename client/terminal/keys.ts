/**
 * Decodes raw-mode terminal input into key presses. Fed in chunks: an escape
 * sequence split across two reads is completed by the next chunk.
 *
 * @module
 */

/** One key press (or a run of printable text). */
export type Key =
  | { type: "text"; text: string }
  | {
    type:
      | "enter"
      | "backspace"
      | "delete"
      | "left"
      | "right"
      | "up"
      | "down"
      | "home"
      | "end"
      | "word-left"
      | "word-right"
      | "kill-end"
      | "kill-start"
      | "kill-word"
      | "interrupt"
      | "eof"
      | "redraw"
      | "tab";
  };

const CONTROL_KEYS: Readonly<Record<string, Key["type"]>> = {
  "\r": "enter",
  "\n": "enter",
  "\x7f": "backspace",
  "\x08": "backspace",
  "\x01": "home",
  "\x05": "end",
  "\x02": "left",
  "\x06": "right",
  "\x10": "up",
  "\x0e": "down",
  "\x0b": "kill-end",
  "\x15": "kill-start",
  "\x17": "kill-word",
  "\x03": "interrupt",
  "\x04": "eof",
  "\x0c": "redraw",
  "\t": "tab",
};

const CSI_KEYS: Readonly<Record<string, Key["type"]>> = {
  A: "up",
  B: "down",
  C: "right",
  D: "left",
  H: "home",
  F: "end",
  "1~": "home",
  "7~": "home",
  "4~": "end",
  "8~": "end",
  "3~": "delete",
  "1;5C": "word-right",
  "1;5D": "word-left",
  "1;3C": "word-right",
  "1;3D": "word-left",
};

/** A stateful decoder: `feed` a chunk of input, get the keys it completes. */
export interface KeyDecoder {
  feed(chunk: string): Key[];
}

/**
 * Creates a key decoder. Unknown escape sequences are swallowed whole, other
 * control characters are dropped; consecutive printable characters come out
 * as one `text` key (a paste arrives as text keys split by `enter`s).
 *
 * @example
 * ```ts
 * import { createKeyDecoder } from "./keys.ts";
 * const d = createKeyDecoder();
 * const keys = d.feed("ab\x1b[").concat(d.feed("Dc\r"));
 * if (JSON.stringify(keys.map((k) => k.type)) !== '["text","left","text","enter"]') throw new Error();
 * ```
 */
export function createKeyDecoder(): KeyDecoder {
  let pending = "";
  return {
    feed(chunk) {
      const s = pending + chunk;
      pending = "";
      const keys: Key[] = [];
      let text = "";
      const flush = () => {
        if (text) keys.push({ type: "text", text });
        text = "";
      };
      let i = 0;
      while (i < s.length) {
        const c = s[i];
        if (c === "\x1b") {
          if (i + 1 >= s.length) {
            pending = s.slice(i);
            break;
          }
          const next = s[i + 1];
          if (next === "[" || next === "O") {
            // CSI / SS3: parameters 0x30–0x3f, intermediates 0x20–0x2f, final 0x40–0x7e.
            let j = i + 2;
            while (j < s.length && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) <= 0x3f) j++;
            if (j >= s.length) {
              pending = s.slice(i);
              break;
            }
            const body = s.slice(i + 2, j + 1);
            const type = CSI_KEYS[body];
            flush();
            if (type) keys.push({ type } as Key);
            i = j + 1;
            continue;
          }
          if (next === "\x7f") {
            flush();
            keys.push({ type: "kill-word" });
            i += 2;
            continue;
          }
          if (next === "b" || next === "f") {
            flush();
            keys.push({ type: next === "b" ? "word-left" : "word-right" });
            i += 2;
            continue;
          }
          // A lone ESC or an Alt+key we do not use: drop the ESC.
          i++;
          continue;
        }
        if (c === "\r" && s[i + 1] === "\n") i++; // CRLF is one enter
        const type = CONTROL_KEYS[c];
        if (type) {
          flush();
          keys.push({ type } as Key);
        } else if (/\p{Cc}/u.test(c)) {
          // other control characters: dropped
        } else text += c;
        i++;
      }
      flush();
      return keys;
    },
  };
}
