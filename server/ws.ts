/**
 * The WebSocket transport: upgrades a request, adapts the socket to a
 * {@linkcode Peer} and feeds frames to a session. One line per text frame,
 * or several lines per frame for clients that offered `wirechat.batch`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  BATCH_SUBPROTOCOL,
  CloseCode,
  formatLine,
  HARD_FRAME_CAP,
  type ServerEvent,
  utf8Length,
} from "../protocol/mod.ts";
import type { ServerContext } from "./context.ts";
import { newPeerId, type Peer } from "./peer.ts";

const log = getLogger(["wirechat", "ws"]);

/** The line for an event, formatted once however many peers receive it. */
const lineCache = new WeakMap<ServerEvent, string>();
export function lineOf(event: ServerEvent): string {
  let line = lineCache.get(event);
  if (line === undefined) {
    line = formatLine(event);
    lineCache.set(event, line);
  }
  return line;
}

/** Subprotocols the client offered, in its order. */
export function offeredProtocols(req: Request): string[] {
  return (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** Upgrades `req` to a chat connection; `remote` is `host:port`. */
export function acceptWebSocket(req: Request, remote: string, ctx: ServerContext): Response {
  const batch = offeredProtocols(req).includes(BATCH_SUBPROTOCOL);
  const { socket, response } = Deno.upgradeWebSocket(req, {
    protocol: batch ? BATCH_SUBPROTOCOL : undefined,
    idleTimeout: ctx.config.idleTimeout,
  });
  const { scheduler, metrics, config } = ctx;
  const queue: string[] = [];
  let closing = false;

  const outbound = {
    flush() {
      if (queue.length === 0) return;
      if (socket.readyState !== WebSocket.OPEN) {
        queue.length = 0;
        return;
      }
      try {
        if (batch) socket.send(queue.length === 1 ? queue[0] : queue.join("\n"));
        else for (const line of queue) socket.send(line);
      } catch (err) {
        log.warn("Send to {remote} failed: {error}", { remote, error: String(err) });
      }
      metrics.inc("wirechat_lines_out_total", queue.length);
      queue.length = 0;
      if (!closing && socket.bufferedAmount > config.maxOutbound) {
        log.warn("Disconnecting slow consumer {remote} ({bytes} bytes unsent)", {
          remote,
          bytes: socket.bufferedAmount,
        });
        metrics.inc("wirechat_slow_consumer_disconnects_total");
        peer.close(CloseCode.POLICY, "Slow consumer");
      }
    },
  };

  const peer: Peer = {
    id: newPeerId(),
    remote,
    kind: batch ? "ws+batch" : "ws",
    send(event) {
      if (closing) return;
      queue.push(lineOf(event));
      scheduler.mark(outbound);
    },
    close(code, reason) {
      if (closing) return;
      scheduler.flushOne(outbound);
      closing = true;
      try {
        socket.close(code, reason);
      } catch { /* already closing */ }
      // The member leaves now, not when a stalled peer finally acknowledges.
      session.closed();
    },
  };

  const session = ctx.attach(peer);
  socket.onopen = () => session.open();
  socket.onmessage = (e) => {
    metrics.inc("wirechat_frames_in_total");
    if (typeof e.data !== "string") {
      metrics.inc("wirechat_errors_total", 1, { code: "binary_frame" });
      return peer.close(CloseCode.UNSUPPORTED, "Binary frames are not supported");
    }
    const data = e.data;
    metrics.inc("wirechat_bytes_in_total", data.length);
    if (data.length > HARD_FRAME_CAP && utf8Length(data) > HARD_FRAME_CAP) {
      metrics.inc("wirechat_errors_total", 1, { code: "frame_too_big" });
      return peer.close(CloseCode.TOO_BIG, "Message too big");
    }
    session.line(data);
  };
  socket.onerror = () => {};
  socket.onclose = () => {
    closing = true;
    queue.length = 0;
    session.closed();
  };
  return response;
}
