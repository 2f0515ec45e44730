/**
 * Byte-stream transports over plain TCP (the line transport and RiftChat):
 * one accept loop and one thin adapter to the connection core
 * (`core/connection.ts`, which holds the outbound queue and the
 * slow-consumer rule for every transport), parameterised by a framing.
 *
 * Closing means: write what is queued, send FIN, wait briefly for the
 * client's FIN, destroy the socket (the WebSocket-style close code only goes
 * to the log).
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import net from "node:net";
import { getLogger } from "@logtape/logtape";
import { CloseCode, ProtocolError } from "../../protocol/mod.ts";
import { openConnection } from "../core/connection.ts";
import type { ServerContext } from "../core/context.ts";
import type { Dialect } from "../core/dialect.ts";
import type { Dialects } from "../dialects/catalog.ts";
import { addressOf } from "../core/limits.ts";
import { type SharedEncoder, shareEncoding } from "../core/outbound.ts";
import { formatRemote } from "./http_listener.ts";

const log = getLogger(["wirechat", "tcp"]);

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
  /** Encodes the texts one turn queued for a peer (dialect output) into one chunk. */
  encode(texts: readonly string[]): Uint8Array;
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

/** Answers a refused connection and closes it, bounded by the linger. */
function refuse(socket: net.Socket, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), TCP_CLOSE_LINGER_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end(bytes, () => socket.destroy());
  });
}

/** Listens on `hostname:port` and serves every connection with `framing`. */
export async function listenStream(
  ctx: ServerContext,
  hostname: string,
  port: number,
  framing: StreamFraming,
): Promise<StreamListener> {
  const encode = shareEncoding(framing.encode);
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on("error", () => {});
    if (ctx.shuttingDown) return void socket.destroy();
    const remote = formatRemote(socket.remoteAddress, socket.remotePort);
    const refusal = ctx.admission.check(addressOf(remote), ctx.admission.total());
    if (refusal !== undefined) {
      ctx.metrics.inc("wirechat_connections_refused_total", 1, { reason: refusal });
      log.warn("Refused a {label} connection from {remote}: {reason}", {
        label: framing.label,
        remote,
        reason: refusal,
      });
      ctx.track(refuse(socket, framing.refusal(refusal === "connect_rate" ? "rate_limited" : "server_full")));
      return;
    }
    ctx.track(serveStreamConnection(socket, ctx, framing, encode), remote);
  });
  const bound = Promise.withResolvers<void>();
  server.once("error", bound.reject);
  server.listen({ port, host: hostname, backlog: ctx.config.listenBacklog }, () => bound.resolve());
  await bound.promise;
  server.off("error", bound.reject);
  const info = server.address() as net.AddressInfo;
  return {
    addr: { transport: "tcp", hostname: info.address, port: info.port },
    close() {
      // Open connections are closed by the server's shutdown (each bounded by the close linger).
      if (server.listening) server.close();
      return Promise.resolve();
    },
  };
}

/**
 * Serves one connection with `framing`; resolves once the socket is closed
 * and the session has ended.
 */
export function serveStreamConnection(
  socket: net.Socket,
  ctx: ServerContext,
  framing: StreamFraming,
  encode: SharedEncoder = shareEncoding(framing.encode),
  dialect: Dialect = framing.dialect(ctx.dialects),
): Promise<void> {
  const { metrics } = ctx;
  const remote = formatRemote(socket.remoteAddress, socket.remotePort);
  socket.setNoDelay(true);
  socket.setKeepAlive(true);
  const done = Promise.withResolvers<void>();
  let readerEnded = false;
  let finSent = false;

  const conn = openConnection(ctx, {
    remote,
    transport: "tcp",
    dialect,
    closeTimeoutMs: TCP_CLOSE_LINGER_MS,
    wire: {
      encode,
      write(bytes) {
        if (!finSent && !socket.destroyed) socket.write(bytes);
      },
      unsent: () => socket.writableLength,
      close() {
        finSent = true;
        // FIN once everything queued is written; the socket is done once the client's FIN came too.
        if (readerEnded) socket.end(() => socket.destroy());
        else socket.end();
      },
      destroy: () => socket.destroy(),
    },
  });
  const decoder = framing.decoder();

  socket.on("data", (chunk: Buffer) => {
    if (finSent) return; // discard until the client's FIN
    metrics.inc("wirechat_bytes_in_total", chunk.length);
    for (const item of decoder.push(chunk)) {
      if (finSent) break;
      if (item.type === "text") conn.text(item.text);
      else if (item.type === "invalid_utf8") conn.refuse(new ProtocolError("invalid_utf8"));
      else {
        metrics.inc("wirechat_errors_total", 1, { code: "frame_too_big" });
        log.warn("{label} {remote} sent a unit over the cap{detail}; closing", {
          label: framing.label,
          remote,
          detail: item.detail ? ` (${item.detail})` : "",
        });
        conn.peer.send({ type: "error", code: "too_large" });
        conn.peer.close(CloseCode.TOO_BIG, "Message too big");
      }
    }
  });
  socket.on("end", () => {
    readerEnded = true;
    if (finSent) socket.destroy();
    else {
      // Complete lines that came before the FIN are handled first (the session serialises them).
      conn.peer.close(CloseCode.NORMAL, "Connection closed by client");
    }
  });
  socket.once("close", () => {
    conn.ended();
    done.resolve();
  });
  conn.open();
  return done.promise;
}
