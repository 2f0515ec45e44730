/**
 * A hand-written WebSocket client over a raw `Deno.Conn` (TCP or TLS), for
 * hostile tests: it can send what a real client never would (unmasked
 * frames, invalid UTF-8, truncated or garbage frames, huge length headers)
 * and reads the server's frames and close code byte by byte.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** WebSocket opcodes. */
export const Op = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** One frame the server sent. */
export interface RawFrame {
  fin: boolean;
  opcode: number;
  payload: Uint8Array;
}

/** Options for {@linkcode encodeFrame}. */
export interface FrameOptions {
  opcode?: number;
  fin?: boolean;
  /** Clients must mask; `false` sends an unmasked (illegal) client frame. */
  mask?: boolean;
  /** Length to announce in the header instead of the payload's (for truncated frames). */
  announce?: number;
}

/** Encodes one client frame. */
export function encodeFrame(payload: Uint8Array | string, opts: FrameOptions = {}): Uint8Array {
  const data = typeof payload === "string" ? encoder.encode(payload) : payload;
  const { opcode = Op.TEXT, fin = true, mask = true } = opts;
  const len = opts.announce ?? data.length;
  const header: number[] = [(fin ? 0x80 : 0) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (len < 126) header.push(maskBit | len);
  else if (len < 65536) header.push(maskBit | 126, len >> 8, len & 0xff);
  else {
    header.push(maskBit | 127);
    const big = BigInt(len);
    for (let i = 7; i >= 0; i--) header.push(Number((big >> BigInt(i * 8)) & 0xffn));
  }
  const key = mask ? crypto.getRandomValues(new Uint8Array(4)) : new Uint8Array(0);
  const out = new Uint8Array(header.length + key.length + data.length);
  out.set(header, 0);
  out.set(key, header.length);
  for (let i = 0; i < data.length; i++) out[header.length + key.length + i] = mask ? data[i] ^ key[i & 3] : data[i];
  return out;
}

/** Masks `data` in place with `key`, continuing at payload offset `offset` (for streamed payloads). */
export function maskChunk(data: Uint8Array, key: Uint8Array, offset: number): Uint8Array {
  for (let i = 0; i < data.length; i++) data[i] ^= key[(offset + i) & 3];
  return data;
}

/** A raw WebSocket connection. */
export interface RawSocket {
  conn: Deno.Conn;
  /** The HTTP status line and headers of the handshake answer. */
  response: string;
  write(bytes: Uint8Array): Promise<void>;
  /** Sends one text frame (masked unless told otherwise). */
  sendText(text: string, opts?: FrameOptions): Promise<void>;
  /** The next frame, or undefined once the server closed the TCP connection. */
  readFrame(timeoutMs?: number): Promise<RawFrame | undefined>;
  /** Reads text frames until one equals or matches `want`. */
  until(want: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Reads until the server's close frame and returns its code (or undefined on a bare TCP close). */
  closeCode(timeoutMs?: number): Promise<number | undefined>;
  close(): void;
}

/** Writes all of `bytes`; false when the peer has gone (reset/broken pipe). */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<boolean> {
  try {
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset) return false;
    throw err;
  }
}

/**
 * The request bytes of a WebSocket handshake. `headers` are added, or replace
 * the standard ones of the same name (case-insensitive); a value of `null`
 * leaves that header out.
 */
export function handshakeRequest(
  host: string,
  headers: Record<string, string | null> = {},
  path = "/",
): Uint8Array {
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  const all = new Map<string, [string, string | null]>();
  const standard: Record<string, string> = {
    Host: host,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": key,
    "Sec-WebSocket-Version": "13",
  };
  for (const [k, v] of [...Object.entries(standard), ...Object.entries(headers)]) all.set(k.toLowerCase(), [k, v]);
  const lines = [...all.values()].filter(([, v]) => v !== null).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  return encoder.encode(`GET ${path} HTTP/1.1\r\n${lines}\r\n`);
}

/**
 * Sends `request` (bytes or text) on a fresh connection to `port` and returns
 * the server's answer up to the end of its headers (or all it sent before
 * closing), bounded by `timeoutMs`.
 */
export async function rawExchange(port: number, request: Uint8Array | string, timeoutMs = 5000): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await writeAll(conn, typeof request === "string" ? encoder.encode(request) : request);
    const signal = AbortSignal.timeout(timeoutMs);
    const chunk = new Uint8Array(16 * 1024);
    let text = "";
    while (!text.includes("\r\n\r\n")) {
      const timeout = new Promise<"timeout">((resolve) => signal.addEventListener("abort", () => resolve("timeout")));
      const n = await Promise.race([conn.read(chunk).catch(() => null), timeout]);
      if (n === "timeout") throw new Error(`no answer within ${timeoutMs} ms; got ${JSON.stringify(text)}`);
      if (n === null) break;
      text += decoder.decode(chunk.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

/**
 * Performs the handshake over `conn`. Resolves with the socket when the
 * answer is 101; otherwise throws with the status line (and closes `conn`).
 */
export async function rawHandshake(
  conn: Deno.Conn,
  host: string,
  headers: Record<string, string | null> = {},
  path = "/",
): Promise<RawSocket> {
  await writeAll(conn, handshakeRequest(host, headers, path));
  let buf = new Uint8Array(0);
  const chunk = new Uint8Array(64 * 1024);
  let closedByPeer = false;

  async function fill(signal: AbortSignal): Promise<boolean> {
    if (closedByPeer) return false;
    const timeout = new Promise<"timeout">((resolve) => {
      if (signal.aborted) resolve("timeout");
      signal.addEventListener("abort", () => resolve("timeout"), { once: true });
    });
    const n = await Promise.race([conn.read(chunk).catch(() => null), timeout]);
    if (n === "timeout") throw new Error("timed out reading from the server");
    if (n === null) {
      closedByPeer = true;
      return false;
    }
    const next = new Uint8Array(buf.length + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.length);
    buf = next;
    return true;
  }

  const hsSignal = AbortSignal.timeout(5000);
  let end = -1;
  while ((end = findHeaderEnd(buf)) < 0) {
    if (!(await fill(hsSignal))) break;
  }
  const response = decoder.decode(buf.subarray(0, end < 0 ? buf.length : end));
  if (!response.startsWith("HTTP/1.1 101")) {
    try {
      conn.close();
    } catch { /* closed */ }
    throw new Error(`handshake refused: ${response.split("\r\n")[0] || "(connection closed)"}`);
  }
  buf = buf.slice(end + 4);

  async function readFrame(timeoutMs = 5000): Promise<RawFrame | undefined> {
    const signal = AbortSignal.timeout(timeoutMs);
    for (;;) {
      const frame = parseFrame(buf);
      if (frame) {
        buf = buf.slice(frame.size);
        return frame.frame;
      }
      if (!(await fill(signal))) return undefined;
    }
  }

  const sock: RawSocket = {
    conn,
    response,
    write: async (bytes) => void await writeAll(conn, bytes),
    sendText: (text, opts) => sock.write(encodeFrame(text, opts)),
    readFrame,
    async until(want, timeoutMs = 5000) {
      const seen: string[] = [];
      for (;;) {
        const f = await readFrame(timeoutMs);
        if (!f) throw new Error(`connection closed before ${want}; got ${JSON.stringify(seen)}`);
        if (f.opcode !== Op.TEXT) continue;
        const text = decoder.decode(f.payload);
        seen.push(text);
        if (typeof want === "string" ? text === want : want.test(text)) return text;
      }
    },
    async closeCode(timeoutMs = 5000) {
      for (;;) {
        const f = await readFrame(timeoutMs);
        if (!f) return undefined;
        if (f.opcode === Op.CLOSE) return f.payload.length >= 2 ? (f.payload[0] << 8) | f.payload[1] : 1005;
      }
    },
    close() {
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  };
  return sock;
}

function findHeaderEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function parseFrame(buf: Uint8Array): { frame: RawFrame; size: number } | undefined {
  if (buf.length < 2) return undefined;
  const fin = (buf[0] & 0x80) !== 0;
  const opcode = buf[0] & 0x0f;
  let len = buf[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = (buf[2] << 8) | buf[3];
    off = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = 0;
    for (let i = 2; i < 10; i++) len = len * 256 + buf[i];
    off = 10;
  }
  if (buf[1] & 0x80) off += 4; // servers never mask, but be safe
  if (buf.length < off + len) return undefined;
  return { frame: { fin, opcode, payload: buf.slice(off, off + len) }, size: off + len };
}

/** Connects over TCP to `port` on 127.0.0.1 and performs the handshake, naming `host` (default: the address used). */
export async function rawConnect(
  port: number,
  headers: Record<string, string> = {},
  path = "/",
  host = `127.0.0.1:${port}`,
): Promise<RawSocket> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  return await rawHandshake(conn, host, headers, path);
}

/**
 * The outcome of an upgrade to `path` naming `host`, with extra `headers`:
 * "101" once the greeting arrived, else the refusal's HTTP status code.
 */
export async function upgradeStatus(
  port: number,
  headers: Record<string, string> = {},
  path = "/",
  host = `127.0.0.1:${port}`,
): Promise<string> {
  try {
    const sock = await rawConnect(port, headers, path, host);
    await sock.until("SYS Send: NICK <name>");
    sock.close();
    return "101";
  } catch (err) {
    return /HTTP\/1\.1 (\d+)/.exec(String(err))?.[1] ?? String(err);
  }
}

/** Reads `conn` until the peer closes it, bounded by `timeoutMs`; closes it and returns the text. */
export async function readToEnd(conn: Deno.Conn, timeoutMs = 5000): Promise<string> {
  const timer = setTimeout(() => conn.close(), timeoutMs);
  let answer = "";
  const buf = new Uint8Array(4096);
  try {
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      answer += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
  return answer;
}

/** An HTTP answer read off a raw socket. */
export interface RawHttpAnswer {
  status: number;
  /** The status line and headers. */
  head: string;
  body: string;
}

/**
 * Sends one HTTP/1.1 GET with `Connection: close` to 127.0.0.1:`port`, with
 * any `Host` (fetch cannot set one) and extra headers, and reads the answer.
 */
export async function rawRequest(
  port: number,
  path: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<RawHttpAnswer> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  await writeAll(conn, encoder.encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n${extra}\r\n`));
  const answer = await readToEnd(conn);
  const split = answer.indexOf("\r\n\r\n");
  const head = split < 0 ? answer : answer.slice(0, split);
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0),
    head,
    body: split < 0 ? "" : answer.slice(split + 4),
  };
}

/** Connects, waits for the greeting and joins as `nick`. */
export async function rawJoin(port: number, nick: string): Promise<RawSocket> {
  const sock = await rawConnect(port);
  await sock.until("SYS Send: NICK <name>");
  await sock.sendText(`NICK ${nick}`);
  await sock.until(`SYS ${nick} joined the chat!`);
  return sock;
}
