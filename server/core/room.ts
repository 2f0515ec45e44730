/**
 * The room actor: owns the local members, the replay ring and delivery.
 * Every change to chat state happens synchronously inside `apply`, in the
 * bus's total order, so a joiner's replay block is atomic with its join: no
 * gap, no duplicate, nothing interleaved.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  type ChatMessage,
  CloseCode,
  DEFAULT_REPLAY,
  messageEvent,
  neutralize,
  nickKey,
  nickMatcher,
  ProtocolError,
  type ServerEvent,
  TYPING_INTERVAL_MS,
} from "../../protocol/mod.ts";
import { andThen, type Maybe, type MemberRef, type Removal, type RoomBus, type RoomEvent } from "./bus.ts";
import { type BanList, type BanRecord, createBanList } from "./ban_list.ts";
import { createHistoryRing } from "./history.ts";
import { createMessageClock, type MessageClock } from "./message_clock.ts";
import type { Peer } from "./peer.ts";

const log = getLogger(["wirechat", "room"]);

/** Runs a bus write nobody waits for; a failure is logged, never an unhandled rejection. */
function background(value: Maybe<unknown>, what: string) {
  if (value instanceof Promise) {
    value.catch((err) => log.warn("Room {what} failed: {error}", { what, error: String(err) }));
  }
}

/** Names of kept ban records: `ban:` and the nick's key. */
const BAN_PREFIX = "ban:";
const banName = (nick: string) => `${BAN_PREFIX}${nickKey(nick)}`;

/** What the others see when an operator removed a member. */
function removedText(nick: string, removal: Removal): string {
  return `${nick} was ${removal.ban ? "banned" : "kicked"} by an admin`;
}

/** A bus failure as the refusal a client sees. */
function asRefusal(err: unknown): ProtocolError {
  return err instanceof ProtocolError ? err : new ProtocolError("unavailable");
}

/** A joined member connected to this node. */
interface Member {
  nick: string;
  readonly peer: Peer;
  lastTypingAt: number;
}

/** Options for {@linkcode createRoom}. */
export interface RoomOptions {
  /** Shared state and event order (the local bus, or Redis). */
  bus: RoomBus;
  /** Messages replayed on join and the most `HISTORY` returns. */
  replayLimit?: number;
  /** The wall clock for message timestamps; injected in tests. */
  now?: () => Date;
  /**
   * The message clock that stamps `MSG` and `PM` (default: a new one over
   * `now`); pass one to share it, e.g. with a dialect that derives ids from stamps.
   */
  clock?: MessageClock;
  /** Monotonic millisecond clock for intervals (the typing throttle; default `performance.now`); injected in tests. */
  elapsed?: () => number;
  /** Minimum gap between relayed `TYPING` notices of one member. */
  typingIntervalMs?: number;
  /** Called for each public message as it enters the order (the message log). */
  onMessage?: (message: ChatMessage, ownMember: boolean) => void;
  /** The bans in force on this node, kept in step by the room's events (default: a list of its own). */
  bans?: BanList;
  /** The address a ban of this member refuses; undefined when none should be (a shared proxy's). */
  banAddress?: (peer: Peer) => string | undefined;
}

/** A command's refusal (sent to the client as `ERR`), or nothing on success. */
export type Outcome = Maybe<ProtocolError | undefined>;

/** The room's operations; `peer` identifies the member. */
export interface Room {
  /** Loads history and starts applying events. */
  start(): Maybe<void>;
  /** Joins `peer` as `nick`; the joiner gets the replay unless `replay: false`. */
  join(peer: Peer, nick: string, options?: { replay?: boolean }): Outcome;
  rename(peer: Peer, nick: string): Outcome;
  say(peer: Peer, text: string): Outcome;
  /** Shares an image (an `IMG` line, stored and replayed like a message). */
  image(peer: Peer, url: string): Outcome;
  pm(peer: Peer, to: string, text: string): Outcome;
  typing(peer: Peer): void;
  who(peer: Peer, pattern?: string): Maybe<void>;
  history(peer: Peer, count?: number): void;
  /** Removes a member; the others hear of it exactly once. Idempotent. */
  leave(peer: Peer): void;
  /** Stops local delivery of leave notices (the server is going down). */
  shutdown(): void;
  /**
   * An operator removes the member holding `nick`, wherever they are
   * connected: a kick, or with `removal.ban` a ban, recorded on every node
   * (also when nobody holds the nick). `ERR User not found` for a kick of a
   * nick nobody holds.
   */
  remove(peer: Peer, nick: string, removal: Removal): Outcome;
  /** An operator lifts the ban of `nick` on every node. */
  unban(peer: Peer, nick: string): Outcome;
  /** Nick of the member behind `peer`, if joined here. */
  nickOf(peer: Peer): string | undefined;
  /** Number of members joined on this node. */
  readonly size: number;
  /** Number of members in the room, on every node. */
  users(): Maybe<number>;
  /** Public messages (text and images) the room has delivered since this server started. */
  readonly messages: number;
}

/** Creates the room actor. */
export function createRoom(options: RoomOptions): Room {
  const { bus } = options;
  const replayLimit = options.replayLimit ?? DEFAULT_REPLAY;
  // Message timestamps never go backwards: the order of stamps is the order of acceptance.
  const clock = options.clock ?? createMessageClock(options.now);
  const elapsed = options.elapsed ?? (() => performance.now());
  const typingInterval = options.typingIntervalMs ?? TYPING_INTERVAL_MS;
  const members = new Map<number, Member>();
  /** Joins in flight on this node: the peer and whether it wants the replay. */
  const pending = new Map<number, { peer: Peer; replay: boolean }>();
  let ring = createHistoryRing(replayLimit);
  let closing = false;
  const bans = options.bans ?? createBanList();
  let messageCount = 0;

  const ref = (peer: Peer): MemberRef => ({ node: bus.node, id: peer.id });
  const isLocal = (m: MemberRef) => m.node === bus.node;

  function deliver(event: ServerEvent, except?: number) {
    // values(), not entries(): no [key, value] pair per recipient on the fan-out path.
    for (const member of members.values()) {
      if (member.peer.id !== except) member.peer.send(event);
    }
  }

  function sendReplay(peer: Peer, messages: ChatMessage[]) {
    peer.send({ type: "replay_start", count: messages.length });
    for (const m of messages) peer.send(messageEvent(m));
    peer.send({ type: "replay_end" });
  }

  function apply(ev: RoomEvent) {
    switch (ev.kind) {
      case "join": {
        const joining = isLocal(ev.member) ? pending.get(ev.member.id) : undefined;
        const peer = joining?.peer;
        if (peer) {
          pending.delete(peer.id);
          members.set(peer.id, { nick: ev.nick, peer, lastTypingAt: -Infinity });
        }
        deliver({ type: "join", nick: ev.nick });
        if (peer && joining.replay && ring.size > 0) sendReplay(peer, ring.tail());
        if (!peer && isLocal(ev.member) && !members.has(ev.member.id)) {
          // Its connection closed (or its join gave up) before the join came back from a
          // shared bus: announce the leave so no ghost stays behind.
          background(
            andThen(
              bus.publish({ kind: "leave", nick: ev.nick, member: ev.member }),
              () => bus.releaseNick(ev.nick, ev.member),
            ),
            "leave of a member gone before its join",
          );
        }
        return;
      }
      case "leave": {
        const gone = isLocal(ev.member) ? members.get(ev.member.id) : undefined;
        if (gone) {
          // Another node declared this one dead and announced our member's leave: drop it.
          members.delete(ev.member.id);
          gone.peer.send({ type: "notice", text: "You were removed from the room (this server lost contact with it)" });
          gone.peer.close(CloseCode.TRY_AGAIN, "Removed from the room, reconnect");
        }
        if (ev.removed?.ban) bans.add(ev.removed.ban); // now with the address the member's node knew
        if (closing) return;
        if (ev.removed) deliver({ type: "notice", text: removedText(ev.nick, ev.removed) });
        else deliver({ type: "leave", nick: ev.nick });
        return;
      }
      case "kick": {
        if (ev.removal.ban) bans.add(ev.removal.ban);
        const key = nickKey(ev.nick);
        for (const m of members.values()) if (nickKey(m.nick) === key) removeMember(m, ev.removal);
        return;
      }
      case "unban":
        bans.remove(ev.nick);
        return;
      case "rename": {
        const member = isLocal(ev.member) ? members.get(ev.member.id) : undefined;
        if (member) member.nick = ev.to;
        deliver({ type: "rename", from: ev.from, to: ev.to });
        return;
      }
      case "msg":
        clock.observe(ev.message.ts);
        ring.push(ev.message);
        messageCount++;
        options.onMessage?.(ev.message, isLocal(ev.member));
        deliver(messageEvent(ev.message));
        return;
      case "pm": {
        const event: ServerEvent = { type: "pm", ts: ev.ts, from: ev.from, to: ev.to, text: ev.text };
        const toKey = nickKey(ev.to);
        for (const [id, member] of members) {
          const author = isLocal(ev.member) && id === ev.member.id;
          if (author || nickKey(member.nick) === toKey) member.peer.send(event);
        }
        return;
      }
      case "typing":
        deliver({ type: "typing", nick: ev.nick }, isLocal(ev.member) ? ev.member.id : undefined);
        return;
    }
  }

  function member(peer: Peer): Member | undefined {
    return members.get(peer.id);
  }

  /** Removes a member of this node on an operator's order; every node then hears its leave as a removal. */
  function removeMember(m: Member, removal: Removal) {
    members.delete(m.peer.id);
    const me = ref(m.peer);
    let announced: Removal = removal;
    if (removal.ban) {
      const address = options.banAddress?.(m.peer);
      const ban: BanRecord = address === undefined ? removal.ban : { ...removal.ban, address };
      announced = { by: removal.by, ban };
      if (address !== undefined) {
        background(bus.keep(banName(ban.nick), JSON.stringify(ban), ban.remainingMs), "ban record");
      }
      const minutes = Math.ceil(ban.remainingMs / 60_000);
      m.peer.send({ type: "notice", text: `You were banned by an admin for ${minutes} minutes` });
      m.peer.close(CloseCode.BANNED, "Banned by admin");
    } else {
      m.peer.send({ type: "notice", text: "You were kicked by an admin" });
      m.peer.close(CloseCode.KICKED, "Kicked by admin");
    }
    log.info("{nick} ({remote}) was {how} by {by}", {
      nick: m.nick,
      remote: m.peer.remote,
      how: removal.ban ? "banned" : "kicked",
      by: removal.by,
    });
    background(
      andThen(
        bus.publish({ kind: "leave", nick: m.nick, member: me, removed: announced }),
        () => bus.releaseNick(m.nick, me),
      ),
      "leave of a removed member",
    );
  }

  return {
    start() {
      return andThen(bus.start(apply, replayLimit), (history) => {
        ring = createHistoryRing(replayLimit, history);
        for (const m of history) clock.observe(m.ts);
        // Bans made before this node started (after the start, their events arrive in order).
        return andThen(bus.kept(), (kept) => {
          for (const { name, value, ttlMs } of kept) {
            if (!name.startsWith(BAN_PREFIX)) continue;
            try {
              bans.add({ ...(JSON.parse(value) as BanRecord), remainingMs: ttlMs });
            } catch {
              log.warn("Skipping an unreadable kept ban {name}", { name });
            }
          }
        });
      });
    },
    join(peer, nick, joinOptions) {
      const me = ref(peer);
      const outcome = andThen(bus.claimNick(nick, me), (ok) => {
        if (!ok) return new ProtocolError("nick_in_use");
        pending.set(peer.id, { peer, replay: joinOptions?.replay ?? true });
        return andThen(bus.publish({ kind: "join", nick, member: me }), () => undefined);
      });
      if (!(outcome instanceof Promise)) return outcome;
      return outcome.catch((err) => {
        // The join did come back through the order, only its reply was lost: it stands.
        if (members.has(peer.id)) return undefined;
        // A shared bus failed: refuse the join and undo the claim (if the join did enter
        // the order, applying it finds no pending peer and announces the leave).
        pending.delete(peer.id);
        background(bus.releaseNick(nick, me), "nick release after a failed join");
        return asRefusal(err);
      });
    },
    rename(peer, nick) {
      const m = member(peer);
      if (!m) return undefined;
      const old = m.nick;
      if (old === nick) return new ProtocolError("nick_in_use");
      const me = ref(peer);
      return andThen(bus.claimNick(nick, me), (ok) => {
        if (!ok) return new ProtocolError("nick_in_use");
        m.nick = nick;
        const published = andThen(bus.publish({ kind: "rename", from: old, to: nick, member: me }), () => {
          if (nickKey(old) !== nickKey(nick)) background(bus.releaseNick(old, me), "nick release after a rename");
          return undefined;
        });
        if (!(published instanceof Promise)) return published;
        return published.catch((err) => {
          if (m.nick === nick) m.nick = old;
          if (nickKey(old) !== nickKey(nick)) {
            background(bus.releaseNick(nick, me), "nick release after a failed rename");
          }
          return asRefusal(err);
        });
      });
    },
    say(peer, text) {
      const m = member(peer);
      if (!m) return undefined;
      const message = { ts: clock.stamp().toISOString(), nick: m.nick, text };
      return andThen(bus.publish({ kind: "msg", message, member: ref(peer) }), () => undefined);
    },
    image(peer, url) {
      const m = member(peer);
      if (!m) return undefined;
      const message: ChatMessage = { ts: clock.stamp().toISOString(), nick: m.nick, text: url, kind: "img" };
      return andThen(bus.publish({ kind: "msg", message, member: ref(peer) }), () => undefined);
    },
    pm(peer, to, text) {
      const m = member(peer);
      if (!m) return undefined;
      return andThen(bus.findNick(to), (target) => {
        if (target === undefined) return new ProtocolError("no_such_user", neutralize(to));
        const ev: RoomEvent = {
          kind: "pm",
          ts: clock.stamp().toISOString(),
          from: m.nick,
          to: target,
          text,
          member: ref(peer),
        };
        return andThen(bus.publish(ev), () => undefined);
      });
    },
    typing(peer) {
      const m = member(peer);
      if (!m) return;
      const t = elapsed();
      if (t - m.lastTypingAt < typingInterval) return;
      m.lastTypingAt = t;
      background(bus.publish({ kind: "typing", nick: m.nick, member: ref(peer) }), "typing notice");
    },
    who(peer, pattern) {
      return andThen(bus.nicks(), (all) => {
        const match = pattern ? nickMatcher(pattern) : undefined;
        const nicks = (match ? all.filter(match) : all).sort();
        peer.send({ type: "who", nicks });
      });
    },
    history(peer, count) {
      sendReplay(peer, ring.tail(Math.min(count ?? replayLimit, replayLimit)));
    },
    leave(peer) {
      pending.delete(peer.id);
      const m = members.get(peer.id);
      if (!m) return;
      members.delete(peer.id);
      const me = ref(peer);
      background(
        andThen(bus.publish({ kind: "leave", nick: m.nick, member: me }), () => bus.releaseNick(m.nick, me)),
        "leave",
      );
    },
    shutdown() {
      closing = true;
    },
    remove(peer, nick, removal) {
      const m = member(peer);
      if (!m) return undefined;
      const me = ref(peer);
      return andThen(bus.findNick(nick), (held) => {
        if (held === undefined && !removal.ban) return new ProtocolError("user_not_found", neutralize(nick));
        const target = held ?? nick;
        const { ban } = removal;
        const kept = ban
          ? bus.keep(banName(target), JSON.stringify({ ...ban, nick: target }), ban.remainingMs)
          : undefined;
        const event: RoomEvent = {
          kind: "kick",
          nick: target,
          removal: ban ? { by: removal.by, ban: { ...ban, nick: target } } : { by: removal.by },
          member: me,
        };
        return andThen(kept, () => andThen(bus.publish(event), () => undefined));
      });
    },
    unban(peer, nick) {
      if (!member(peer)) return undefined;
      const event: RoomEvent = { kind: "unban", nick, member: ref(peer) };
      return andThen(bus.forget(banName(nick)), () => andThen(bus.publish(event), () => undefined));
    },
    nickOf: (peer) => members.get(peer.id)?.nick,
    get size() {
      return members.size;
    },
    users: () => andThen(bus.nicks(), (all) => all.length),
    get messages() {
      return messageCount;
    },
  };
}
