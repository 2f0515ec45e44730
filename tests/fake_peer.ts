/**
 * An in-memory {@linkcode Peer} for room and session unit tests, and a
 * connection core on a fake wire for tests of the outbound queue.
 *
 * @module
 */
import { formatLine } from "../protocol/mod.ts";
import { newPeerId, type Peer } from "../server/core/peer.ts";
import { type ConnectionCore, openConnection, type Wire } from "../server/core/connection.ts";
import type { ServerContext } from "../server/core/context.ts";

/**
 * Opens a connection core of the line dialect on `wire` (remote 127.0.0.3, not exempt from the limits; a close
 * timeout longer than any test) and joins it as `nick`; `onClose` gets the close code the core asks the wire for.
 */
export function joinOnWire(
  ctx: ServerContext,
  nick: string,
  wire: Pick<Wire, "encode" | "write" | "unsent">,
  onClose: (code: number) => void,
): ConnectionCore {
  const conn = openConnection(ctx, {
    remote: "127.0.0.3:1",
    transport: "fake",
    dialect: ctx.dialects.line,
    closeTimeoutMs: 60_000,
    wire: { ...wire, close: (code) => onClose(code), destroy: () => {} },
  });
  conn.open();
  conn.text(`NICK ${nick}`);
  return conn;
}

/** A peer that records every line and its close. */
export interface FakePeer extends Peer {
  lines: string[];
  closedWith?: { code: number; reason: string };
  /** Lines received since the last call. */
  take(): string[];
}

/** Creates a fake peer; `onClose` runs when the server closes it. */
export function fakePeer(onClose?: () => void): FakePeer {
  let read = 0;
  const peer: FakePeer = {
    id: newPeerId(),
    remote: "127.0.0.1:1",
    kind: "fake",
    lines: [],
    send(event) {
      if (!peer.closedWith) peer.lines.push(formatLine(event));
    },
    close(code, reason) {
      if (peer.closedWith) return;
      peer.closedWith = { code, reason };
      onClose?.();
    },
    take() {
      const out = peer.lines.slice(read);
      read = peer.lines.length;
      return out;
    },
  };
  return peer;
}
