/**
 * Nickname rules: 1–20 code points after trimming and NFC normalisation;
 * no whitespace, control, format (bidi controls, zero-width characters, soft
 * hyphen…), private-use, unassigned or otherwise invisible character; not
 * starting with a combining mark; not a server-reserved name. Unique by
 * {@linkcode nickKey}: case-insensitively and by confusable skeleton, so a
 * look-alike of a present nickname is "in use".
 *
 * @module
 */
import { MAX_NICK_LENGTH } from "./limits.ts";
import { confusableSkeleton } from "./skeleton.ts";
import { codePointLength, isAscii } from "./text.ts";

/**
 * Characters no nickname may hold: whitespace, controls (Cc), format (Cf:
 * bidi controls such as RLO/LRM, zero-width space/joiner, soft hyphen, BOM),
 * surrogates, private use, unassigned code points, line/paragraph separators
 * and every default-ignorable code point (Hangul fillers U+115F/U+1160/
 * U+3164/U+FFA0, variation selectors, CGJ…), plus characters that render as
 * blank without being any of those (U+2800 BRAILLE PATTERN BLANK).
 */
const FORBIDDEN = /[\s\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\u2800]/u;

/** A combining mark at the start would attach to whatever is shown before the nickname. */
const LEADING_MARK = /^\p{M}/u;

/**
 * Names the server speaks as (the wschat `system` sender, the RiftChat
 * `* wirechat` notices, the server's own name). A nickname is refused when,
 * after {@linkcode nickKey} and dropping everything but letters and digits,
 * it equals one of these: `System`, Cyrillic `ѕystem`, `*wirechat`,
 * `wire-chat` are all refused.
 */
export const RESERVED_NICKS: readonly string[] = ["system", "wirechat"];

const NOT_LETTER_OR_DIGIT = /[^\p{L}\p{N}]/gu;

let reservedCores: Set<string> | undefined;

/** True when `nick` is, or looks like, a name the server speaks as. */
export function isReservedNick(nick: string): boolean {
  reservedCores ??= new Set(RESERVED_NICKS.map((n) => nickKey(n).replace(NOT_LETTER_OR_DIGIT, "")));
  return reservedCores.has(nickKey(nick).replace(NOT_LETTER_OR_DIGIT, ""));
}

/**
 * Returns the nickname to use (trimmed, NFC) when `raw` is valid, or `undefined`.
 *
 * @example
 * ```ts
 * import { validateNick } from "./nick.ts";
 * if (validateNick("  alice ") !== "alice") throw new Error("not trimmed");
 * if (validateNick("a b") !== undefined) throw new Error("space accepted");
 * if (validateNick("ali\u200bce") !== undefined) throw new Error("zero-width space accepted");
 * if (validateNick("jose\u0301") !== "jos\u00e9") throw new Error("not NFC");
 * if (validateNick("System") !== undefined) throw new Error("reserved name accepted");
 * ```
 */
export function validateNick(raw: string, maxLength = MAX_NICK_LENGTH): string | undefined {
  const nick = raw.trim().normalize("NFC");
  if (nick.length === 0) return undefined;
  if (codePointLength(nick) > maxLength) return undefined;
  if (FORBIDDEN.test(nick) || LEADING_MARK.test(nick)) return undefined;
  if (isReservedNick(nick)) return undefined;
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

/**
 * The general key; see {@linkcode nickKey}. Exported for tests (the ASCII fast path must equal it).
 *
 * @example
 * ```ts
 * import { nickKeyOf } from "./nick.ts";
 * if (nickKeyOf("aIice") !== nickKeyOf("alice")) throw new Error("capital I must key like l");
 * ```
 */
export function nickKeyOf(nick: string): string {
  // NFKC first: confusables.txt leaves compatibility forms to it (fullwidth `ｒ`, `ｂ`, `０`, superscripts, ligatures).
  // Last, `i` keys as `l`: folding turned a capital `I` (which looks like `l`) into `i`, and one key cannot keep both.
  return foldCase(confusableSkeleton(foldCase(nick.normalize("NFKC")))).replaceAll("i", "l");
}

let asciiKeys: string[] | undefined;

/** Non-ASCII keys kept for the hot paths (PM routing, nick lookups); the cache is cleared when full. */
export const NICK_KEY_CACHE_SIZE = 16_384;
const keyCache = new Map<string, string>();

/**
 * The key under which a nickname is unique: NFKC-normalised (fullwidth and
 * other compatibility forms become plain letters), case-folded, then its
 * Unicode TR39 confusable skeleton, then case-folded again. Look-alikes share a key:
 * `alice`, `ALICE`, Cyrillic `аlice`, fullwidth `ａｌｉｃｅ`; so do `b0b` and
 * `bob`, `rn` and `m`; and `i` keys as `l`, so `aIice` (capital I), `a1ice`
 * and `alice` are one key (names differing only by `i`/`l` are refused as
 * look-alikes, the price of one key per name). ASCII takes a table-driven fast path; other keys
 * are cached (at most {@linkcode NICK_KEY_CACHE_SIZE}).
 *
 * @example
 * ```ts
 * import { nickKey } from "./nick.ts";
 * if (nickKey("Alice") !== nickKey("\u0430lice") || nickKey("Alice") !== nickKey("ａｌｉｃｅ")) throw new Error();
 * ```
 */
export function nickKey(nick: string): string {
  if (isAscii(nick)) return asciiKey(nick);
  let key = keyCache.get(nick);
  if (key === undefined) {
    key = nickKeyOf(nick);
    if (keyCache.size >= NICK_KEY_CACHE_SIZE) keyCache.clear();
    keyCache.set(nick, key);
  }
  return key;
}

/** The key of an ASCII nickname: lower case, unless it holds a character the skeleton maps (`0`, `1`, `m`, `|`…). */
function asciiKey(nick: string): string {
  asciiKeys ??= Array.from({ length: 128 }, (_, c) => nickKeyOf(String.fromCharCode(c)));
  let i = 0;
  for (; i < nick.length; i++) {
    const c = nick.charCodeAt(i);
    if (asciiKeys[c] !== String.fromCharCode(c | (c >= 65 && c <= 90 ? 0x20 : 0))) break;
  }
  if (i === nick.length) return nick.toLowerCase();
  let key = nick.slice(0, i).toLowerCase();
  for (; i < nick.length; i++) key += asciiKeys[nick.charCodeAt(i)];
  return key;
}
