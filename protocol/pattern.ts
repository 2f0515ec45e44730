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

/** Leftmost index ≥ `from` where `needle` occurs in `hay`, or -1 (code point arrays). */
function indexOfSegment(hay: readonly string[], needle: readonly string[], from: number): number {
  const last = hay.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function startsAt(hay: readonly string[], needle: readonly string[], at: number): boolean {
  if (at < 0 || at + needle.length > hay.length) return false;
  for (let j = 0; j < needle.length; j++) if (hay[at + j] !== needle[j]) return false;
  return true;
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
  const segments = foldCase(pattern.normalize("NFC")).split("*").map((s) => Array.from(s));
  if (segments.length === 1) {
    const exact = segments[0].join("");
    return (nick) => foldCase(nick) === exact;
  }
  const head = segments[0];
  const tail = segments[segments.length - 1];
  const middle = segments.slice(1, -1).filter((s) => s.length > 0);
  const minLength = segments.reduce((n, s) => n + s.length, 0);
  return (nick) => {
    const hay = Array.from(foldCase(nick));
    if (hay.length < minLength) return false;
    if (!startsAt(hay, head, 0) || !startsAt(hay, tail, hay.length - tail.length)) return false;
    let at = head.length;
    const end = hay.length - tail.length;
    for (const segment of middle) {
      const found = indexOfSegment(hay, segment, at);
      if (found < 0 || found + segment.length > end) return false;
      at = found + segment.length;
    }
    return true;
  };
}
