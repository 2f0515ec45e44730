/**
 * The outbound scheduler and the shared encoders. Peers queue what they have
 * to send and register here; at the end of the current event-loop turn
 * (`setImmediate`: right after the runtime has handed over every inbound
 * frame that had arrived), one flush runs the pre-flush hooks (the message log
 * writes its batch, so a broadcast line is on disk before any client receives
 * it) and then flushes every dirty peer: each peer makes ONE socket write
 * holding everything queued for it in the turn. Nothing waits for more input:
 * no timer, no threshold; a line leaves in the event-loop turn that made it.
 *
 * A broadcast queues the very same line strings on every member, so
 * consecutive peers ask for the same bytes: a {@linkcode SharedEncoder} builds
 * them once and hands the same buffer to every peer holding the same
 * sequence (server WebSocket frames are unmasked, so one frame serves every
 * recipient).
 *
 * @module
 */

/**
 * Most texts queued on peers in one event-loop turn before they are flushed
 * right away instead of at the end of the turn. Thousands of members leaving
 * (or joining) in one turn queue every notice on every remaining member: when
 * 10 000 clients dropped at once the server's memory peaked at 1 150 MiB;
 * with this bound (16 MiB of queue slots) at 434 MiB. Flushing early costs
 * more writes, so the bound sits above what a join storm's turns queue (the
 * 10 000-client join storm took the same CPU with it). Ordinary turns never
 * come near it.
 */
export const MAX_QUEUED_PER_TURN = 2_097_152;

/** Something with queued output. */
export interface Flushable {
  flush(): void;
  /** True while it waits for a flush; kept by the scheduler (declare it `false` so every peer has one shape). */
  pending?: boolean;
}

/** Coalesces output per event-loop turn; see the module doc. */
export interface OutboundScheduler {
  /** Marks `peer` as having queued output. */
  mark(peer: Flushable): void;
  /** Counts one text queued on some peer; at `maxQueued` ({@linkcode MAX_QUEUED_PER_TURN}) in a turn, flushes now. */
  queued(): void;
  /** Adds a hook that runs before peers are flushed (e.g. the log write). */
  beforeFlush(hook: () => void): void;
  /** Adds a hook that runs once every dirty peer has been flushed (encoders drop their per-turn caches). */
  afterFlush(hook: () => void): void;
  /** Runs the hooks and flushes every dirty peer now. */
  flushAll(): void;
  /** Runs the pre-flush hooks and flushes one peer now (used right before a close frame or a pong). */
  flushOne(peer: Flushable): void;
}

/** Runs `fn` at the end of the current event-loop turn. */
export function endOfTurn(fn: () => void): void {
  setImmediate(fn);
}

/** Creates a scheduler; `defer` picks when a flush runs (the end of the event-loop turn by default). */
export function createOutboundScheduler(
  defer: (fn: () => void) => void = endOfTurn,
  maxQueued: number = MAX_QUEUED_PER_TURN,
): OutboundScheduler {
  // The dirty peers, in the order they were marked; a peer's `pending` flag says whether its entry still counts
  // (a peer flushed on its own by flushOne keeps a stale entry, skipped). Two arrays swapped per round: no Set
  // rebuilt and no copy made per turn, which a join storm (every member dirty in every turn) would pay for.
  let dirty: Flushable[] = [];
  let spare: Flushable[] = [];
  const before: (() => void)[] = [];
  const after: (() => void)[] = [];
  let scheduled = false;
  let flushing = false;
  let queuedInTurn = 0;

  function flushAll() {
    scheduled = false;
    if (flushing) return;
    flushing = true;
    queuedInTurn = 0;
    try {
      while (dirty.length > 0) {
        for (const hook of before) hook();
        const batch = dirty;
        dirty = spare;
        let i = 0;
        try {
          for (; i < batch.length; i++) {
            const peer = batch[i];
            if (!peer.pending) continue;
            peer.pending = false;
            peer.flush();
          }
        } finally {
          // After a flush that threw, the peers not reached yet keep their turn: they wait for the next flush.
          for (i++; i < batch.length; i++) if (batch[i].pending) dirty.push(batch[i]);
          batch.length = 0;
          spare = batch;
        }
      }
    } finally {
      flushing = false;
      if (dirty.length > 0 && !scheduled) {
        scheduled = true;
        defer(flushAll);
      }
      for (const hook of after) hook();
    }
  }

  return {
    mark(peer) {
      if (peer.pending) return;
      peer.pending = true;
      dirty.push(peer);
      if (!scheduled) {
        scheduled = true;
        defer(flushAll);
      }
    },
    queued() {
      if (++queuedInTurn >= maxQueued) flushAll();
    },
    beforeFlush(hook) {
      before.push(hook);
    },
    afterFlush(hook) {
      after.push(hook);
    },
    flushAll,
    flushOne(peer) {
      if (!peer.pending) return;
      peer.pending = false;
      for (const hook of before) hook();
      peer.flush();
    },
  };
}

/** Encodes the texts one peer queued in one turn into the bytes of one write. */
export type SharedEncoder = (texts: readonly string[]) => Uint8Array;

/**
 * Wraps `encode` so that consecutive calls with the same sequence of texts
 * return the very same buffer: peers holding the same frames share one
 * buffer, built once however many peers receive it.
 *
 * @example
 * ```ts
 * import { shareEncoding } from "./outbound.ts";
 * let count = 0;
 * const built = () => count; // read through a call: the checks below must not narrow it
 * const encode = shareEncoding((texts) => (count++, new TextEncoder().encode(texts.join("\n"))));
 * const a = encode(["x", "y"]);
 * if (encode(["x", "y"]) !== a || built() !== 1) throw new Error("built once, shared");
 * if (encode(["y"]) === a || built() !== 2) throw new Error("another sequence is another buffer");
 * ```
 */
export function shareEncoding(encode: SharedEncoder): SharedEncoder {
  let lastTexts: string[] = [];
  let last: Uint8Array | undefined;
  return (texts) => {
    if (last !== undefined && texts.length === lastTexts.length) {
      let same = true;
      for (let i = 0; i < texts.length && same; i++) same = texts[i] === lastTexts[i];
      if (same) return last;
    }
    lastTexts = texts.slice();
    last = encode(texts);
    return last;
  };
}
