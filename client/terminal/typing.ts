/**
 * When to send `TYPING`: at most once per interval while the user types a
 * message (not a command).
 *
 * @module
 */
import { TYPING_INTERVAL_MS } from "../../protocol/mod.ts";

/** Decides, per keystroke, whether to send `TYPING`. */
export interface TypingThrottle {
  /** True when `TYPING` should be sent for the current input `text`. */
  shouldSend(text: string): boolean;
}

/**
 * Creates a throttle with an injectable clock.
 *
 * @example
 * ```ts
 * import { createTypingThrottle } from "./typing.ts";
 * let t = 0;
 * const th = createTypingThrottle(2000, () => t);
 * if (!th.shouldSend("h") || th.shouldSend("he")) throw new Error();
 * t = 2000;
 * if (!th.shouldSend("hel")) throw new Error();
 * ```
 */
export function createTypingThrottle(intervalMs = TYPING_INTERVAL_MS, now = () => Date.now()): TypingThrottle {
  let last: number | undefined;
  return {
    shouldSend(text) {
      if (text.trim() === "" || text.startsWith("/")) return false;
      const t = now();
      if (last !== undefined && t - last < intervalMs) return false;
      last = t;
      return true;
    },
  };
}
