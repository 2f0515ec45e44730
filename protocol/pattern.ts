/**
 * `WHO <pattern>` matching: `*` matches any run of characters (also none);
 * every other character matches itself, case-insensitively (the folding of
 * {@linkcode foldCase}, code point by code point).
 *
 * The matcher uses no regular expression and never backtracks: the pattern
 * is split on `*`, the first and last literal segments are anchored as
 * prefix and suffix, and each middle segment is found leftmost after the
 * previous one. Matching one nickname costs at most O(n·m) for a nickname of
 * n and a pattern of m code points, whatever the pattern.
 *
 * @module
 */
import { ProtocolError } from "./errors.ts";
import { MAX_WHO_PATTERN } from "./limits.ts";
import { foldCase } from "./nick.ts";
import { exceedsCodePoints } from "./text.ts";

/**
 * Refuses a pattern longer than {@linkcode MAX_WHO_PATTERN} code points.
 *
 * @throws {ProtocolError} `pattern_too_long`.
 */
export function checkWhoPattern(pattern: string): void {
  if (exceedsCodePoints(pattern, MAX_WHO_PATTERN)) throw new ProtocolError("pattern_too_long");
}

/**
 * Builds a predicate for a `WHO` pattern. The whole nickname must match.
 *
 * @example
 * ```ts
 * import { nickMatcher } from "./pattern.ts";
 * const m = nickMatcher("al*");
 * if (!m("Alice") || m("bob")) throw new Error("wrong match");
 * if (!nickMatcher("*".repeat(100) + "a")("bbba")) throw new Error("stars");
 * ```
 */
export function nickMatcher(pattern: string): (nick: string) => boolean {
  // Well-formed UTF-16 (a lone surrogate becomes U+FFFD): then a match found by
  // indexOf always starts and ends on code point boundaries.
  const fold = (s: string) => foldCase(s).toWellFormed();
  const segments = fold(pattern.normalize("NFC")).split("*");
  if (segments.length === 1) {
    const exact = segments[0];
    return (nick) => fold(nick) === exact;
  }
  const head = segments[0];
  const tail = segments[segments.length - 1];
  const middle = segments.slice(1, -1).filter((s) => s.length > 0);
  const minLength = segments.reduce((n, s) => n + s.length, 0);
  return (nick) => {
    const hay = fold(nick);
    if (hay.length < minLength || !hay.startsWith(head) || !hay.endsWith(tail)) return false;
    let at = head.length;
    const end = hay.length - tail.length;
    for (const segment of middle) {
      const found = hay.indexOf(segment, at);
      if (found < 0 || found + segment.length > end) return false;
      at = found + segment.length;
    }
    return true;
  };
}
