/**
 * The room's message clock: the timestamps stamped on messages never go
 * backwards, whatever the wall clock does (an NTP step, a wrong clock fixed
 * by hand). Each stamp is the later of the wall clock and the last stamp
 * given or observed, so the order of timestamps is the order of acceptance;
 * the daily message files (named by the UTC date of each message), the file
 * order and the replay ring then all agree, and loading the log after a
 * restart returns the latest accepted messages.
 *
 * The clock is seeded with the newest loaded message at start, and observes
 * every message applied from the bus (other nodes' stamps, in Redis mode).
 * A forward step holds stamps at the furthest time seen until the wall clock
 * passes it.
 *
 * Builds on it: anything that needs strictly increasing stamps (e.g. a
 * dialect with nanosecond ids) can add a counter within one `last` value.
 *
 * @module
 */

/** A non-decreasing timestamp source; see the module doc. */
export interface MessageClock {
  /** The next stamp: the wall clock, or the last stamp if that is later. Never earlier than any previous stamp. */
  stamp(): Date;
  /** Takes a stamp accepted elsewhere (loaded history, another node) into account; unparsable values are ignored. */
  observe(ts: string | number | Date): void;
  /** The latest stamp given or observed, in milliseconds since the epoch (`-Infinity` before any). */
  readonly last: number;
}

/**
 * Creates a message clock over the wall clock `now`.
 *
 * @example
 * ```ts
 * import { createMessageClock } from "./message_clock.ts";
 * let wall = Date.parse("2026-11-22T10:00:00Z");
 * const clock = createMessageClock(() => new Date(wall));
 * const first = clock.stamp();
 * wall -= 3_600_000; // the wall clock steps back an hour
 * if (clock.stamp().getTime() !== first.getTime()) throw new Error("went backwards");
 * ```
 */
export function createMessageClock(now: () => Date = () => new Date()): MessageClock {
  let last = -Infinity;
  return {
    stamp() {
      const wall = now().getTime();
      if (wall > last) last = wall;
      return new Date(last);
    },
    observe(ts) {
      const t = ts instanceof Date ? ts.getTime() : typeof ts === "number" ? ts : Date.parse(ts);
      if (Number.isFinite(t) && t > last) last = t;
    },
    get last() {
      return last;
    },
  };
}
