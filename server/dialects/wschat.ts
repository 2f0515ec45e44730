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
 * @module
 */
import { CloseCode, ERROR_TEXT, type ErrorCode, nickKey, type ServerEvent } from "../../protocol/mod.ts";
import {
  decodeWschatChat,
  encodeWschat,
  unixSeconds,
  WSCHAT_SYSTEM,
  wschatNick,
} from "../../protocol/dialects/wschat.ts";
import type { Dialect } from "../core/dialect.ts";

/** The HTTP path that upgrades to the wschat dialect. */
export const WSCHAT_PATH = "/wschat";

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

  function frameOf(event: ServerEvent): string | undefined {
    const now = unixSeconds(Date.now());
    switch (event.type) {
      case "join":
      case "leave":
        return encodeWschat({
          sender: WSCHAT_SYSTEM,
          action: event.type === "join" ? "connect" : "disconnect",
          contents: identity(event.nick),
          timestamp: now,
        });
      case "msg":
        return encodeWschat({
          sender: identity(event.nick),
          action: "chat",
          contents: event.text,
          timestamp: unixSeconds(Date.parse(event.ts)),
        });
      case "pm":
        return encodeWschat({
          sender: identity(event.from),
          action: "chat",
          contents: `(private to ${identity(event.to)}) ${event.text}`,
          timestamp: unixSeconds(Date.parse(event.ts)),
        });
      case "rename":
        return encodeWschat({
          sender: WSCHAT_SYSTEM,
          action: "chat",
          contents: `${event.from} is now known as ${event.to}`,
          timestamp: now,
        });
      case "error":
        return encodeWschat({
          sender: WSCHAT_SYSTEM,
          action: "error",
          contents: ERROR_TEXT[event.code](event.detail),
          timestamp: now,
        });
      default:
        return undefined;
    }
  }

  return {
    name: "wschat",
    batch: false,
    decode: (frame) => ({ type: "msg", text: decodeWschatChat(frame) }),
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
    },
  };
}
