/**
 * "… is typing" for the browser client: who is typing (each `TYPING` line
 * lasts a few seconds), the sentence to show, and a throttle so we send
 * `TYPING` at most once per {@linkcode TYPING_INTERVAL_MS}. Pure: the clock
 * is passed in.
 *
 * @module
 */
import { nickKey, TYPING_INTERVAL_MS } from "../../protocol/mod.ts";

/** How long one received `TYPING` keeps a nick in the "is typing" line. */
export const TYPING_SHOWN_MS = TYPING_INTERVAL_MS + 1500;

/** Who is typing, as last told by the server. */
export interface TypingTracker {
  /** A `TYPING <nick>` arrived at `now`. */
  saw(nick: string, now: number): void;
  /** The nick sent a message or left: no longer typing. */
  clear(nick: string): void;
  /** Nicks still typing at `now`, in the order they started. */
  active(now: number): string[];
  /** Milliseconds from `now` until the next entry expires, or undefined when none. */
  nextExpiry(now: number): number | undefined;
}

/** Creates an empty tracker; an entry lasts `shownMs`. */
export function createTypingTracker(shownMs = TYPING_SHOWN_MS): TypingTracker {
  const until = new Map<string, { nick: string; until: number }>();
  function prune(now: number) {
    for (const [k, v] of until) if (v.until <= now) until.delete(k);
  }
  return {
    saw(nick, now) {
      const key = nickKey(nick);
      const had = until.get(key);
      if (had) had.until = now + shownMs;
      else until.set(key, { nick, until: now + shownMs });
    },
    clear: (nick) => void until.delete(nickKey(nick)),
    active(now) {
      prune(now);
      return [...until.values()].map((v) => v.nick);
    },
    nextExpiry(now) {
      prune(now);
      let next: number | undefined;
      for (const v of until.values()) next = next === undefined ? v.until : Math.min(next, v.until);
      return next === undefined ? undefined : next - now;
    },
  };
}

/**
 * The sentence for the typing line ("" when nobody types).
 *
 * @example
 * ```ts
 * import { typingText } from "./typing.ts";
 * if (typingText(["bob"]) !== "bob is typing…") throw new Error();
 * if (typingText(["a", "b"]) !== "a and b are typing…") throw new Error();
 * ```
 */
export function typingText(nicks: readonly string[]): string {
  if (nicks.length === 0) return "";
  if (nicks.length === 1) return `${nicks[0]} is typing…`;
  if (nicks.length === 2) return `${nicks[0]} and ${nicks[1]} are typing…`;
  return `${nicks.length} people are typing…`;
}

/**
 * A throttle: `ready(now)` is true at most once per `intervalMs`, and then
 * the caller sends `TYPING`.
 *
 * @example
 * ```ts
 * import { createTypingThrottle } from "./typing.ts";
 * const t = createTypingThrottle(2000);
 * if (!t.ready(0) || t.ready(1999) || !t.ready(2000)) throw new Error();
 * ```
 */
export function createTypingThrottle(intervalMs = TYPING_INTERVAL_MS): { ready(now: number): boolean; reset(): void } {
  let last = -Infinity;
  return {
    ready(now) {
      if (now - last < intervalMs) return false;
      last = now;
      return true;
    },
    reset() {
      last = -Infinity;
    },
  };
}
