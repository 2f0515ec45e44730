/**
 * An in-memory {@linkcode Peer} for room and session unit tests.
 *
 * @module
 */
import { formatLine } from "../protocol/mod.ts";
import { newPeerId, type Peer } from "../server/core/peer.ts";

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
