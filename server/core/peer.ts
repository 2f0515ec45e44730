/**
 * The one interface the room talks to. WebSocket, TCP, other wire dialects
 * and test peers all implement it; the room never sees a socket.
 *
 * @module
 */
import type { ServerEvent } from "../../protocol/mod.ts";

/** A connected client as the room and the session see it. */
export interface Peer {
  /** Unique per process, for logs and maps. */
  readonly id: number;
  /** Remote address (`host:port`), for logs and per-address limits. */
  readonly remote: string;
  /**
   * The client address a reverse proxy named in the WebSocket upgrade (`X-Real-IP`, else the last
   * `X-Forwarded-For` entry), if any. Only believed from an exempt (proxy) address: see `moderation.ts`.
   */
  readonly forwardedFor?: string;
  /** Transport and dialect name, for logs and metrics (`ws`, `tcp`, …). */
  readonly kind: string;
  /**
   * Queues an event for the client. Never blocks and never throws; a peer
   * whose unsent output passes its bound closes itself.
   */
  send(event: ServerEvent): void;
  /** Sends what is queued, then closes with a WebSocket-style code and reason. */
  close(code: number, reason: string): void;
}

let nextPeerId = 1;

/** A fresh process-unique peer id. */
export function newPeerId(): number {
  return nextPeerId++;
}
