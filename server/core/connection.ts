/**
 * The connection core, the same for every transport (WebSocket, plain TCP,
 * RiftChat): the {@linkcode Peer} the room talks to, the outbound queue, the
 * backlog meter and the one slow-consumer rule, the close sequence, and the
 * hand-over of inbound texts to the dialect and the session. A transport is a
 * thin {@linkcode Wire} around its socket: encode (shared), write, count the
 * unsent bytes, close, destroy.
 *
 * Outbound: what a peer is sent during an event-loop turn is queued as
 * dialect texts; at the end of the turn (see `outbound.ts`) they are encoded
 * into one buffer — shared with every peer holding the same texts — and
 * written with one socket write.
 *
 * The slow-consumer rule (issue 17 finding 2): a peer is slow when its
 * unsent bytes stay above `--max-outbound` for {@linkcode SLOW_CONSUMER_GRACE_MS}
 * — checked at every flush and once more when the grace ends — not when one
 * turn queued more than the bound: a reader that reads drains a burst within
 * milliseconds. Replays (`replay_start` … `replay_end`) are not charged while
 * they drain, so a joiner that reads is never cut by a long history (one
 * replay at a time: a `HISTORY` asked for while an earlier replay is still
 * unsent is charged like any output). Above
 * {@linkcode OUTBOUND_CEILING_FACTOR} × `--max-outbound` a peer is cut at once
 * (the memory a stalled reader can hold is bounded whatever the traffic).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { CloseCode, type ProtocolError, type ServerEvent } from "../../protocol/mod.ts";
import type { ServerContext } from "./context.ts";
import type { Dialect } from "./dialect.ts";
import type { Flushable, SharedEncoder } from "./outbound.ts";
import { newPeerId, type Peer } from "./peer.ts";
import type { Session } from "./session.ts";

const log = getLogger(["wirechat", "connection"]);

/**
 * How long a peer's unsent output may stay above `--max-outbound` before it
 * is disconnected as a slow consumer (close 1008).
 */
export const SLOW_CONSUMER_GRACE_MS = 3000;

/**
 * Unsent output beyond this many times `--max-outbound` disconnects a peer at
 * once, grace or not: it bounds the memory one stalled reader can hold.
 */
export const OUTBOUND_CEILING_FACTOR = 16;

/**
 * Default seconds a closing connection may take to complete its close (the
 * client's close frame, its FIN) before the socket is destroyed: a client that
 * never answers holds its `--max-clients` slot no longer than this.
 */
export const DEFAULT_CLOSE_TIMEOUT = 5;

/** A transport's socket as the core sees it. */
export interface Wire {
  /** Encodes the texts one turn queued for this peer (a shared encoder: same texts, same buffer). */
  readonly encode: SharedEncoder;
  /** Writes bytes now; never blocks (the socket buffers what the kernel does not take). */
  write(bytes: Uint8Array): void;
  /** Bytes written but not yet handed to the kernel. */
  unsent(): number;
  /** Starts the transport's close (a close frame, a FIN) once everything queued is written. */
  close(code: number, reason: string): void;
  /** Drops the connection now. */
  destroy(): void;
}

/** Options for {@linkcode openConnection}. */
export interface ConnectionOptions {
  /** `host:port` of the client. */
  remote: string;
  /** For logs and metrics: `ws`, `tcp`, `riftchat` (the dialect name is appended). */
  transport: string;
  dialect: Dialect;
  wire: Wire;
  /** Milliseconds a close may take (close handshake, FIN) before the socket is destroyed. */
  closeTimeoutMs: number;
  /** The WebSocket subprotocols the client offered (`wirechat.cap.*` offers declare capabilities). */
  protocols?: readonly string[];
  /** The client address a reverse proxy named in the upgrade request (see {@linkcode Peer.forwardedFor}). */
  forwardedFor?: string;
}

/** What a transport drives. */
export interface ConnectionCore {
  readonly peer: Peer;
  readonly session: Session;
  /** Sends the greeting (or whatever the dialect does on open). */
  open(): void;
  /** One inbound text (a frame, a line). */
  text(text: string): void;
  /** One inbound binary frame. */
  binary(): void;
  /** Something the transport found wrong in one inbound unit (not valid UTF-8…); rate limited like a line. */
  refuse(error: ProtocolError): void;
  /** Writes what is queued now (before a control frame that must come after it). */
  flushNow(): void;
  /**
   * Meters what the transport wrote on its own (a pong): a client that floods
   * pings and never reads is a slow consumer like any other.
   */
  wrote(): void;
  /** The socket is gone (closed by either side); idempotent. */
  ended(): void;
}

/** Creates the core of one connection and registers its session with `ctx`. */
export function openConnection(ctx: ServerContext, options: ConnectionOptions): ConnectionCore {
  return new Connection(ctx, options);
}

/**
 * One connection: its core, its {@linkcode Peer} and its outbound queue
 * ({@linkcode Flushable}) in one object. A class rather than closures: an
 * idle member costs the server one object with its fields.
 */
class Connection implements ConnectionCore, Peer, Flushable {
  readonly id: number = newPeerId();
  readonly remote: string;
  readonly forwardedFor: string | undefined;
  readonly kind: string;
  readonly session: Session;
  /** Kept by the outbound scheduler. */
  pending = false;
  readonly #ctx: ServerContext;
  readonly #wire: Wire;
  readonly #closeTimeoutMs: number;
  readonly #queue: string[] = [];
  /** UTF-16 units of the texts queued since the last flush. */
  #queuedUnits = 0;
  #replaying = false;
  #queuedReplay = false;
  /** Unsent bytes that belong to a replay still draining: not charged. */
  #exempt = 0;
  /** Since when the charge has been above the bound at every check (-1: it is not). */
  #overSince = -1;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #closing = false;
  /** Cut as a slow consumer; the close follows in a microtask. */
  #cutting = false;
  #gone = false;

  constructor(ctx: ServerContext, options: ConnectionOptions) {
    this.#ctx = ctx;
    this.#wire = options.wire;
    this.#closeTimeoutMs = options.closeTimeoutMs;
    this.remote = options.remote;
    this.forwardedFor = options.forwardedFor;
    this.kind = `${options.transport}/${options.dialect.name}`;
    this.session = ctx.attach(this, options.dialect, options.protocols);
  }

  get peer(): Peer {
    return this;
  }

  #charge(): number {
    const unsent = this.#wire.unsent();
    if (this.#exempt > unsent) this.#exempt = unsent; // the socket sends in order: a drained replay is no longer exempt
    return unsent - this.#exempt;
  }

  /**
   * Cuts a slow consumer once the code running now has finished: a flush can run in the middle of a broadcast
   * (`MAX_QUEUED_PER_TURN`), and a leave announced from there would reach the members not yet served before the
   * line being broadcast, and the others after it.
   */
  #cut(unsent: number) {
    if (this.#cutting) return;
    this.#cutting = true;
    log.warn("Disconnecting slow consumer {remote} ({bytes} bytes unsent)", { remote: this.remote, bytes: unsent });
    this.#ctx.metrics.inc("wirechat_slow_consumer_disconnects_total");
    queueMicrotask(() => this.close(CloseCode.POLICY, "Slow consumer"));
  }

  #meter() {
    if (this.#closing) return;
    const owed = this.#charge();
    const maxOutbound = this.#ctx.config.maxOutbound;
    if (owed <= maxOutbound) {
      this.#overSince = -1;
      clearTimeout(this.#graceTimer);
      this.#graceTimer = undefined;
      return;
    }
    if (owed > maxOutbound * OUTBOUND_CEILING_FACTOR) return this.#cut(owed);
    const now = performance.now();
    if (this.#overSince < 0) {
      this.#overSince = now;
      this.#graceTimer = setTimeout(() => this.#meter(), SLOW_CONSUMER_GRACE_MS);
    } else if (now - this.#overSince >= SLOW_CONSUMER_GRACE_MS) this.#cut(owed);
  }

  /** Writes what the turn queued: one buffer (shared with the peers that got the same texts), one write. */
  flush(): void {
    const queue = this.#queue;
    if (queue.length === 0) return;
    this.#queuedUnits = 0;
    if (this.#gone || this.#closing) {
      queue.length = 0;
      return;
    }
    const bytes = this.#wire.encode(queue);
    const { metrics } = this.#ctx;
    metrics.inc("wirechat_lines_out_total", queue.length);
    metrics.inc("wirechat_bytes_out_total", bytes.length);
    queue.length = 0;
    this.#wire.write(bytes);
    if (this.#queuedReplay) {
      this.#exempt += bytes.length;
      this.#queuedReplay = this.#replaying;
    }
    this.#meter();
  }

  send(event: ServerEvent): void {
    if (this.#closing || this.#cutting) return;
    const { scheduler } = this.#ctx;
    if (event.type === "replay_start") {
      // One replay at a time drains uncharged: one asked for (HISTORY) while an earlier one is still unsent is
      // charged, or a client that never reads could pile up replays without bound. An earlier replay queued in
      // this turn is written first, on its own, so that only its bytes are exempt.
      if (this.#queuedReplay) scheduler.flushOne(this);
      this.#charge(); // settles `exempt` against what the socket still holds
      this.#replaying = true;
      this.#queuedReplay = this.#exempt === 0;
    } else if (event.type === "replay_end") this.#replaying = false;
    const text = this.session.encode(event);
    if (text === undefined) return;
    const units = this.#queuedUnits += text.length;
    // A non-empty queue is already marked dirty (every flush empties it): mark once per turn.
    if (this.#queue.push(text) === 1) scheduler.mark(this);
    scheduler.queued();
    // A turn's replies can be far larger than what asked for them (100 HISTORY lines in one read): past
    // `--max-outbound` queued, write now, so the meter sees them and a stalled reader is cut near the ceiling.
    if (units > this.#ctx.config.maxOutbound) scheduler.flushOne(this);
  }

  close(code: number, reason: string): void {
    if (this.#closing || this.#gone) return;
    this.#ctx.scheduler.flushOne(this);
    this.#closing = true;
    clearTimeout(this.#graceTimer);
    log.info("Closing {kind} {remote}: {code} {reason}", { kind: this.kind, remote: this.remote, code, reason });
    this.#closeTimer = setTimeout(() => {
      this.#ctx.metrics.inc("wirechat_close_timeouts_total");
      log.info("Close of {remote} timed out; dropping the connection", { remote: this.remote });
      this.#wire.destroy();
    }, this.#closeTimeoutMs);
    this.#wire.close(code, reason);
    // The member leaves now, not when a stalled peer finally acknowledges.
    this.session.closed();
  }

  open(): void {
    this.session.open();
  }

  text(text: string): void {
    if (this.#closing) return;
    this.#ctx.metrics.inc("wirechat_frames_in_total");
    this.session.receive(text);
  }

  binary(): void {
    if (this.#closing) return;
    this.#ctx.metrics.inc("wirechat_frames_in_total");
    this.#ctx.metrics.inc("wirechat_errors_total", 1, { code: "binary_frame" });
    this.session.binary();
  }

  refuse(error: ProtocolError): void {
    if (this.#closing) return;
    this.#ctx.metrics.inc("wirechat_errors_total", 1, { code: error.code });
    this.session.refuse(error);
  }

  flushNow(): void {
    this.#ctx.scheduler.flushOne(this);
  }

  wrote(): void {
    this.#meter();
  }

  ended(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#closing = true;
    clearTimeout(this.#graceTimer);
    clearTimeout(this.#closeTimer);
    this.#queue.length = 0;
    this.session.closed();
  }
}
