/**
 * One line-level test client over either transport: WebSocket (one line
 * per text frame; `\n`-joined batch frames are split) or plain TCP (`\n`
 * terminated). Every wait is bounded; nothing polls.
 *
 * @module
 */
import { createInbox, type EndInfo } from "./inbox.ts";

/** Default bound for awaiting one line or a close. */
export const LINE_WAIT_MS = 5000;

/** How a connection ended; `code` only over WebSocket. */
export type LineCloseInfo = EndInfo;

/** A line-level client; see the module doc. */
export interface LineClient extends AsyncDisposable {
  readonly transport: "ws" | "tcp";
  /** Sends one line (a terminator is added over TCP); bytes are sent raw (TCP only). */
  send(line: string | Uint8Array): void;
  /** The next unread line; rejects on timeout or when the connection closed first. */
  next(timeoutMs?: number): Promise<string>;
  /** Lines received but not yet read with `next`. */
  unread(): string[];
  /** Resolves once the connection is closed (by either side). */
  readonly closed: Promise<LineCloseInfo>;
  readonly isClosed: boolean;
  /** Closes from the client side without a `QUIT`; resolves once closed. */
  disconnect(): Promise<void>;
  /** TCP only: sends FIN after everything sent so far, and keeps reading until the server closes. */
  finish(): Promise<void>;
}

/** Connects a WebSocket line client to `url`. */
export async function connectWs(url: string, protocols?: string | string[]): Promise<LineClient> {
  const ws = new WebSocket(url, protocols);
  const inbox = createInbox<string>(LINE_WAIT_MS);
  ws.onmessage = (e) => {
    for (const line of String(e.data).split("\n")) inbox.push(line);
  };
  ws.onclose = (e) => inbox.end({ code: e.code, reason: e.reason });
  ws.onerror = () => {};
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.addEventListener("close", () => reject(new Error(`could not connect to ${url}`)));
  });
  const client: LineClient = {
    transport: "ws",
    send(line) {
      if (typeof line !== "string") throw new Error("raw bytes cannot be sent over WebSocket");
      if (ws.readyState === WebSocket.OPEN) ws.send(line);
    },
    next: inbox.next,
    unread: inbox.unread,
    closed: inbox.closed,
    get isClosed() {
      return inbox.isClosed;
    },
    async disconnect() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      await inbox.closed;
    },
    finish() {
      throw new Error("finish (FIN) is TCP only");
    },
    async [Symbol.asyncDispose]() {
      await client.disconnect();
    },
  };
  return client;
}

const encoder = new TextEncoder();

/** Connects a plain-TCP line client to `127.0.0.1:port`. */
export async function connectTcp(port: number, hostname = "127.0.0.1"): Promise<LineClient> {
  const conn = await Deno.connect({ hostname, port, transport: "tcp" });
  const inbox = createInbox<string>(LINE_WAIT_MS);
  let writes: Promise<void> = Promise.resolve();
  let connClosed = false;
  function closeConn() {
    if (connClosed) return;
    connClosed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
  }
  const reading = (async () => {
    const decoder = new TextDecoder();
    const buf = new Uint8Array(16 * 1024);
    let partial = "";
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
      const parts = (partial + decoder.decode(buf.subarray(0, n), { stream: true })).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) inbox.push(line);
    }
    // The server closed (or the client did): answer its FIN with ours.
    await writes;
    closeConn();
    inbox.end({});
  })();
  const client: LineClient = {
    transport: "tcp",
    send(line) {
      const bytes = typeof line === "string" ? encoder.encode(line + "\n") : line;
      writes = writes.then(async () => {
        if (connClosed) return;
        let at = 0;
        try {
          while (at < bytes.length) at += await conn.write(bytes.subarray(at));
        } catch { /* the server closed first */ }
      });
    },
    next: inbox.next,
    unread: inbox.unread,
    closed: inbox.closed,
    get isClosed() {
      return inbox.isClosed;
    },
    async disconnect() {
      await writes;
      closeConn();
      await reading;
    },
    async finish() {
      await writes;
      if (!connClosed) await conn.closeWrite().catch(() => {});
    },
    async [Symbol.asyncDispose]() {
      await client.disconnect();
    },
  };
  return client;
}
