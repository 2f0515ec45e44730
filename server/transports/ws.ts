/**
 * The WebSocket transport: upgrades a request, adapts the socket to a
 * {@linkcode Peer} and feeds frames to a session. One line per text frame,
 * or several lines per frame for clients that offered `wirechat.batch`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { BATCH_SUBPROTOCOL, CloseCode, HARD_FRAME_CAP, utf8Length } from "../../protocol/mod.ts";
import type { ServerContext } from "../core/context.ts";
import type { Dialect } from "../core/dialect.ts";
import type { Dialects } from "../dialects/catalog.ts";
import { JSON_SUBPROTOCOL } from "../../protocol/dialects/json.ts";
import { BACKLOG_GRACE_MS, batchFrame, outboundCharge } from "../core/outbound.ts";
import { newPeerId, type Peer } from "../core/peer.ts";

const log = getLogger(["wirechat", "ws"]);

/** Subprotocols the client offered, in its order. */
export function offeredProtocols(req: Request): string[] {
  return (req.headers.get("sec-websocket-protocol") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** Picks the dialect and the subprotocol to answer for an upgrade request. */
export function negotiate(req: Request, dialects: Dialects): { dialect: Dialect; protocol?: string } {
  const offered = offeredProtocols(req);
  if (offered.includes(JSON_SUBPROTOCOL)) return { dialect: dialects.json, protocol: JSON_SUBPROTOCOL };
  if (offered.includes(BATCH_SUBPROTOCOL)) return { dialect: dialects.batch, protocol: BATCH_SUBPROTOCOL };
  return { dialect: dialects.line };
}

/**
 * Upgrades `req` to a chat connection speaking `dialect`; `remote` is
 * `host:port`.
 */
export function acceptWebSocket(
  req: Request,
  remote: string,
  ctx: ServerContext,
  chosen: { dialect: Dialect; protocol?: string } = negotiate(req, ctx.dialects),
): Response {
  const { dialect, protocol } = chosen;
  const batch = dialect.batch;
  const { socket, response } = Deno.upgradeWebSocket(req, { protocol, idleTimeout: ctx.config.idleTimeout });
  const { scheduler, metrics, config } = ctx;
  const queue: string[] = [];
  // Frames and bytes sent so far: the average frame size prices pending frames (see outboundCharge).
  let framesOut = 0, bytesOut = 0;
  // Since when this peer has had output unsent at every flush (-1: it drained).
  let backlogSince = -1;
  let closing = false;

  const outbound = {
    flush() {
      if (queue.length === 0) return;
      if (socket.readyState !== WebSocket.OPEN) {
        queue.length = 0;
        return;
      }
      const unsentBefore = socket.bufferedAmount;
      try {
        if (batch) socket.send(batchFrame(queue));
        else for (const line of queue) socket.send(line);
      } catch (err) {
        log.warn("Send to {remote} failed: {error}", { remote, error: String(err) });
      }
      metrics.inc("wirechat_lines_out_total", queue.length);
      // bufferedAmount grows by the UTF-8 bytes just queued (it only shrinks in a later task).
      const unsent = socket.bufferedAmount; // one op call, not two
      metrics.inc("wirechat_bytes_out_total", unsent - unsentBefore);
      framesOut += batch ? 1 : queue.length;
      bytesOut += unsent - unsentBefore;
      queue.length = 0;
      // Output that stayed unsent for BACKLOG_GRACE_MS is a backlog and priced per frame; until then it counts its
      // bytes, so a burst (a join storm, many messages in one event-loop turn) to a client that reads is not one.
      if (unsentBefore === 0) backlogSince = -1;
      else if (backlogSince < 0) backlogSince = performance.now();
      const backlog = backlogSince >= 0 && performance.now() - backlogSince > BACKLOG_GRACE_MS;
      const charge = backlog ? outboundCharge(unsentBefore, bytesOut / framesOut) + (unsent - unsentBefore) : unsent;
      if (!closing && charge > config.maxOutbound) {
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
    kind: `ws/${dialect.name}`,
    send(event) {
      if (closing) return;
      const frame = session.encode(event);
      if (frame === undefined) return;
      // A non-empty queue is already marked dirty (every flush empties it): mark once per task.
      if (queue.push(frame) === 1) scheduler.mark(outbound);
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

  const session = ctx.attach(peer, dialect);
  ctx.track(new Promise((resolve) => socket.addEventListener("close", () => resolve(), { once: true })), remote);
  socket.onopen = () => session.open();
  socket.onmessage = (e) => {
    metrics.inc("wirechat_frames_in_total");
    if (typeof e.data !== "string") {
      metrics.inc("wirechat_errors_total", 1, { code: "binary_frame" });
      return session.binary();
    }
    const data = e.data;
    metrics.inc("wirechat_bytes_in_total", data.length);
    if (data.length > HARD_FRAME_CAP && utf8Length(data) > HARD_FRAME_CAP) {
      metrics.inc("wirechat_errors_total", 1, { code: "frame_too_big" });
      return peer.close(CloseCode.TOO_BIG, "Message too big");
    }
    session.receive(data);
  };
  socket.onerror = () => {};
  socket.onclose = () => {
    closing = true;
    queue.length = 0;
    session.closed();
  };
  return response;
}
