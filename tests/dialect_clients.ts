/**
 * Test clients for the other wire dialects, written from the seeds'
 * descriptions and nothing else: raw JSON over a WebSocket (wirechat.json,
 * wschat) and raw TCP with hand-made 8-byte big-endian length prefixes
 * (RiftChat). They share no code with the server's codecs. Every wait is
 * bounded.
 *
 * @module
 */
import { createInbox, type EndInfo } from "./inbox.ts";

export type { EndInfo };

/** Default bound for awaiting one message or a close. */
export const DIALECT_WAIT_MS = 5000;

// deno-lint-ignore no-explicit-any
export type Json = any;

/** A WebSocket client that sends and receives JSON objects, one per text frame. */
export interface JsonWsClient extends AsyncDisposable {
  readonly ws: WebSocket;
  /** Sends an object as JSON, or a raw string / bytes (a binary frame) as is. */
  send(message: Json | string | Uint8Array): void;
  /** The next frame, parsed as JSON. */
  next(timeoutMs?: number): Promise<Json>;
  /** Frames received but not yet read. */
  unread(): Json[];
  readonly closed: Promise<EndInfo>;
  close(): Promise<EndInfo>;
}

/** Opens a WebSocket to `url` offering `protocols`; resolves once open. */
export async function connectJsonWs(url: string, protocols?: string | string[]): Promise<JsonWsClient> {
  const ws = new WebSocket(url, protocols);
  const inbox = createInbox<Json>(DIALECT_WAIT_MS);
  ws.onmessage = (e) => inbox.push(JSON.parse(String(e.data)));
  ws.onclose = (e) => inbox.end({ code: e.code, reason: e.reason });
  ws.onerror = () => {};
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.addEventListener("close", () => reject(new Error(`could not connect to ${url}`)));
  });
  const client: JsonWsClient = {
    ws,
    send(message) {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (typeof message === "string" || message instanceof Uint8Array) ws.send(message);
      else ws.send(JSON.stringify(message));
    },
    next: inbox.next,
    unread: inbox.unread,
    closed: inbox.closed,
    async close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      return await inbox.closed;
    },
    async [Symbol.asyncDispose]() {
      await client.close();
    },
  };
  return client;
}

/** An 8-byte big-endian length prefix followed by `body`. */
export function prefixed(body: Uint8Array, claimedLength: bigint = BigInt(body.length)): Uint8Array {
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, claimedLength, false);
  out.set(body, 8);
  return out;
}

/** A RiftChat message as bytes on the wire. */
export function riftBytes(message: Json | string): Uint8Array {
  const text = typeof message === "string" ? message : JSON.stringify(message);
  return prefixed(new TextEncoder().encode(text));
}

/** A RiftChat client over raw TCP. */
export interface RiftClient extends AsyncDisposable {
  /** Sends one framed message (an object as JSON, or a JSON text as is). */
  send(message: Json | string): Promise<void>;
  /** Sends raw bytes (hand-made frames, partial frames). */
  sendRaw(bytes: Uint8Array): Promise<void>;
  /** The next message, parsed. */
  next(timeoutMs?: number): Promise<Json>;
  unread(): Json[];
  /** Resolves when the server closed the connection (EOF). */
  readonly closed: Promise<EndInfo>;
  /** Closes from the client side; resolves once the reader stopped. */
  close(): Promise<void>;
}

/** Connects to a RiftChat port. */
export async function connectRift(port: number): Promise<RiftClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const inbox = createInbox<Json>(DIALECT_WAIT_MS);
  let pending = new Uint8Array(0);
  let closedByUs = false;
  const reading = (async () => {
    const buf = new Uint8Array(4096);
    for (;;) {
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch {
        n = null;
      }
      if (n === null) break;
      const joined = new Uint8Array(pending.length + n);
      joined.set(pending);
      joined.set(buf.subarray(0, n), pending.length);
      let at = 0;
      while (joined.length - at >= 8) {
        const length = Number(new DataView(joined.buffer, at, 8).getBigUint64(0, false));
        if (joined.length - at - 8 < length) break;
        inbox.push(JSON.parse(new TextDecoder().decode(joined.subarray(at + 8, at + 8 + length))));
        at += 8 + length;
      }
      pending = joined.slice(at);
    }
    inbox.end({});
    if (!closedByUs) {
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  })();
  async function write(bytes: Uint8Array) {
    let at = 0;
    while (at < bytes.length) at += await conn.write(bytes.subarray(at));
  }
  const client: RiftClient = {
    send: (message) => write(riftBytes(message)),
    sendRaw: write,
    next: inbox.next,
    unread: inbox.unread,
    closed: inbox.closed,
    async close() {
      if (!closedByUs) {
        closedByUs = true;
        try {
          conn.close();
        } catch { /* the reader closed it */ }
      }
      await reading;
    },
    async [Symbol.asyncDispose]() {
      await client.close();
    },
  };
  return client;
}
