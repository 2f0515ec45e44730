/**
 * Active bans: each refuses a nickname (by its {@linkcode nickKey}, so a
 * look-alike spelling is refused too) and, when known, the address the
 * banned member connected from, until it expires on a monotonic clock (a
 * wall-clock step neither lifts nor lengthens a ban).
 *
 * @module
 */
import { nickKey } from "../../protocol/mod.ts";
import type { BanRecord } from "./bus.ts";

export type { BanRecord };

/** Minutes a `BAN` lasts when the admin gives none (the `--ban-minutes` default). */
export const DEFAULT_BAN_MINUTES = 60;
/** Most bans in force at once; `BAN` beyond it is refused until one expires or is lifted. */
export const MAX_BANS = 1000;

/** The bans in force. */
export interface BanList {
  /** Adds or replaces the ban of `record.nick`; false when the list is full. */
  add(record: BanRecord): boolean;
  /** True when a ban of `nick` would be added (the list is not full, or it renews one). */
  hasRoomFor(nick: string): boolean;
  /** Lifts the ban of `nick` (by key); the lifted ban, or undefined when there was none. */
  remove(nick: string): BanRecord | undefined;
  /** The ban that refuses `nick` or `address`, if any. */
  refusing(nick: string, address?: string): BanRecord | undefined;
  /** Every ban in force, by nickname. */
  list(): BanRecord[];
}

interface Entry {
  nick: string;
  address?: string;
  by: string;
  expiresAt: number;
}

/**
 * Creates a ban list over a monotonic millisecond clock.
 *
 * @example
 * ```ts
 * import { createBanList } from "./ban_list.ts";
 * let t = 0;
 * const bans = createBanList(() => t);
 * bans.add({ nick: "Mallory", address: "10.0.0.9", by: "op", remainingMs: 60_000 });
 * if (!bans.refusing("mallory") || !bans.refusing("eve", "10.0.0.9")) throw new Error("not refused");
 * t = 60_000;
 * if (bans.refusing("mallory")) throw new Error("not expired");
 * ```
 */
export function createBanList(now: () => number = () => performance.now()): BanList {
  const byKey = new Map<string, Entry>();

  const record = (e: Entry, t: number): BanRecord => ({
    nick: e.nick,
    ...(e.address === undefined ? {} : { address: e.address }),
    by: e.by,
    remainingMs: Math.max(0, e.expiresAt - t),
  });

  /** Drops expired bans; bounded by MAX_BANS. */
  function prune(t: number) {
    for (const [key, e] of byKey) if (e.expiresAt <= t) byKey.delete(key);
  }

  return {
    add(r) {
      const t = now();
      prune(t);
      const key = nickKey(r.nick);
      if (!byKey.has(key) && byKey.size >= MAX_BANS) return false;
      const entry: Entry = { nick: r.nick, by: r.by, expiresAt: t + r.remainingMs };
      if (r.address !== undefined) entry.address = r.address;
      byKey.set(key, entry);
      return true;
    },
    hasRoomFor(nick) {
      prune(now());
      return byKey.has(nickKey(nick)) || byKey.size < MAX_BANS;
    },
    remove(nick) {
      const t = now();
      prune(t);
      const key = nickKey(nick);
      const e = byKey.get(key);
      if (!e) return undefined;
      byKey.delete(key);
      return record(e, t);
    },
    refusing(nick, address) {
      const t = now();
      prune(t);
      const e = byKey.get(nickKey(nick));
      if (e) return record(e, t);
      if (address === undefined) return undefined;
      for (const a of byKey.values()) if (a.address === address) return record(a, t);
      return undefined;
    },
    list() {
      const t = now();
      prune(t);
      return [...byKey.values()].map((e) => record(e, t)).sort((a, b) => (a.nick < b.nick ? -1 : 1));
    },
  };
}
