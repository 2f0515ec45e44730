/**
 * The RiftChat dialect (seed 003): JSON objects with a numeric `code`, each
 * framed by an 8-byte big-endian length prefix, over plain TCP. Pure codec:
 * framing, a chunk-fed frame decoder with a bounded buffer, the message
 * shapes, and the random names the server hands out.
 *
 * @module
 */
import type { ClientCommand } from "../commands.ts";
import { ProtocolError } from "../errors.ts";
import { parseJsonObject, stringField } from "./json.ts";

/** Bytes of the length prefix. */
export const RIFT_PREFIX_BYTES = 8;

/** Length of the name the server gives a new client. */
export const RIFT_NAME_LENGTH = 10;

/** The characters of those names: `[0-9A-Za-z]`. */
export const RIFT_NAME_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The protocol's codes. */
export const RiftCode = {
  /** Client → server: send a chat message `{message}`. */
  SEND: 100,
  /** Client → server: set the username `{username}`. */
  SET_USERNAME: 101,
  /** A chat message `{message: {timestamp, username, message}}`, to everyone including its author. */
  MESSAGE: 200,
  /** A user connected `{new}`. */
  CONNECTED: 201,
  /** Your (new or unchanged) username `{new}`. */
  YOUR_USERNAME: 202,
  /** A user changed its username `{old, new}`. */
  RENAMED: 203,
  /** A user disconnected `{username}`. */
  DISCONNECTED: 204,
  /** The server is going down `{}`. */
  SERVER_DOWN: 205,
} as const;

/** A server → client object. */
export type RiftServerMessage =
  | { code: 200; message: { timestamp: number; username: string; message: string } }
  | { code: 201; new: string }
  | { code: 202; new: string }
  | { code: 203; old: string; new: string }
  | { code: 204; username: string }
  | { code: 205 };

const encoder = new TextEncoder();

/**
 * One framed message: the 8-byte big-endian byte length, then the UTF-8 JSON.
 *
 * @example
 * ```ts
 * import { riftFrame } from "./riftchat.ts";
 * const f = riftFrame({ code: 205 });
 * if (f.length !== 8 + 12 || f[7] !== 12) throw new Error();
 * ```
 */
export function riftFrame(message: RiftServerMessage | Record<string, unknown>): Uint8Array {
  return riftFrameOfText(JSON.stringify(message));
}

/** One framed message for a JSON text that is already encoded. */
export function riftFrameOfText(json: string): Uint8Array {
  const body = encoder.encode(json);
  const frame = new Uint8Array(RIFT_PREFIX_BYTES + body.length);
  new DataView(frame.buffer).setBigUint64(0, BigInt(body.length));
  frame.set(body, RIFT_PREFIX_BYTES);
  return frame;
}

/** What {@linkcode RiftDecoder.push} yields, in stream order. */
export type RiftItem =
  /** One message's JSON text. */
  | { type: "frame"; text: string }
  /** A frame whose body is not valid UTF-8 (dropped; framing stays in step). */
  | { type: "invalid_utf8" }
  /** A prefix beyond the bound; nothing was allocated and the decoder stops. */
  | { type: "too_large"; length: bigint };

/** Splits a byte stream into frames; see {@linkcode createRiftDecoder}. */
export interface RiftDecoder {
  /** Feeds one chunk (copied as needed; the caller may reuse it). */
  push(chunk: Uint8Array): RiftItem[];
  /** True once a prefix went over the bound. */
  readonly failed: boolean;
}

/**
 * Creates a frame decoder. Several frames in one chunk and one frame split
 * across chunks both work. A body buffer is allocated only once its prefix
 * is known to be within `maxFrame` bytes, so a prefix claiming gigabytes
 * costs nothing.
 *
 * @example
 * ```ts
 * import { createRiftDecoder, riftFrame } from "./riftchat.ts";
 * const d = createRiftDecoder(1024);
 * const bytes = riftFrame({ code: 100, message: "hi" });
 * const first = d.push(bytes.subarray(0, 5));
 * const rest = d.push(bytes.subarray(5));
 * if (first.length !== 0 || rest.length !== 1) throw new Error();
 * ```
 */
export function createRiftDecoder(maxFrame: number): RiftDecoder {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const header = new Uint8Array(RIFT_PREFIX_BYTES);
  let headerFill = 0;
  let body: Uint8Array | undefined;
  let bodyFill = 0;
  let failed = false;

  function finish(items: RiftItem[], bytes: Uint8Array) {
    try {
      items.push({ type: "frame", text: decoder.decode(bytes) });
    } catch {
      items.push({ type: "invalid_utf8" });
    }
    headerFill = 0;
    body = undefined;
    bodyFill = 0;
  }

  return {
    push(chunk) {
      const items: RiftItem[] = [];
      let at = 0;
      while (!failed && at < chunk.length) {
        if (body === undefined) {
          const take = Math.min(RIFT_PREFIX_BYTES - headerFill, chunk.length - at);
          header.set(chunk.subarray(at, at + take), headerFill);
          headerFill += take;
          at += take;
          if (headerFill < RIFT_PREFIX_BYTES) break;
          const length = new DataView(header.buffer).getBigUint64(0);
          if (length > BigInt(maxFrame)) {
            failed = true;
            items.push({ type: "too_large", length });
            break;
          }
          body = new Uint8Array(Number(length));
          bodyFill = 0;
          if (body.length === 0) finish(items, body);
          continue;
        }
        const take = Math.min(body.length - bodyFill, chunk.length - at);
        body.set(chunk.subarray(at, at + take), bodyFill);
        bodyFill += take;
        at += take;
        if (bodyFill === body.length) finish(items, body);
      }
      return items;
    },
    get failed() {
      return failed;
    },
  };
}

/**
 * Decodes a client message: `100` → `msg`, `101` → `nick`.
 *
 * @throws {ProtocolError} `bad_message` for anything else.
 *
 * @example
 * ```ts
 * import { decodeRiftCommand } from "./riftchat.ts";
 * const cmd = decodeRiftCommand('{"code": 101, "username": "zed"}');
 * if (cmd.type !== "nick" || cmd.nick !== "zed") throw new Error();
 * ```
 */
export function decodeRiftCommand(text: string): ClientCommand {
  const o = parseJsonObject(text);
  if (o.code === undefined) throw new ProtocolError("bad_message", `missing field "code"`);
  if (o.code === RiftCode.SEND) {
    const message = stringField(o, "message");
    if (message === undefined) throw new ProtocolError("bad_message", `missing field "message"`);
    return { type: "msg", text: message };
  }
  if (o.code === RiftCode.SET_USERNAME) {
    const username = stringField(o, "username");
    if (username === undefined) throw new ProtocolError("bad_message", `missing field "username"`);
    return { type: "nick", nick: username };
  }
  throw new ProtocolError("bad_message", `unknown code (expected ${RiftCode.SEND} or ${RiftCode.SET_USERNAME})`);
}

/**
 * A random name of {@linkcode RIFT_NAME_LENGTH} characters from
 * {@linkcode RIFT_NAME_ALPHABET}, unbiased (rejection sampling).
 *
 * @example
 * ```ts
 * import { randomRiftName } from "./riftchat.ts";
 * if (!/^[0-9A-Za-z]{10}$/.test(randomRiftName())) throw new Error();
 * ```
 */
export function randomRiftName(
  random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
): string {
  const n = RIFT_NAME_ALPHABET.length;
  const limit = 256 - (256 % n);
  let name = "";
  while (name.length < RIFT_NAME_LENGTH) {
    for (const b of random(new Uint8Array(RIFT_NAME_LENGTH * 2))) {
      if (b < limit && name.length < RIFT_NAME_LENGTH) name += RIFT_NAME_ALPHABET[b % n];
    }
  }
  return name;
}
