/**
 * The RiftChat transport (`--riftchat-port`): plain TCP carrying JSON
 * messages framed by an 8-byte big-endian length prefix (seed 003), spoken
 * by {@linkcode riftchatDialect}, in the same room as everyone else.
 *
 * Writes follow the plain-TCP transport's pattern: frames queued in a task
 * are written as one chunk by an async write loop; a client whose unsent
 * output passes `config.maxOutbound` bytes is disconnected; closing flushes,
 * sends FIN and closes after the client's FIN or a short linger. A length
 * prefix beyond {@linkcode RIFT_MAX_FRAME} is refused without allocating
 * it: the client gets a notice and the connection is closed, because the
 * stream can no longer be framed.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { CloseCode, ERROR_TEXT, HARD_FRAME_CAP, ProtocolError } from "../protocol/mod.ts";
import { createRiftDecoder, riftFrame, riftFrameOfText } from "../protocol/dialects/riftchat.ts";
import type { ServerContext } from "./context.ts";
import type { Dialect } from "./dialect.ts";
import { RIFT_SYSTEM_NAME, riftchatDialect } from "./dialects/riftchat.ts";
import { addressOf } from "./limits.ts";
import { newPeerId, type Peer } from "./peer.ts";
import { TCP_CLOSE_LINGER_MS, TCP_READ_CHUNK } from "./tcp.ts";

const log = getLogger(["wirechat", "riftchat"]);

/** Largest accepted RiftChat message body in bytes (the WebSocket frame cap). */
export const RIFT_MAX_FRAME = HARD_FRAME_CAP;

/** A running RiftChat listener. */
export interface RiftchatListener {
  /** The bound address (port 0 resolves to the real port). */
  readonly addr: Deno.NetAddr;
  /** Stops accepting; open connections are closed by the server's shutdown. */
  close(): Promise<void>;
}

function remoteOf(addr: Deno.Addr): string {
  if (addr.transport !== "tcp") return addr.transport;
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/** Tells a refused client why (a `200` notice) and closes. */
async function refuse(conn: Deno.TcpConn, code: "server_full" | "rate_limited"): Promise<void> {
  const timer = setTimeout(() => conn.close(), TCP_CLOSE_LINGER_MS);
  try {
    const message = { timestamp: Date.now(), username: RIFT_SYSTEM_NAME, message: ERROR_TEXT[code]() };
    await conn.write(riftFrame({ code: 200, message }));
    clearTimeout(timer);
    conn.close();
  } catch {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
  }
}

/** Listens on `hostname:port` for RiftChat clients. */
export function listenRiftchat(ctx: ServerContext, hostname: string, port: number): RiftchatListener {
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  const accepting = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
        log.error("RiftChat accept failed: {error}", { error: String(err) });
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
        log.warn("Refused a RiftChat connection from {remote}: {reason}", { remote, reason: refusal });
        ctx.track(refuse(conn, refusal === "connect_rate" ? "rate_limited" : "server_full"));
        continue;
      }
      ctx.track(serveRiftchatConnection(conn, ctx), remote);
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

/** Serves one RiftChat connection; resolves once the socket is closed and the session has ended. */
export async function serveRiftchatConnection(
  conn: Deno.TcpConn,
  ctx: ServerContext,
  dialect: Dialect = riftchatDialect(),
): Promise<void> {
  const { scheduler, metrics, config } = ctx;
  const remote = remoteOf(conn.remoteAddr);
  try {
    conn.setNoDelay(true);
    conn.setKeepAlive(true);
  } catch { /* best effort */ }

  /** Encoded texts queued in the current task (each may hold several messages joined by `\n`). */
  const pending: string[] = [];
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
      const frames = pending.flatMap((text) => text.split("\n")).map(riftFrameOfText);
      pending.length = 0;
      metrics.inc("wirechat_lines_out_total", frames.length);
      const chunk = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
      let at = 0;
      for (const f of frames) {
        chunk.set(f, at);
        at += f.length;
      }
      chunks.push(chunk);
      unsent += chunk.length;
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
      const text = dialect.encode(event);
      if (text === undefined) return;
      pending.push(text);
      scheduler.mark(outbound);
    },
    close(code, reason) {
      if (closing) return;
      scheduler.flushOne(outbound);
      closing = true;
      log.info("Closing RiftChat {remote}: {code} {reason}", { remote, code, reason });
      session.closed();
      linger = setTimeout(destroy, TCP_CLOSE_LINGER_MS);
      settle();
    },
  };

  const session = ctx.attach(peer);
  dialect.open(session, peer);
  const decoder = createRiftDecoder(RIFT_MAX_FRAME);
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
      if (item.type === "frame") {
        metrics.inc("wirechat_frames_in_total");
        dialect.receive(item.text, session, peer);
      } else if (item.type === "invalid_utf8") {
        metrics.inc("wirechat_errors_total", 1, { code: "invalid_utf8" });
        session.refuse(new ProtocolError("invalid_utf8"));
      } else {
        metrics.inc("wirechat_errors_total", 1, { code: "frame_too_big" });
        log.warn("RiftChat {remote} announced a {length}-byte message; closing", {
          remote,
          length: String(item.length),
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
