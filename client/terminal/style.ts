/**
 * Terminal styling: SGR colours (or none), a stable colour per nickname, and
 * display widths of text.
 *
 * @module
 */
import { nickKey } from "../../protocol/mod.ts";

/** Text styling functions; all identity when colours are off. */
export interface Style {
  readonly color: boolean;
  dim(s: string): string;
  bold(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  magenta(s: string): string;
  /** The nickname in its stable colour. */
  nick(nick: string): string;
}

/** Readable foreground colours (SGR codes) for nicknames. */
export const NICK_PALETTE: readonly number[] = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96];

/** FNV-1a over the case-folded nickname: the same nick gets the same colour everywhere. */
export function nickColor(nick: string): number {
  let h = 0x811c9dc5;
  for (const ch of nickKey(nick)) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return NICK_PALETTE[h % NICK_PALETTE.length];
}

const sgr = (code: string) => (s: string) => `\x1b[${code}m${s}\x1b[0m`;

/**
 * A style with or without colours.
 *
 * @example
 * ```ts
 * import { createStyle } from "./style.ts";
 * if (createStyle(false).nick("bob") !== "bob") throw new Error();
 * if (!createStyle(true).dim("x").startsWith("\x1b[2m")) throw new Error();
 * ```
 */
export function createStyle(color: boolean): Style {
  if (!color) {
    const id = (s: string) => s;
    return { color, dim: id, bold: id, red: id, yellow: id, magenta: id, nick: id };
  }
  return {
    color,
    dim: sgr("2"),
    bold: sgr("1"),
    red: sgr("31"),
    yellow: sgr("33"),
    magenta: sgr("35"),
    nick: (n) => sgr(String(nickColor(n)))(n),
  };
}

/** Whether colours are wanted: not with --no-color, NO_COLOR set, TERM=dumb, or output not a terminal. */
export function wantColor(noColorFlag: boolean, env: (name: string) => string | undefined, isTty: boolean): boolean {
  if (noColorFlag || !isTty) return false;
  if ((env("NO_COLOR") ?? "") !== "") return false;
  return env("TERM") !== "dumb";
}

// Zero-width: combining marks, zero-width space/joiners, variation selectors.
const ZERO_WIDTH = /^[\p{Mn}\p{Me}\u200b-\u200d\u2060\ufe00-\ufe0f]$/u;
// Wide: East Asian wide/fullwidth ranges and most emoji.
const WIDE =
  /^[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]$/u;

/** Columns one code point takes in a terminal (0, 1 or 2). */
export function charWidth(ch: string): number {
  if (ZERO_WIDTH.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

/** Columns a string (without escape sequences) takes. */
export function textWidth(s: string): number {
  let w = 0;
  for (const ch of s) w += charWidth(ch);
  return w;
}

/** Columns a styled string takes (SGR sequences removed). */
export function visibleWidth(s: string): number {
  // deno-lint-ignore no-control-regex
  return textWidth(s.replace(/\x1b\[[0-9;]*m/g, ""));
}
