/**
 * `WHO <pattern>` matching: `*` matches any run of characters (also none);
 * every other character matches itself, case-insensitively.
 *
 * @module
 */

/**
 * Builds a predicate for a `WHO` pattern.
 *
 * @example
 * ```ts
 * import { nickMatcher } from "./pattern.ts";
 * const m = nickMatcher("al*");
 * if (!m("Alice") || m("bob")) throw new Error("wrong match");
 * ```
 */
export function nickMatcher(pattern: string): (nick: string) => boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  const re = new RegExp(`^${source}$`, "isu");
  return (nick) => re.test(nick);
}
