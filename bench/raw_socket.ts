/**
 * A lean WebSocket client over a raw `Deno.Conn`, for the load generator.
 * Frames are parsed straight from the bytes of each TCP read (many small
 * frames per read cost one op, not one event each), text payloads are handed
 * over as byte ranges without decoding, outgoing frames of one task are
 * written in one `write`, and reading can be paused to play a client that
 * stopped reading (the kernel buffers fill and the server sees backpressure).
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** How the connection ended. */
export interface RawClose {
  /** Close code from the server's close frame; 1006 when the TCP connection just ended. */
  code: number;
  reason: string;
}

/** Called for each complete text frame: payload is `buf[start, end)`, `at` is when it was read. */
export type TextHandler = (buf: Uint8Array, start: number, end: number, at: number) => void;

/** An open connection; see the module doc. */
export interface RawSocket {
  /** Queues a text frame; frames queued in one task go out in one write. */
  send(text: string): void;
  /** Stops reading (the client "stops reading"); the socket stays open. */
  pause(): void;
  /** Sends a close frame and closes the TCP connection without waiting. */
  close(): void;
  /** Resolves once the connection ended, for whatever reason. */
  readonly closed: Promise<RawClose>;
  /** True once ended. */
  readonly isClosed: boolean;
}

/** Options for {@linkcode openRawSocket}. */
export interface RawSocketOptions {
  protocols?: string[];
  onText: TextHandler;
  /** The clock stamped on each read (milliseconds). */
  now: () => number;
  /** Bounds the connect and handshake. */
  signal?: AbortSignal;
}

const OP_CONT = 0x0, OP_TEXT = 0x1, OP_CLOSE = 0x8, OP_PING = 0x9;
const INITIAL_BUFFER = 8 * 1024;
/**
 * The read buffer doubles, up to this, each time a read fills it: a busy client takes many frames per read (one op
 * and one system call), an idle one keeps 8 KiB.
 */
export const MAX_READ_BUFFER = 64 * 1024;
/** Longest wait for queued frames to be written when closing. */
const CLOSE_WRITE_WAIT_MS = 200;

function encodeFrame(opcode: number, payload: Uint8Array, key: Uint8Array): Uint8Array {
  const len = payload.length;
  const hdr = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(hdr + 4 + len);
  out[0] = 0x80 | opcode;
  if (hdr === 2) out[1] = 0x80 | len;
  else if (hdr === 4) {
    out[1] = 0x80 | 126;
    out[2] = len >> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setUint32(6, len);
  }
  out.set(key, hdr);
  const base = hdr + 4;
  for (let i = 0; i < len; i++) out[base + i] = payload[i] ^ key[i & 3];
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Connects to a `ws://` URL and completes the opening handshake. */
export async function openRawSocket(url: URL, options: RawSocketOptions): Promise<RawSocket> {
  const { onText, now } = options;
  const port = Number(url.port || 80);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const conn = await Deno.connect({ hostname, port, signal: options.signal });
  try {
    conn.setNoDelay(true);
  } catch { /* not TCP */ }
  const key = crypto.getRandomValues(new Uint8Array(16));
  const wsKey = btoa(String.fromCharCode(...key));
  const proto = options.protocols?.length ? `Sec-WebSocket-Protocol: ${options.protocols.join(", ")}\r\n` : "";
  const request = `GET ${url.pathname || "/"} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${wsKey}\r\nSec-WebSocket-Version: 13\r\n${proto}\r\n`;

  let buf = new Uint8Array(INITIAL_BUFFER);
  let len = 0;
  try {
    await writeAll(conn, encoder.encode(request));
    for (;;) {
      if (options.signal?.aborted) throw new Error("handshake timed out");
      if (len === buf.length) throw new Error("handshake response too large");
      const n = await conn.read(buf.subarray(len));
      if (n === null) throw new Error("connection closed during the handshake");
      len += n;
      const text = decoder.decode(buf.subarray(0, len));
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const status = text.slice(0, text.indexOf("\r\n"));
      if (!/^HTTP\/1\.1 101\b/.test(status)) throw new Error(`upgrade refused: ${status}`);
      const headerBytes = encoder.encode(text.slice(0, end + 4)).length;
      buf.copyWithin(0, headerBytes, len);
      len -= headerBytes;
      break;
    }
  } catch (err) {
    conn.close();
    throw err;
  }

  const mask = crypto.getRandomValues(new Uint8Array(4));
  const outbox: Uint8Array[] = [];
  let writing = false;
  let paused = false;
  let ended = false;
  let sentClose = false;
  const closed = Promise.withResolvers<RawClose>();
  let fragments: Uint8Array[] | undefined;

  function finish(result: RawClose) {
    if (ended) return;
    ended = true;
    try {
      conn.close();
    } catch { /* already closed */ }
    closed.resolve(result);
  }

  async function drainOutbox() {
    writing = true;
    try {
      while (outbox.length > 0 && !ended) {
        const parts = outbox.splice(0);
        let total = 0;
        for (const p of parts) total += p.length;
        const joined = parts.length === 1 ? parts[0] : new Uint8Array(total);
        if (parts.length > 1) {
          let off = 0;
          for (const p of parts) {
            joined.set(p, off);
            off += p.length;
          }
        }
        await writeAll(conn, joined);
      }
    } catch {
      finish({ code: 1006, reason: "write failed" });
    } finally {
      writing = false;
    }
  }

  function queue(frame: Uint8Array) {
    if (ended) return;
    outbox.push(frame);
    if (!writing) {
      writing = true;
      queueMicrotask(drainOutbox);
    }
  }

  function sendClose(code: number) {
    if (sentClose) return;
    sentClose = true;
    queue(encodeFrame(OP_CLOSE, new Uint8Array([code >> 8, code & 0xff]), mask));
  }

  function handleFrame(op: number, fin: boolean, start: number, end: number, at: number): boolean {
    if (op === OP_TEXT && fin && !fragments) {
      onText(buf, start, end, at);
      return true;
    }
    if (op === OP_TEXT || op === OP_CONT) {
      (fragments ??= []).push(buf.slice(start, end));
      if (fin) {
        const parts = fragments;
        fragments = undefined;
        const whole = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let off = 0;
        for (const p of parts) {
          whole.set(p, off);
          off += p.length;
        }
        onText(whole, 0, whole.length, at);
      }
      return true;
    }
    if (op === OP_PING) {
      queue(encodeFrame(0xa, buf.slice(start, end), mask));
      return true;
    }
    if (op === OP_CLOSE) {
      const code = end - start >= 2 ? (buf[start] << 8) | buf[start + 1] : 1005;
      const reason = end - start > 2 ? decoder.decode(buf.subarray(start + 2, end)) : "";
      sendClose(code === 1005 ? 1000 : code);
      // Give the close reply a moment to be written, then end.
      queueMicrotask(() => setTimeout(() => finish({ code, reason }), 0));
      return false;
    }
    return true; // pong, binary: ignored
  }

  /** Parses every whole frame in buf[0, len); keeps a partial one at the front. */
  function parse(at: number): boolean {
    let off = 0;
    let more = true;
    while (more && len - off >= 2) {
      const b0 = buf[off], b1 = buf[off + 1];
      let plen = b1 & 0x7f;
      let hdr = 2;
      if (plen === 126) {
        if (len - off < 4) break;
        plen = (buf[off + 2] << 8) | buf[off + 3];
        hdr = 4;
      } else if (plen === 127) {
        if (len - off < 10) break;
        plen = new DataView(buf.buffer, buf.byteOffset + off + 2, 8).getUint32(4);
        hdr = 10;
      }
      if (b1 & 0x80) hdr += 4; // servers do not mask; tolerate it anyway
      if (len - off < hdr + plen) {
        if (hdr + plen > buf.length) {
          const bigger = new Uint8Array(Math.max(buf.length * 2, hdr + plen));
          bigger.set(buf.subarray(off, len));
          buf = bigger;
          len -= off;
          return true;
        }
        break;
      }
      const start = off + hdr;
      if (b1 & 0x80) {
        for (let i = 0; i < plen; i++) buf[start + i] ^= buf[start - 4 + (i & 3)];
      }
      more = handleFrame(b0 & 0x0f, (b0 & 0x80) !== 0, start, start + plen, at);
      off = start + plen;
    }
    if (off > 0) {
      buf.copyWithin(0, off, len);
      len -= off;
    }
    return more;
  }

  let resume: (() => void) | undefined;
  let filled = false;
  (async () => {
    try {
      if (len > 0 && !parse(now())) return;
      while (!ended) {
        if (paused) {
          await new Promise<void>((r) => resume = r);
          continue;
        }
        // A read that filled the buffer left more waiting: read more at once next time.
        if (filled && buf.length < MAX_READ_BUFFER || len === buf.length) {
          const bigger = new Uint8Array(buf.length * 2);
          bigger.set(buf.subarray(0, len));
          buf = bigger;
        }
        // The whole buffer when it is empty (the usual case): no view to allocate per read.
        const room = buf.length - len;
        const n = await conn.read(len === 0 ? buf : buf.subarray(len));
        if (n === null) return finish({ code: 1006, reason: "connection ended" });
        filled = n === room;
        len += n;
        if (!parse(now())) return;
      }
    } catch (err) {
      finish({ code: 1006, reason: `read failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  })();

  return {
    send(text) {
      queue(encodeFrame(OP_TEXT, encoder.encode(text), mask));
    },
    pause() {
      paused = true;
    },
    close() {
      if (ended) return;
      sendClose(1000);
      // Let the close frame go out with whatever is queued, then end.
      const giveUp = now() + CLOSE_WRITE_WAIT_MS;
      const wait = () =>
        writing && now() < giveUp ? setTimeout(wait, 1) : finish({ code: 1000, reason: "closed by client" });
      setTimeout(wait, 0);
      resume?.();
    },
    closed: closed.promise,
    get isClosed() {
      return ended;
    },
  };
}
