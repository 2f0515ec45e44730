/**
 * Nickname rules: 1–20 code points after trimming, no whitespace or control
 * characters inside, unique case-insensitively.
 *
 * @module
 */
import { MAX_NICK_LENGTH } from "./limits.ts";
import { codePointLength, isAscii } from "./text.ts";

const FORBIDDEN = /[\s\p{Cc}]/u;

/**
 * Returns the trimmed nickname when `raw` is valid, or `undefined`.
 *
 * @example
 * ```ts
 * import { validateNick } from "./nick.ts";
 * if (validateNick("  alice ") !== "alice") throw new Error("not trimmed");
 * if (validateNick("a b") !== undefined) throw new Error("space accepted");
 * ```
 */
export function validateNick(raw: string, maxLength = MAX_NICK_LENGTH): string | undefined {
  const nick = raw.trim();
  if (nick.length === 0) return undefined;
  if (codePointLength(nick) > maxLength) return undefined;
  if (FORBIDDEN.test(nick)) return undefined;
  return nick;
}

/**
 * Case folding for nickname comparison and `WHO` matching, code point by
 * code point and without context: each code point is upper-cased then
 * lower-cased, so `ß` folds like `SS`, final `ς` like `σ`, `ǅ` like `ǆ`.
 * ASCII takes a fast path.
 *
 * @example
 * ```ts
 * import { foldCase } from "./nick.ts";
 * if (foldCase("ΟΔΟΣ") !== foldCase("οδος") || foldCase("Straße") !== "strasse") throw new Error();
 * ```
 */
export function foldCase(s: string): string {
  if (isAscii(s)) return s.toLowerCase();
  let out = "";
  for (const c of s) out += c.toUpperCase().toLowerCase();
  return out;
}

/** The key under which a nickname is unique (case-insensitive comparison). */
export function nickKey(nick: string): string {
  return nick.toLowerCase();
}
