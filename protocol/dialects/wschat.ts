/**
 * The wschat dialect (seed 004): JSON `Message` objects
 * `{sender, action, contents, timestamp}` over a WebSocket path, with
 * server-assigned UUID identities. Pure codec.
 *
 * Decisions (see docs/PROTOCOL.md): `timestamp` is Unix nanoseconds, like
 * the original servers (Go's `UnixNano`), written as an exact JSON integer
 * (it is beyond 2^53, so the digits are written here, not by
 * `JSON.stringify`); the client's `sender` and `timestamp` are ignored and
 * the server's put on every echo; a member of another dialect appears with
 * its nickname as `sender`/`contents`.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";
import { parseJsonObject, stringField } from "./json.ts";

/** The `sender` of `connect`, `disconnect`, `error` and server notices. */
export const WSCHAT_SYSTEM = "system";

/** Prefix of the nickname a wschat user is shown under in other dialects. */
export const WSCHAT_NICK_PREFIX = "ws-";

/** Hex digits of the UUID in that nickname (`ws-` + 8 = 11 code points, within the nick limit). */
export const WSCHAT_NICK_HEX_DIGITS = 8;

/** One of the four actions of the seed's format. */
export type WschatAction = "connect" | "chat" | "disconnect" | "error";

/** The seed's `Message`. */
export interface WschatMessage {
  sender: string;
  action: WschatAction;
  contents: string;
  /** Unix nanoseconds. */
  timestamp: bigint;
}

/**
 * The nickname a wschat user is shown under: `ws-` and the first eight hex
 * digits of its UUID, lower case.
 *
 * @example
 * ```ts
 * import { wschatNick } from "./wschat.ts";
 * if (wschatNick("9F1C2A3B-0000-4000-8000-000000000000") !== "ws-9f1c2a3b") throw new Error();
 * ```
 */
export function wschatNick(uuid: string): string {
  return WSCHAT_NICK_PREFIX + uuid.replaceAll("-", "").slice(0, WSCHAT_NICK_HEX_DIGITS).toLowerCase();
}

/** Unix nanoseconds for a millisecond time. */
export function unixNanos(ms: number): bigint {
  return BigInt(Math.floor(ms)) * 1_000_000n;
}

/**
 * The frame for a message, fields in the seed's order; the timestamp is an
 * exact JSON integer whatever its size.
 *
 * @example
 * ```ts
 * import { encodeWschat } from "./wschat.ts";
 * const frame = encodeWschat({ sender: "s", action: "chat", contents: "hi", timestamp: 1732623456789000001n });
 * if (!frame.endsWith(',"timestamp":1732623456789000001}')) throw new Error(frame);
 * ```
 */
export function encodeWschat(m: WschatMessage): string {
  const head = JSON.stringify({ sender: m.sender, action: m.action, contents: m.contents });
  return `${head.slice(0, -1)},"timestamp":${m.timestamp.toString()}}`;
}

/**
 * The chat text of a client frame. The seed lets clients leave out
 * `sender`, `action` and `timestamp`; a present `action` must be `chat`.
 *
 * @throws {ProtocolError} `bad_message` for anything that is not a chat message.
 *
 * @example
 * ```ts
 * import { decodeWschatChat } from "./wschat.ts";
 * if (decodeWschatChat('{"contents":"hi","sender":"me","timestamp":1}') !== "hi") throw new Error();
 * ```
 */
export function decodeWschatChat(frame: string): string {
  const o = parseJsonObject(frame);
  const action = stringField(o, "action");
  if (action !== undefined && action !== "chat") {
    throw new ProtocolError("bad_message", `action must be "chat"`);
  }
  const contents = stringField(o, "contents");
  if (contents === undefined) throw new ProtocolError("bad_message", `missing field "contents"`);
  return contents;
}
