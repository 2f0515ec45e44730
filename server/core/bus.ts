/**
 * The room's shared state: nickname ownership, the member list across nodes
 * and the one total order of room events. The local bus keeps it in memory
 * and applies events synchronously; a Redis bus implements the same
 * interface with promises, so several nodes share one room.
 *
 * @module
 */
import type { ChatMessage } from "../../protocol/mod.ts";
import { nickKey } from "../../protocol/mod.ts";

/** Where a member is connected: a node id and the peer id on that node. */
export interface MemberRef {
  node: string;
  id: number;
}

/** A ban as it travels between nodes: what it refuses and for how much longer (see `ban_list.ts`). */
export interface BanRecord {
  /** The nickname as the admin named it. */
  nick: string;
  /** The address the member connected from, when known (never an exempt proxy's). */
  address?: string;
  /** The admin's nickname. */
  by: string;
  /** Milliseconds left. */
  remainingMs: number;
}

/** Why an operator removed a member: a kick, or a ban (with the ban). */
export type Removal = { by: string; ban?: BanRecord };

/**
 * An event in the room's total order. The moderation kinds: `kick` asks the
 * node of the member holding `nick` to remove them (with `ban`, the ban is
 * also recorded on every node); that node then announces the member's leave
 * with `removed`, which everyone sees as "was kicked/banned" instead of
 * "left". `unban` lifts a ban on every node.
 */
export type RoomEvent =
  | { kind: "join"; nick: string; member: MemberRef }
  | { kind: "leave"; nick: string; member: MemberRef; removed?: Removal }
  | { kind: "kick"; nick: string; removal: Removal; member: MemberRef }
  | { kind: "unban"; nick: string; member: MemberRef }
  | { kind: "rename"; from: string; to: string; member: MemberRef }
  | { kind: "msg"; message: ChatMessage; member: MemberRef }
  | { kind: "pm"; ts: string; from: string; to: string; text: string; member: MemberRef }
  | { kind: "typing"; nick: string; member: MemberRef };

/** Most values `kept` returns. */
export const MAX_KEPT = 10_000;

/** A value now or later: the local bus answers synchronously. */
export type Maybe<T> = T | Promise<T>;

/** A value kept for nodes that start later, with the milliseconds it has left. */
export interface KeptValue {
  name: string;
  value: string;
  ttlMs: number;
}

/** Shared room state; see the module doc. */
export interface RoomBus {
  /** This node's id, stamped into every {@linkcode MemberRef}. */
  readonly node: string;
  /** Starts delivering ordered events to `apply`; returns the history to seed the ring. */
  start(apply: (event: RoomEvent) => void, historyLimit: number): Maybe<ChatMessage[]>;
  /** Reserves `nick` for `member`; false when someone holds it (case-insensitively). */
  claimNick(nick: string, member: MemberRef): Maybe<boolean>;
  /** Releases `nick` if `member` holds it. */
  releaseNick(nick: string, member: MemberRef): Maybe<void>;
  /** The canonical spelling of a held nick, or undefined. */
  findNick(nick: string): Maybe<string | undefined>;
  /** Every member's nick on every node. */
  nicks(): Maybe<string[]>;
  /** Puts an event into the total order; every node applies it in that order. */
  publish(event: RoomEvent): Maybe<void>;
  /**
   * Keeps `value` under `name` for `ttlMs`, for nodes that start later (state
   * the events built up, such as bans). The local bus has no other node and
   * keeps nothing.
   */
  keep(name: string, value: string, ttlMs: number): Maybe<void>;
  /** Drops what `keep` kept under `name`. */
  forget(name: string): Maybe<void>;
  /** Everything kept that has not expired (bounded by `MAX_KEPT`). */
  kept(): Maybe<KeptValue[]>;
  /** Stops delivery and releases resources. */
  close(): Maybe<void>;
}

/** Runs `fn` on a value now, or once the promise settles. */
export function andThen<T, U>(value: Maybe<T>, fn: (v: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/**
 * The single-process bus: a nick map and synchronous delivery. History comes
 * from `loadHistory` (the message log) once at start.
 */
export function createLocalBus(loadHistory: (limit: number) => ChatMessage[]): RoomBus {
  const owners = new Map<string, { nick: string; member: MemberRef }>();
  let apply: ((event: RoomEvent) => void) | undefined;
  return {
    node: "local",
    start(fn, historyLimit) {
      apply = fn;
      return loadHistory(historyLimit);
    },
    claimNick(nick, member) {
      const key = nickKey(nick);
      const owner = owners.get(key);
      if (owner && !(owner.member.node === member.node && owner.member.id === member.id)) return false;
      owners.set(key, { nick, member });
      return true;
    },
    releaseNick(nick, member) {
      const key = nickKey(nick);
      const owner = owners.get(key);
      if (owner && owner.member.node === member.node && owner.member.id === member.id) owners.delete(key);
    },
    findNick: (nick) => owners.get(nickKey(nick))?.nick,
    nicks: () => [...owners.values()].map((o) => o.nick),
    publish(event) {
      if (!apply) throw new Error("local bus: publish before start");
      apply(event);
    },
    keep() {},
    forget() {},
    kept: () => [],
    close() {
      apply = undefined;
    },
  };
}
