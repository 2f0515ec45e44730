/**
 * The input line editor: a buffer with a cursor, editing keys and a bounded
 * input history. Pure state; the screen draws it.
 *
 * @module
 */
import type { Key } from "./keys.ts";

/** Most input lines kept in the history. */
export const MAX_INPUT_HISTORY = 500;

/** What a key did. */
export interface EditResult {
  /** A line submitted with Enter. */
  submitted?: string;
  /** Ctrl-C, or Ctrl-D on an empty line. */
  quit?: "interrupt" | "eof";
  /** Text was inserted (for the typing notification). */
  inserted?: boolean;
  /** Ctrl-L: redraw the screen. */
  redraw?: boolean;
}

/** A line editor. */
export interface LineEditor {
  /** The buffer, as code points. */
  readonly chars: readonly string[];
  /** Cursor position, 0..chars.length. */
  readonly cursor: number;
  readonly text: string;
  apply(key: Key): EditResult;
  /** Replaces the buffer (cursor at the end). */
  set(text: string): void;
}

const isWordChar = (c: string) => /[\p{L}\p{N}_]/u.test(c);

/**
 * Creates an empty editor with its own history.
 *
 * @example
 * ```ts
 * import { createLineEditor } from "./editor.ts";
 * const e = createLineEditor();
 * e.apply({ type: "text", text: "helo" });
 * e.apply({ type: "left" });
 * e.apply({ type: "text", text: "l" });
 * if (e.apply({ type: "enter" }).submitted !== "hello") throw new Error();
 * ```
 */
export function createLineEditor(maxHistory = MAX_INPUT_HISTORY): LineEditor {
  let chars: string[] = [];
  let cursor = 0;
  const history: string[] = [];
  let index = 0; // history.length means "the draft"
  let draft: string[] = [];

  function load(line: string[]): void {
    chars = [...line];
    cursor = chars.length;
  }

  function wordLeft(): number {
    let i = cursor;
    while (i > 0 && !isWordChar(chars[i - 1])) i--;
    while (i > 0 && isWordChar(chars[i - 1])) i--;
    return i;
  }

  function wordRight(): number {
    let i = cursor;
    while (i < chars.length && !isWordChar(chars[i])) i++;
    while (i < chars.length && isWordChar(chars[i])) i++;
    return i;
  }

  const editor: LineEditor = {
    get chars() {
      return chars;
    },
    get cursor() {
      return cursor;
    },
    get text() {
      return chars.join("");
    },
    set(text) {
      load([...text]);
    },
    apply(key) {
      switch (key.type) {
        case "text": {
          const add = [...key.text];
          chars.splice(cursor, 0, ...add);
          cursor += add.length;
          return { inserted: true };
        }
        case "tab":
          chars.splice(cursor, 0, " ");
          cursor++;
          return { inserted: true };
        case "enter": {
          const line = chars.join("");
          if (line.trim() !== "" && history.at(-1) !== line) {
            history.push(line);
            if (history.length > maxHistory) history.shift();
          }
          index = history.length;
          draft = [];
          load([]);
          return { submitted: line };
        }
        case "backspace":
          if (cursor > 0) chars.splice(--cursor, 1);
          return {};
        case "delete":
          if (cursor < chars.length) chars.splice(cursor, 1);
          return {};
        case "eof":
          if (chars.length === 0) return { quit: "eof" };
          if (cursor < chars.length) chars.splice(cursor, 1);
          return {};
        case "interrupt":
          return { quit: "interrupt" };
        case "left":
          cursor = Math.max(0, cursor - 1);
          return {};
        case "right":
          cursor = Math.min(chars.length, cursor + 1);
          return {};
        case "home":
          cursor = 0;
          return {};
        case "end":
          cursor = chars.length;
          return {};
        case "word-left":
          cursor = wordLeft();
          return {};
        case "word-right":
          cursor = wordRight();
          return {};
        case "kill-end":
          chars.splice(cursor);
          return {};
        case "kill-start":
          chars.splice(0, cursor);
          cursor = 0;
          return {};
        case "kill-word": {
          const from = wordLeft();
          chars.splice(from, cursor - from);
          cursor = from;
          return {};
        }
        case "up":
          if (index > 0) {
            if (index === history.length) draft = chars;
            index--;
            load([...history[index]]);
          }
          return {};
        case "down":
          if (index < history.length) {
            index++;
            load(index === history.length ? draft : [...history[index]]);
          }
          return {};
        case "redraw":
          return { redraw: true };
      }
    },
  };
  return editor;
}
