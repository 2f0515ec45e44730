/**
 * The online user list of the browser client, kept current from join, leave
 * and rename notices and replaced by each `WHO` reply. Pure: no DOM.
 *
 * @module
 */
import { nickKey } from "../../protocol/mod.ts";

/** The set of online nicks, compared case-insensitively like the server does. */
export interface Roster {
  /** Replaces the whole list (a `WHO` reply). */
  reset(nicks: readonly string[]): void;
  join(nick: string): void;
  leave(nick: string): void;
  rename(from: string, to: string): void;
  has(nick: string): boolean;
  /** The nicks, sorted case-insensitively. */
  list(): string[];
  readonly size: number;
}

/**
 * Creates an empty roster.
 *
 * @example
 * ```ts
 * import { createRoster } from "./roster.ts";
 * const r = createRoster();
 * r.reset(["bob", "alice"]);
 * r.rename("bob", "Rob");
 * r.leave("ALICE");
 * r.join("nina");
 * r.join("margaret");
 * if (r.list().join() !== "margaret,nina,Rob") throw new Error(r.list().join());
 * ```
 */
export function createRoster(): Roster {
  const nicks = new Map<string, string>();
  return {
    reset(list) {
      nicks.clear();
      for (const n of list) nicks.set(nickKey(n), n);
    },
    join: (nick) => void nicks.set(nickKey(nick), nick),
    leave: (nick) => void nicks.delete(nickKey(nick)),
    rename(from, to) {
      nicks.delete(nickKey(from));
      nicks.set(nickKey(to), to);
    },
    has: (nick) => nicks.has(nickKey(nick)),
    // Sorted as written (lower case), not by the look-alike key: "margaret" is an m even though its key starts "rn".
    list: () =>
      [...nicks.values()].sort((a, b) =>
        a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0
      ),
    get size() {
      return nicks.size;
    },
  };
}
