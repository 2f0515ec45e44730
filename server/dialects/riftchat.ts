/**
 * The RiftChat dialect (seed 003): the server names each new client with a
 * random ten-character name (`202` to it, then `201` to everyone), turns
 * `100` into a chat message and `101` into a rename through the nickname
 * rules, and answers a refused rename with `202` carrying the unchanged
 * name. Other errors, which RiftChat has no code for, reach the client as a
 * `200` message from {@linkcode RIFT_SYSTEM_NAME}.
 *
 * One event can become two messages (the own join: `202` then `201`; the
 * own rename: `202` then `203`), so `encode` returns the JSON texts joined
 * by `\n` (JSON text never holds a raw newline) and the transport frames
 * each one. Whether an event is the connection's own comes from the
 * {@linkcode EncodeView}, so `encode` keeps no state.
 *
 * @module
 */
import { ERROR_TEXT, type ServerEvent } from "../../protocol/mod.ts";
import { decodeRiftCommand, randomRiftName, type RiftServerMessage } from "../../protocol/dialects/riftchat.ts";
import type { Dialect } from "../core/dialect.ts";

/** The `username` of server notices; not a valid nickname (it has a space), so nobody can pose as it. */
export const RIFT_SYSTEM_NAME = "* wirechat";

const json = (m: RiftServerMessage) => JSON.stringify(m);

/** Creates the RiftChat dialect of one server; `newName` is injected in tests. */
export function createRiftchatDialect(newName: () => string = () => randomRiftName()): Dialect {
  const messageCache = new WeakMap<ServerEvent, string>();

  /** The `200` text for a public message, encoded once for every RiftChat peer. */
  function chatMessage(event: Extract<ServerEvent, { type: "msg" }>): string {
    let text = messageCache.get(event);
    if (text === undefined) {
      text = json({
        code: 200,
        message: { timestamp: Date.parse(event.ts), username: event.nick, message: event.text },
      });
      messageCache.set(event, text);
    }
    return text;
  }

  return {
    name: "riftchat",
    batch: true,
    decode: decodeRiftCommand,
    encode(event, view) {
      switch (event.type) {
        case "join":
          if (event.nick === view.self) {
            return `${json({ code: 202, new: event.nick })}\n${json({ code: 201, new: event.nick })}`;
          }
          return json({ code: 201, new: event.nick });
        case "rename":
          if (event.to === view.self) {
            return `${json({ code: 202, new: event.to })}\n${json({ code: 203, old: event.from, new: event.to })}`;
          }
          return json({ code: 203, old: event.from, new: event.to });
        case "leave":
          return json({ code: 204, username: event.nick });
        case "msg":
          return chatMessage(event);
        case "img":
          // RiftChat has no image code: the URL is the message text.
          return json({
            code: 200,
            message: { timestamp: Date.parse(event.ts), username: event.nick, message: event.url },
          });
        case "pm":
          return json({
            code: 200,
            message: {
              timestamp: Date.parse(event.ts),
              username: event.from,
              message: `(private to ${event.to}) ${event.text}`,
            },
          });
        case "shutdown":
          return json({ code: 205 });
        case "error":
          if (view.self !== undefined && (event.code === "invalid_nick" || event.code === "nick_in_use")) {
            return json({ code: 202, new: view.self });
          }
          return json({
            code: 200,
            message: {
              timestamp: Date.now(),
              username: RIFT_SYSTEM_NAME,
              message: ERROR_TEXT[event.code](event.detail),
            },
          });
        default:
          return undefined;
      }
    },
    policy: { autoJoin: () => ({ nick: newName() }), replay: true, binaryError: false, capabilities: "all" },
  };
}
