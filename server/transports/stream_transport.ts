/**
 * Byte-stream transports over plain TCP (the line transport and RiftChat):
 * one accept loop and one connection engine, parameterised by a framing.
 *
 * Each connection is a {@linkcode Peer}: what a task queues is encoded into
 * one chunk and written by an async write loop, so a client that reads
 * slowly never blocks the room; a client whose unsent output passes
 * `config.maxOutbound` bytes is disconnected. Closing means: flush what is
 * queued, send FIN, wait briefly for the client's FIN, close the socket (the
 * WebSocket-style close code only goes to the log).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { CloseCode, ProtocolError } from "../../protocol/mod.ts";
import type { ServerContext } from "../core/context.ts";
import type { Dialect } from "../core/dialect.ts";
import type { Dialects } from "../dialects/catalog.ts";
import { addressOf } from "../core/limits.ts";
import { newPeerId, type Peer } from "../core/peer.ts";

const log = getLogger(["wirechat", "tcp"]);

/** Bytes asked for per read. */
export const TCP_READ_CHUNK = 16 * 1024;

/**
 * Longest a closing connection may take to drain its output and see the
 * client's FIN before the socket is closed anyway. Below the server's
 * shutdown grace, so shutdown never waits on a stuck TCP client.
 */
export const TCP_CLOSE_LINGER_MS = 250;

/** One decoded inbound unit, in stream order. */
export type InboundItem =
  /** A whole frame or line for the dialect. */
  | { type: "text"; text: string }
  /** A unit that is not valid UTF-8 (dropped; the stream goes on). */
  | { type: "invalid_utf8" }
  /** A unit beyond the byte bound; the stream cannot be framed any more. */
  | { type: "too_big"; detail?: string };

/** How a stream transport cuts bytes into texts and texts into bytes. */
export interface StreamFraming {
  /** For logs: "TCP", "RiftChat". */
  readonly label: string;
  /** A fresh inbound decoder for one connection. */
  decoder(): { push(chunk: Uint8Array): InboundItem[] };
  /** Encodes the texts one task queued (dialect output) into one chunk; `count` is for metrics. */
  encode(texts: string[]): { bytes: Uint8Array; count: number };
  /** The bytes that tell a refused connection why, before it is closed. */
  refusal(code: "server_full" | "rate_limited"): Uint8Array;
  /** The dialect of its connections, among the server's. */
  dialect(dialects: Dialects): Dialect;
}

/** A running stream listener. */
export interface StreamListener {
  /** The bound address (port 0 resolves to the real port). */
  readonly addr: Deno.NetAddr;
  /** Stops accepting; open connections are closed by the server's shutdown. */
  close(): Promise<void>;
}

function remoteOf(addr: Deno.Addr): string {
  if (addr.transport !== "tcp") return addr.transport;
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/** Answers a refused connection and closes it, bounded by the linger. */
async function refuse(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  const timer = setTimeout(() => conn.close(), TCP_CLOSE_LINGER_MS);
  try {
    await conn.write(bytes);
    clearTimeout(timer);
    conn.close();
  } catch {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** Listens on `hostname:port` and serves every connection with `framing`. */
export function listenStream(
  ctx: ServerContext,
  hostname: string,
  port: number,
  framing: StreamFraming,
): StreamListener {
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
        log.error("{label} accept failed: {error}", { label: framing.label, error: String(err) });
        continue;
      }
      if (ctx.shuttingDown) {
        conn.close();
        continue;
      }
      const remote = remoteOf(conn.remoteAddr);
      const refusal = ctx.admission.check(addressOf(remote), ctx.admission.total());
      if (refusal !== undefined) {
        ctx.metrics.inc("wirechat_connections_refused_total", 1, { reason: refusal });
        log.warn("Refused a {label} connection from {remote}: {reason}", {
          label: framing.label,
          remote,
          reason: refusal,
        });
        ctx.track(refuse(conn, framing.refusal(refusal === "connect_rate" ? "rate_limited" : "server_full")));
        continue;
      }
      ctx.track(serveStreamConnection(conn, ctx, framing), remote);
    }
  })();
  let closed = false;
  return {
    addr: listener.addr,
    async close() {
      if (!closed) {
        closed = true;
        listener.close();
      }
      await accepting;
    },
  };
}

/**
 * Serves one connection with `framing`; resolves once the socket is closed
 * and the session has ended.
 */
export async function serveStreamConnection(
  conn: Deno.TcpConn,
  ctx: ServerContext,
  framing: StreamFraming,
  dialect: Dialect = framing.dialect(ctx.dialects),
): Promise<void> {
  const { scheduler, metrics, config } = ctx;
  const remote = remoteOf(conn.remoteAddr);
  try {
    conn.setNoDelay(true);
    conn.setKeepAlive(true);
  } catch { /* best effort */ }

  /** Dialect output queued in the current task, not yet encoded. */
  const pending: string[] = [];
  /** Encoded chunks waiting for the write loop. */
  const chunks: Uint8Array[] = [];
  let unsent = 0;
  let writing = false;
  let closing = false;
  let finSent = false;
  let readerEnded = false;
  let dead = false;
  let linger: ReturnType<typeof setTimeout> | undefined;
  const done = Promise.withResolvers<void>();

  function destroy() {
    if (dead) return;
    dead = true;
    closing = true;
    clearTimeout(linger);
    chunks.length = 0;
    pending.length = 0;
    unsent = 0;
    try {
      conn.close();
    } catch { /* already closed */ }
    session.closed();
    done.resolve();
  }

  /** Sends FIN once everything is written; closes once the reader is done too. */
  function settle() {
    if (!closing || dead || writing || chunks.length > 0) return;
    if (readerEnded) return destroy();
    if (finSent) return;
    finSent = true;
    conn.closeWrite().catch(() => destroy());
  }

  async function pump() {
    if (writing) return;
    writing = true;
    try {
      while (chunks.length > 0 && !dead) {
        const chunk = chunks[0];
        let at = 0;
        while (at < chunk.length) at += await conn.write(chunk.subarray(at));
        chunks.shift();
        unsent -= chunk.length;
      }
    } catch (err) {
      if (!dead) log.info("Write to {remote} failed: {error}", { remote, error: String(err) });
      writing = false;
      return destroy();
    }
    writing = false;
    settle();
  }

  const outbound = {
    flush() {
      if (pending.length === 0) return;
      if (dead) {
        pending.length = 0;
        return;
      }
      const { bytes, count } = framing.encode(pending);
      metrics.inc("wirechat_lines_out_total", count);
      pending.length = 0;
      chunks.push(bytes);
      unsent += bytes.length;
      if (unsent > config.maxOutbound) {
        log.warn("Disconnecting slow consumer {remote} ({bytes} bytes unsent)", { remote, bytes: unsent });
        metrics.inc("wirechat_slow_consumer_disconnects_total");
        return destroy();
      }
      void pump();
    },
  };

  const peer: Peer = {
    id: newPeerId(),
    remote,
    kind: `tcp/${dialect.name}`,
    send(event) {
      if (closing) return;
      const text = session.encode(event);
      if (text === undefined) return;
      if (pending.push(text) === 1) scheduler.mark(outbound);
    },
    close(code, reason) {
      if (closing) return;
      scheduler.flushOne(outbound);
      closing = true;
      log.info("Closing {label} {remote}: {code} {reason}", { label: framing.label, remote, code, reason });
      // The member leaves now, not when a stalled peer finally drains.
      session.closed();
      linger = setTimeout(destroy, TCP_CLOSE_LINGER_MS);
      settle();
    },
  };

  const session = ctx.attach(peer, dialect);
  session.open();
  const decoder = framing.decoder();
  const buf = new Uint8Array(TCP_READ_CHUNK);

  while (!dead) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch {
      n = null;
    }
    if (n === null) break;
    if (closing) continue; // discard until the client's FIN
    metrics.inc("wirechat_bytes_in_total", n);
    for (const item of decoder.push(buf.subarray(0, n))) {
      if (closing) break;
      if (item.type === "text") {
        metrics.inc("wirechat_frames_in_total");
        session.receive(item.text);
      } else if (item.type === "invalid_utf8") {
        metrics.inc("wirechat_errors_total", 1, { code: "invalid_utf8" });
        session.refuse(new ProtocolError("invalid_utf8"));
      } else {
        metrics.inc("wirechat_errors_total", 1, { code: "frame_too_big" });
        log.warn("{label} {remote} sent a unit over the cap{detail}; closing", {
          label: framing.label,
          remote,
          detail: item.detail ? ` (${item.detail})` : "",
        });
        peer.send({ type: "error", code: "too_large" });
        peer.close(CloseCode.TOO_BIG, "Message too big");
      }
    }
  }
  readerEnded = true;
  if (!closing) peer.close(CloseCode.NORMAL, "Connection closed by client");
  settle();
  await done.promise;
}
