/**
 * The `wirechat.json` dialect over WebSocket: JSON frames in and out, the
 * same session, rules and errors as the line protocol (each command becomes
 * its protocol line and goes through the line parser).
 *
 * @module
 */
import { CloseCode, ProtocolError, type ServerEvent } from "../../protocol/mod.ts";
import { commandLine } from "../../protocol/dialects/command_line.ts";
import { decodeJsonCommand, encodeJsonEvent } from "../../protocol/dialects/json.ts";
import type { Dialect } from "../core/dialect.ts";

const jsonCache = new WeakMap<ServerEvent, string>();

/** The JSON frame for an event, encoded once however many peers receive it. */
export function jsonOf(event: ServerEvent): string {
  let frame = jsonCache.get(event);
  if (frame === undefined) {
    frame = encodeJsonEvent(event);
    jsonCache.set(event, frame);
  }
  return frame;
}

/** Creates the JSON dialect for one connection. */
export function jsonDialect(): Dialect {
  return {
    name: "json",
    batch: false,
    encode: jsonOf,
    open: (session) => session.open(),
    receive(frame, session) {
      let line: string;
      try {
        line = commandLine(decodeJsonCommand(frame));
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        return session.refuse(err);
      }
      session.line(line);
    },
    binary(_session, peer) {
      peer.send({ type: "error", code: "bad_message", detail: "binary frames are not supported" });
      peer.close(CloseCode.UNSUPPORTED, "Binary frames are not supported");
    },
  };
}
