/**
 * The RiftChat transport (`--riftchat-port`): plain TCP carrying JSON
 * messages framed by an 8-byte big-endian length prefix (seed 003), spoken
 * by the RiftChat dialect (`server/dialects/riftchat.ts`), in the same room as everyone else. The
 * connection engine is shared with the line transport
 * (`stream_transport.ts`); this module is the RiftChat framing. A length
 * prefix beyond {@linkcode RIFT_MAX_FRAME} is refused without allocating
 * it: the client gets a notice and the connection is closed, because the
 * stream can no longer be framed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { ERROR_TEXT, HARD_FRAME_CAP } from "../../protocol/mod.ts";
import { createRiftDecoder, riftFrame, riftFrameOfText } from "../../protocol/dialects/riftchat.ts";
import { RIFT_SYSTEM_NAME } from "../dialects/riftchat.ts";
import type { InboundItem, StreamFraming } from "./stream_transport.ts";

/** Largest accepted RiftChat message body in bytes (the WebSocket frame cap). */
export const RIFT_MAX_FRAME = HARD_FRAME_CAP;

/** Length-prefixed JSON; a dialect text may hold several messages joined by `\n`. */
export const riftFraming: StreamFraming = {
  label: "RiftChat",
  decoder() {
    const decoder = createRiftDecoder(RIFT_MAX_FRAME);
    return {
      push(chunk) {
        return decoder.push(chunk).map((item): InboundItem => {
          if (item.type === "frame") return { type: "text", text: item.text };
          if (item.type === "invalid_utf8") return item;
          return { type: "too_big", detail: `announced ${item.length} bytes` };
        });
      },
    };
  },
  encode(texts) {
    return Buffer.concat(texts.flatMap((text) => text.split("\n")).map(riftFrameOfText));
  },
  refusal: (code) =>
    riftFrame({
      code: 200,
      message: { timestamp: Date.now(), username: RIFT_SYSTEM_NAME, message: ERROR_TEXT[code]() },
    }),
  dialect: (dialects) => dialects.riftchat,
};
