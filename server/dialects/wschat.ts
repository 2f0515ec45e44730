/**
 * The wschat dialect (seed 004) over WebSocket on {@linkcode WSCHAT_PATH}.
 *
 * A wschat client is joined as soon as it connects, under the nickname
 * `ws-` + the first eight hex digits of a fresh UUID (see
 * {@linkcode wschatNick}); the room and other dialects see that nickname,
 * wschat clients see the UUID. Other members appear to wschat clients under
 * their nicknames. Every error is an `error` object followed by a close, as
 * the seed asks; history is not replayed (the seed: "On join, users do not
 * receive the chat history").
 *
 * @module
 */
import { CloseCode, ERROR_TEXT, type ErrorCode, nickKey, ProtocolError, type ServerEvent } from "../../protocol/mod.ts";
import { commandLine } from "../../protocol/dialects/command_line.ts";
import {
  decodeWschatChat,
  encodeWschat,
  unixSeconds,
  WSCHAT_SYSTEM,
  wschatNick,
} from "../../protocol/dialects/wschat.ts";
import type { Connection, ServerContext } from "../core/context.ts";
import type { Dialect } from "../core/dialect.ts";
import type { Peer } from "../core/peer.ts";

/** The HTTP path that upgrades to the wschat dialect. */
export const WSCHAT_PATH = "/wschat";

/** Appended to a member named `system` (any case) when shown to wschat clients. */
export const WSCHAT_SYSTEM_NICK_SUFFIX = " (user)";

/** How a wschat connection is closed after each kind of error. */
function closeFor(code: ErrorCode): [number, string] {
  if (code === "bad_message") return [CloseCode.INVALID_PAYLOAD, "Malformed message"];
  if (code === "too_large") return [CloseCode.TOO_BIG, "Message too big"];
  if (code === "rate_limited") return [CloseCode.POLICY, "Rate limit exceeded"];
  return [CloseCode.POLICY, "Message refused"];
}

interface Identity {
  uuid: string;
  conn: Connection;
}

/** Per server: nickname key → the UUID of the wschat user holding it on this node. */
const registries = new WeakMap<ServerContext, Map<string, Identity>>();

function registryOf(ctx: ServerContext): Map<string, Identity> {
  let registry = registries.get(ctx);
  if (!registry) {
    registry = new Map();
    registries.set(ctx, registry);
  }
  return registry;
}

/** Shared per event, so every wschat peer gets the same identities and timestamp. */
const frameCache = new WeakMap<ServerEvent, string | null>();

/** Creates the wschat dialect for one connection; `newUuid` is injected in tests. */
export function wschatDialect(ctx: ServerContext, newUuid: () => string = () => crypto.randomUUID()): Dialect {
  const registry = registryOf(ctx);
  let peer: Peer | undefined;
  let replaying = false;

  /**
   * The wschat identity of a member: its UUID while a wschat user holds the
   * nick here, else the nick; a member named `system` is shown as
   * `system (user)` (not a valid nick), so nobody can pose as the server.
   */
  function identity(nick: string): string {
    const key = nickKey(nick);
    if (key === WSCHAT_SYSTEM) return `${nick}${WSCHAT_SYSTEM_NICK_SUFFIX}`;
    const entry = registry.get(key);
    if (entry === undefined) return nick;
    if (ctx.connections.has(entry.conn)) return entry.uuid;
    registry.delete(key);
    return nick;
  }

  function shared(event: ServerEvent): string | undefined {
    const cached = frameCache.get(event);
    if (cached !== undefined) return cached ?? undefined;
    const now = unixSeconds(Date.now());
    let frame: string | undefined;
    switch (event.type) {
      case "join":
      case "leave":
        frame = encodeWschat({
          sender: WSCHAT_SYSTEM,
          action: event.type === "join" ? "connect" : "disconnect",
          contents: identity(event.nick),
          timestamp: now,
        });
        break;
      case "msg":
        frame = encodeWschat({
          sender: identity(event.nick),
          action: "chat",
          contents: event.text,
          timestamp: unixSeconds(Date.parse(event.ts)),
        });
        break;
      case "pm":
        frame = encodeWschat({
          sender: identity(event.from),
          action: "chat",
          contents: `(private to ${identity(event.to)}) ${event.text}`,
          timestamp: unixSeconds(Date.parse(event.ts)),
        });
        break;
      case "rename":
        frame = encodeWschat({
          sender: WSCHAT_SYSTEM,
          action: "chat",
          contents: `${event.from} is now known as ${event.to}`,
          timestamp: now,
        });
        break;
    }
    frameCache.set(event, frame ?? null);
    return frame;
  }

  return {
    name: "wschat",
    batch: false,
    encode(event) {
      switch (event.type) {
        case "replay_start":
          replaying = true;
          return undefined;
        case "replay_end":
          replaying = false;
          return undefined;
        case "msg":
          return replaying ? undefined : shared(event);
        case "error": {
          const [code, reason] = closeFor(event.code);
          const target = peer;
          // The seed: after an error the server disconnects the client. The
          // close runs after this frame is queued; peer.close flushes it first.
          if (target) queueMicrotask(() => target.close(code, reason));
          return encodeWschat({
            sender: WSCHAT_SYSTEM,
            action: "error",
            contents: ERROR_TEXT[event.code](event.detail),
            timestamp: unixSeconds(Date.now()),
          });
        }
        default:
          return shared(event);
      }
    },
    open(session, p) {
      peer = p;
      for (const [key, entry] of registry) if (!ctx.connections.has(entry.conn)) registry.delete(key);
      const conn = [...ctx.connections].find((c) => c.session === session);
      const uuid = newUuid();
      const nick = wschatNick(uuid);
      if (conn) registry.set(nickKey(nick), { uuid, conn });
      session.open();
      session.command({ type: "nick", nick });
    },
    receive(frame, session) {
      let line: string;
      try {
        line = commandLine({ type: "msg", text: decodeWschatChat(frame) });
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        return session.refuse(err);
      }
      session.line(line);
    },
    binary(_session, p) {
      p.send({ type: "error", code: "bad_message", detail: "binary frames are not supported" });
      p.close(CloseCode.UNSUPPORTED, "Binary frames are not supported");
    },
  };
}
