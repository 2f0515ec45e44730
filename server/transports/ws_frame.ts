/**
 * Server-side WebSocket text frames (RFC 6455 §5.2), built once per line:
 * a server frame is unmasked, so the same bytes serve every recipient. `ws`
 * parses what clients send and writes control frames; data frames are
 * written by the outbound core as one buffer per peer per event-loop turn.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type SharedEncoder, shareEncoding } from "../core/outbound.ts";

/** Header bytes of an unmasked frame carrying `length` payload bytes. */
function headerLength(length: number): number {
  return length < 126 ? 2 : length < 65536 ? 4 : 10;
}

/**
 * One final, unmasked text frame holding `text`.
 *
 * @example
 * ```ts
 * import { textFrame } from "./ws_frame.ts";
 * const f = textFrame("hi");
 * if (f.length !== 4 || f[0] !== 0x81 || f[1] !== 2 || f[2] !== 0x68) throw new Error("FIN|TEXT, length 2, 'hi'");
 * if (textFrame("x".repeat(300))[1] !== 126) throw new Error("16-bit length");
 * ```
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = headerLength(length);
  const frame = Buffer.allocUnsafe(head + length);
  frame[0] = 0x81; // FIN, opcode 1 (text), no RSV bits
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, head, "utf8");
  return frame;
}

/** One server's WebSocket frame encoders; their caches live and die with the server. */
export interface FrameEncoders {
  /** One text frame per line: what every ordinary WebSocket client reads. */
  readonly line: SharedEncoder;
  /** All the lines of the turn in one text frame, joined by `\n` (`wirechat.batch`). */
  readonly batch: SharedEncoder;
  /** Forgets the turn's frames (run after each flush of the outbound scheduler). */
  forget(): void;
}

/**
 * Creates the frame encoders of one server. Within an event-loop turn a line
 * is framed once however many peers receive it, and consecutive peers
 * holding the same lines share one buffer.
 *
 * @example
 * ```ts
 * import { createFrameEncoders } from "./ws_frame.ts";
 * const frames = createFrameEncoders();
 * const a = frames.line(["SYS a joined the chat!", "SYS b joined the chat!"]);
 * if (frames.line(["SYS a joined the chat!", "SYS b joined the chat!"]) !== a) throw new Error("shared");
 * if (a[0] !== 0x81 || a[1] !== 22) throw new Error("first frame: FIN|TEXT, 22 bytes");
 * ```
 */
export function createFrameEncoders(): FrameEncoders {
  const framed = new Map<string, Buffer>();
  const frameOf = (text: string): Buffer => {
    let frame = framed.get(text);
    if (frame === undefined) {
      frame = textFrame(text);
      framed.set(text, frame);
    }
    return frame;
  };
  return {
    line: shareEncoding((texts) => texts.length === 1 ? frameOf(texts[0]) : Buffer.concat(texts.map(frameOf))),
    batch: shareEncoding((texts) => textFrame(texts.join("\n"))),
    forget: () => framed.clear(),
  };
}
