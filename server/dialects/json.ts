/**
 * The `wirechat.json` dialect over WebSocket: JSON frames in and out, the
 * same session, rules and errors as the line protocol (the decoded command
 * goes through the one validation; nothing is turned back into a line).
 *
 * @module
 */
import type { ServerEvent } from "../../protocol/mod.ts";
import { decodeJsonCommand, encodeJsonEvent } from "../../protocol/dialects/json.ts";
import type { Dialect } from "../core/dialect.ts";

/** Creates the JSON dialect of one server; each event is encoded once however many peers receive it. */
export function createJsonDialect(): Dialect {
  const cache = new WeakMap<ServerEvent, string>();
  return {
    name: "json",
    batch: false,
    decode: decodeJsonCommand,
    encode(event) {
      let frame = cache.get(event);
      if (frame === undefined) {
        frame = encodeJsonEvent(event);
        cache.set(event, frame);
      }
      return frame;
    },
    policy: { replay: true, binaryError: true, capabilities: "all" },
  };
}
