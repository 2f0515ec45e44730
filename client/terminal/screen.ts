/**
 * The interactive screen: chat lines scroll above a small area at the
 * bottom (a transient typing line, a status line while disconnected, and
 * the input line). Printing a chat line erases the area, writes the line,
 * and redraws the area, so what the user is typing is never garbled. The
 * input line scrolls horizontally instead of wrapping, so the area's height
 * is always known. Chat lines are wrapped here, not by the terminal, with a
 * hanging indent under their text column; the screen keeps the most recent
 * ones, so a resize or Ctrl-L clears the terminal and draws the chat again
 * at the new width (nothing stale, the input laid out at once).
 *
 * @module
 */
import { neutralize } from "../../protocol/mod.ts";
import type { LineEditor } from "./editor.ts";
import { charWidth, type Style, visibleWidth } from "./style.ts";

/** The part of the input that fits, and where the cursor is. */
export interface InputWindow {
  /** Index of the first shown code point. */
  start: number;
  /** The shown text (display-safe). */
  text: string;
  /** Cursor column relative to the start of the shown text. */
  cursorCol: number;
}

/**
 * Picks the visible slice of the input so that the cursor stays in view,
 * scrolling as little as possible from the previous `start`.
 *
 * @example
 * ```ts
 * import { inputWindow } from "./screen.ts";
 * const w = inputWindow([..."abcdefghij"], 10, 0, 5);
 * if (w.text !== "ghij" || w.cursorCol !== 4) throw new Error(JSON.stringify(w));
 * ```
 */
export function inputWindow(chars: readonly string[], cursor: number, start: number, width: number): InputWindow {
  const shown = chars.map((c) => neutralize(c));
  const widths = shown.map(charWidth);
  const room = Math.max(1, width);
  let s = Math.min(start, cursor);
  const span = (a: number, b: number) => widths.slice(a, b).reduce((x, y) => x + y, 0);
  // The cursor needs one column of its own at the end of the window.
  while (s < cursor && span(s, cursor) + 1 > room) s++;
  // Scroll back right when there is room again (a wider window, a deleted tail): show as much as fits.
  while (s > 0 && span(s - 1, shown.length) + 1 <= room) s--;
  let text = "";
  let used = 0;
  for (let i = s; i < shown.length; i++) {
    if (used + widths[i] > room) break;
    text += shown[i];
    used += widths[i];
  }
  return { start: s, text, cursorCol: span(s, cursor) };
}

/** How many chat lines the screen keeps to draw again (resize, Ctrl-L). */
export const SCREEN_HISTORY_LINES = 1000;

// deno-lint-ignore no-control-regex
const SGR = /\x1b\[[0-9;]*m/y;

/**
 * Splits a styled line into terminal rows of at most `cols` columns; rows
 * after the first start with `indent` spaces (a hanging indent, dropped when
 * it would leave less than half the width). Styling open at a break is
 * closed at the row's end and reopened after the indent.
 *
 * @example
 * ```ts
 * import { wrapLine } from "./screen.ts";
 * const rows = wrapLine("bob: one two three", 10, 5);
 * if (rows.join("|") !== "bob: one t|     wo th|     ree") throw new Error(rows.join("|"));
 * ```
 */
export function wrapLine(line: string, cols: number, indent = 0): string[] {
  const width = Math.max(2, cols);
  const hang = indent > 0 && indent <= width / 2 ? indent : 0;
  const rows: string[] = [];
  let row = "";
  let used = 0;
  let open: string[] = []; // SGR sequences in effect
  for (let i = 0; i < line.length;) {
    SGR.lastIndex = i;
    const m = SGR.exec(line);
    if (m) {
      row += m[0];
      open = m[0] === "\x1b[0m" || m[0] === "\x1b[m" ? [] : [...open, m[0]];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    const cw = charWidth(ch);
    if (used + cw > width && used > hang) {
      rows.push(open.length ? `${row}\x1b[0m` : row);
      row = " ".repeat(hang) + open.join("");
      used = hang;
    }
    row += ch;
    used += cw;
    i += ch.length;
  }
  rows.push(row);
  return rows;
}

/** The screen controller. */
export interface Screen {
  /**
   * Prints a finished line above the input area (queued, drawn in one
   * write); rows it wraps onto start at column `indent`.
   */
  print(line: string, indent?: number): void;
  /** Shows or clears the status line (plain text; styled here). */
  setStatus(text: string | undefined): void;
  /** Shows or clears the transient typing line. */
  setTyping(text: string | undefined): void;
  /** Changes the prompt in front of the input. */
  setPrompt(prompt: string): void;
  /** Redraws the input area now (after an edit). */
  refresh(): void;
  /** Writes everything queued now. */
  flush(): void;
  /** Clears the terminal and draws the kept chat lines and the input area again, at the current size. */
  redraw(): void;
  /** Erases the input area for good (before exit), leaving the cursor at a line start. */
  finish(): void;
}

/** What the screen draws on. */
export interface ScreenOptions {
  write: (s: string) => void;
  columns: () => number;
  editor: LineEditor;
  style: Style;
  prompt?: string;
}

/** Cuts plain text to `cols` columns. */
function fit(text: string, cols: number): string {
  let out = "";
  let w = 0;
  for (const ch of neutralize(text)) {
    const cw = charWidth(ch);
    if (w + cw > cols) return `${out.slice(0, -1)}…`;
    out += ch;
    w += cw;
  }
  return out;
}

/** Creates a screen that owns the bottom of the terminal. */
export function createScreen(o: ScreenOptions): Screen {
  let prompt = o.prompt ?? "> ";
  let status: string | undefined;
  let typing: string | undefined;
  let rowsAbove = 0; // extra rows drawn above the input row
  let start = 0;
  let queued: { line: string; indent: number }[] = [];
  /** Chat lines already printed or queued, newest last (bounded). */
  const kept: { line: string; indent: number }[] = [];
  let scheduled = false;
  let finished = false;

  function erase(): string {
    return `\r${rowsAbove > 0 ? `\x1b[${rowsAbove}A` : ""}\x1b[J`;
  }

  const columns = () => Math.max(10, o.columns());
  const rowsOf = (l: { line: string; indent: number }) => wrapLine(l.line, columns() - 1, l.indent);

  function draw(): string {
    const cols = columns();
    let out = "";
    rowsAbove = 0;
    if (typing) {
      out += `${o.style.dim(fit(typing, cols - 1))}\r\n`;
      rowsAbove++;
    }
    if (status) {
      out += `${o.style.yellow(fit(status, cols - 1))}\r\n`;
      rowsAbove++;
    }
    const promptWidth = visibleWidth(prompt);
    const win = inputWindow(o.editor.chars, o.editor.cursor, start, cols - promptWidth - 1);
    start = win.start;
    out += `${prompt}${win.text}\r`;
    const col = promptWidth + win.cursorCol;
    if (col > 0) out += `\x1b[${col}C`;
    return out;
  }

  function flush(): void {
    scheduled = false;
    if (finished) return;
    const lines = queued;
    queued = [];
    o.write(erase() + lines.flatMap(rowsOf).map((r) => `${r}\x1b[0m\r\n`).join("") + draw());
  }

  function redraw(): void {
    if (finished) return;
    queued = []; // kept already holds them
    // Clear the screen and the scrollback (which the terminal may have re-wrapped on a resize), then
    // write the kept chat at the current width: the scrollback holds it once, nothing stale.
    const rows = kept.flatMap(rowsOf);
    o.write(`\x1b[H\x1b[2J\x1b[3J${rows.map((r) => `${r}\x1b[0m\r\n`).join("")}${draw()}`);
  }

  return {
    print(line, indent = 0) {
      if (finished) {
        o.write(`${line}\r\n`);
        return;
      }
      const entry = { line, indent };
      queued.push(entry);
      kept.push(entry);
      if (kept.length > SCREEN_HISTORY_LINES) kept.splice(0, kept.length - SCREEN_HISTORY_LINES);
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    },
    setStatus(text) {
      if (text === status) return;
      status = text;
      flush();
    },
    setTyping(text) {
      if (text === typing) return;
      typing = text;
      flush();
    },
    setPrompt(p) {
      prompt = p;
      flush();
    },
    refresh: flush,
    flush,
    redraw,
    finish() {
      if (finished) return;
      flush();
      finished = true;
      o.write(erase());
    },
  };
}
