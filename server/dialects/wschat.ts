/**
 * The wschat dialect (seed 004) over WebSocket on {@linkcode WSCHAT_PATH}.
 *
 * A wschat client is joined as soon as it connects, under the nickname
 * `ws-` + the first eight hex digits of a fresh UUID (see
 * {@linkcode wschatNick}); the room and other dialects see that nickname,
 * wschat clients see the UUID. Other members appear to wschat clients under
 * their nicknames. Every error is an `error` object followed by a close, as
 * the seed asks; history is not replayed (the seed: "On join, users do not
 * receive the chat history"). Both are policy, applied by the session.
 *
 * Timestamps are nanoseconds, strictly increasing within the room as the
 * wschat clients see it: the real wschat page inserts each message after
 * the last one with a strictly smaller timestamp, so equal stamps would show
 * in reverse order. Each event is stamped once, when it is first encoded
 * (events are encoded in the room's order); a stamp is its time (the
 * message's own, else the clock) in nanoseconds, or the previous stamp plus
 * {@linkcode WSCHAT_TIE_STEP_NS} when that is not later: a page that reads the
 * number with `JSON.parse` gets a double, so a step below the double's
 * resolution (256 ns at today's times) would give equal numbers. An empty chat
 * message is ignored, like the original Go server does.
 *
 * @module
 */
import { CloseCode, ERROR_TEXT, type ErrorCode, nickKey, type ServerEvent } from "../../protocol/mod.ts";
import {
  decodeWschatChat,
  encodeWschat,
  unixNanos,
  WSCHAT_SYSTEM,
  type WschatAction,
  wschatNick,
} from "../../protocol/dialects/wschat.ts";
import type { Dialect } from "../core/dialect.ts";

/** The HTTP path that upgrades to the wschat dialect. */
export const WSCHAT_PATH = "/wschat";

/**
 * How far a stamp is moved past the previous one when they would tie (1 µs):
 * more than twice the spacing of doubles near today's nanosecond times
 * (256 ns until 2043, 512 ns until 2116), so the stamps stay strictly
 * increasing also after `JSON.parse` has turned them into numbers.
 */
export const WSCHAT_TIE_STEP_NS = 1000n;

/** Appended to a member named `system` (any case) when shown to wschat clients. */
export const WSCHAT_SYSTEM_NICK_SUFFIX = " (user)";

/** How a wschat connection is closed after each kind of error. */
function closeFor(code: ErrorCode): readonly [number, string] {
  if (code === "bad_message") return [CloseCode.INVALID_PAYLOAD, "Malformed message"];
  if (code === "too_large") return [CloseCode.TOO_BIG, "Message too big"];
  if (code === "rate_limited") return [CloseCode.POLICY, "Rate limit exceeded"];
  return [CloseCode.POLICY, "Message refused"];
}

/** Creates the wschat dialect of one server; `newUuid` is injected in tests. */
export function createWschatDialect(newUuid: () => string = () => crypto.randomUUID()): Dialect {
  /** Nickname key → the UUID of the wschat user holding it on this server. */
  const identities = new Map<string, string>();
  /** Shared per event, so every wschat peer gets the same identities and timestamp. */
  const frameCache = new WeakMap<ServerEvent, string | null>();
  let lastStamp = 0n;

  /** The next strictly increasing stamp for something that happened at `ms`. */
  function stamp(ms: number): bigint {
    const ns = unixNanos(ms);
    lastStamp = ns > lastStamp ? ns : lastStamp + WSCHAT_TIE_STEP_NS;
    return lastStamp;
  }

  /**
   * The wschat identity of a member: its UUID while a wschat user holds the
   * nick here, else the nick; a member named `system` is shown as
   * `system (user)` (not a valid nick), so nobody can pose as the server.
   */
  function identity(nick: string): string {
    const key = nickKey(nick);
    if (key === nickKey(WSCHAT_SYSTEM)) return `${nick}${WSCHAT_SYSTEM_NICK_SUFFIX}`;
    return identities.get(key) ?? nick;
  }

  /** One frame, stamped now: `at` is the time it happened (a message's `ts`), else the clock. */
  function frame(sender: string, action: WschatAction, contents: string, at?: string): string {
    const timestamp = stamp(at === undefined ? Date.now() : Date.parse(at));
    return encodeWschat({ sender, action, contents, timestamp });
  }

  function frameOf(event: ServerEvent): string | undefined {
    switch (event.type) {
      case "join":
        return frame(WSCHAT_SYSTEM, "connect", identity(event.nick));
      case "leave":
        return frame(WSCHAT_SYSTEM, "disconnect", identity(event.nick));
      case "msg":
        return frame(identity(event.nick), "chat", event.text, event.ts);
      case "img":
        // The seed has no image action: the URL is the chat text.
        return frame(identity(event.nick), "chat", event.url, event.ts);
      case "pm":
        return frame(identity(event.from), "chat", `(private to ${identity(event.to)}) ${event.text}`, event.ts);
      case "rename":
        return frame(WSCHAT_SYSTEM, "chat", `${event.from} is now known as ${event.to}`);
      case "error":
        return frame(WSCHAT_SYSTEM, "error", ERROR_TEXT[event.code](event.detail));
      default:
        return undefined;
    }
  }

  return {
    name: "wschat",
    batch: false,
    decode(frame) {
      const text = decodeWschatChat(frame);
      return text.trim() === "" ? undefined : { type: "msg", text };
    },
    encode(event) {
      if (event.type === "error") return frameOf(event);
      const cached = frameCache.get(event);
      if (cached !== undefined) return cached ?? undefined;
      const frame = frameOf(event);
      frameCache.set(event, frame ?? null);
      return frame;
    },
    policy: {
      autoJoin() {
        const uuid = newUuid();
        const nick = wschatNick(uuid);
        const key = nickKey(nick);
        // A live holder keeps its identity (this join is then refused as a nick in use).
        if (!identities.has(key)) identities.set(key, uuid);
        return {
          nick,
          forget() {
            if (identities.get(key) === uuid) identities.delete(key);
          },
        };
      },
      closeAfterError: closeFor,
      replay: false,
      binaryError: true,
      capabilities: "all",
    },
  };
}
