/**
 * The plain-TCP transport (`--tcp-port`): newline-terminated lines in both
 * directions, the same commands and replies as WebSocket, the same room.
 * What makes the protocol usable from `nc` or `telnet`. The connection
 * engine is shared with RiftChat (`stream_transport.ts`); this module is the
 * line framing.
 *
 * @module
 */
import { formatLine } from "../../protocol/mod.ts";
import { createLineSplitter } from "./line_splitter.ts";
import type { InboundItem, StreamFraming } from "./stream_transport.ts";

export { TCP_CLOSE_LINGER_MS } from "./stream_transport.ts";

const encoder = new TextEncoder();

/** Lines in, lines out; a bare Enter from nc/telnet is not a command. */
export const lineFraming: StreamFraming = {
  label: "TCP",
  decoder() {
    const splitter = createLineSplitter();
    return {
      push(chunk) {
        const out: InboundItem[] = [];
        for (const item of splitter.push(chunk)) {
          if (item.type === "line") {
            if (item.line !== "") out.push({ type: "text", text: item.line });
          } else if (item.type === "invalid_utf8") out.push(item);
          else out.push({ type: "too_big" });
        }
        return out;
      },
    };
  },
  encode: (texts) => encoder.encode(texts.join("\n") + "\n"),
  refusal: (code) => encoder.encode(formatLine({ type: "error", code }) + "\n"),
  dialect: (dialects) => dialects.line,
};
