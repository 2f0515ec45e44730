/**
 * The outbound scheduler. Peers queue what they have to send and register
 * here; at the end of the current event-loop turn (`setImmediate`: right
 * after the runtime has handed over every inbound frame that had arrived),
 * one flush runs the pre-flush hooks (the message log writes its batch, so a
 * broadcast line is on disk before any client receives it) and then flushes
 * every dirty peer. Nothing waits for more input: no timer, no threshold; a
 * line leaves in the event-loop turn that made it.
 *
 * Why the turn and not the microtask after each inbound frame: the runtime
 * delivers the frames of one turn one by one, so a microtask flush sent a
 * batching client ~10 lines per frame at most, where the turn holds ~100 under
 * load (unthrottled fan-out to 1 000 batching clients: 0.65 M → 3.1 M
 * deliveries/s), and one-line clients' p99 fell too (121 → 42 ms at 100 000
 * deliveries/s), since one flush per turn does less bookkeeping than one per
 * frame (docs/PERFORMANCE.md).
 *
 * @module
 */

/**
 * Server memory one pending (written but not yet sent) WebSocket frame costs beyond its payload: Deno keeps a
 * write task per frame. Measured: 8 MiB of unsent 100-byte frames held 90 MiB of RSS.
 */
export const PENDING_FRAME_COST = 1024;

/**
 * How long a peer's output must have stayed unsent (at every flush) before its pending frames are priced with
 * {@linkcode PENDING_FRAME_COST}: a reader catches up within milliseconds after a burst, a stalled one never does.
 */
export const BACKLOG_GRACE_MS = 1000;

/**
 * What a peer's unsent output costs the server: its bytes plus {@linkcode PENDING_FRAME_COST} per pending frame,
 * the frame count estimated from the peer's average frame size. The WebSocket transport prices a backlog (output
 * unsent for {@linkcode BACKLOG_GRACE_MS}) this way against `--max-outbound`, so a client that stopped reading is cut
 * off at about the same memory whether its frames are small or large.
 *
 * @example
 * ```ts
 * import { outboundCharge, PENDING_FRAME_COST } from "./outbound.ts";
 * if (outboundCharge(0, 100) !== 0) throw new Error("nothing unsent costs nothing");
 * if (outboundCharge(100_000, 100) !== 100_000 + 1000 * PENDING_FRAME_COST) throw new Error("small frames");
 * ```
 */
export function outboundCharge(unsentBytes: number, averageFrameBytes: number): number {
  if (unsentBytes <= 0) return 0;
  return unsentBytes + Math.ceil(unsentBytes / Math.max(1, averageFrameBytes)) * PENDING_FRAME_COST;
}

// The lines of the last batch frame built, and the frame: peers flushed in a row usually hold the same lines.
let framedLines: string[] = [];
let framedText = "";

/**
 * The text of one `wirechat.batch` frame: `lines` joined by `\n`. A broadcast queues the very same line strings on
 * every member, so consecutive peers usually ask for the same frame; it is then built once, not once per peer.
 *
 * @example
 * ```ts
 * import { batchFrame } from "./outbound.ts";
 * const lines = ["SYS a joined the chat!", "SYS b joined the chat!"];
 * if (batchFrame(lines) !== "SYS a joined the chat!\nSYS b joined the chat!") throw new Error("joined by \\n");
 * if (batchFrame(["x"]) !== "x") throw new Error("one line is itself");
 * ```
 */
export function batchFrame(lines: readonly string[]): string {
  if (lines.length === 1) return lines[0];
  if (lines.length === framedLines.length) {
    let same = true;
    for (let i = 0; i < lines.length && same; i++) same = lines[i] === framedLines[i];
    if (same) return framedText;
  }
  framedLines = lines.slice();
  framedText = lines.join("\n");
  return framedText;
}

/** Something with queued output. */
export interface Flushable {
  flush(): void;
}

/** Coalesces output per task; see the module doc. */
export interface OutboundScheduler {
  /** Marks `peer` as having queued output. */
  mark(peer: Flushable): void;
  /** Adds a hook that runs before peers are flushed (e.g. the log write). */
  beforeFlush(hook: () => void): void;
  /** Runs the hooks and flushes every dirty peer now. */
  flushAll(): void;
  /** Runs the hooks and flushes one peer now (used right before a close). */
  flushOne(peer: Flushable): void;
}

/** Runs `fn` at the end of the current event-loop turn. */
export function endOfTurn(fn: () => void): void {
  setImmediate(fn);
}

/** Creates a scheduler; `defer` picks when a flush runs (the end of the event-loop turn by default). */
export function createOutboundScheduler(
  defer: (fn: () => void) => void = endOfTurn,
): OutboundScheduler {
  const dirty = new Set<Flushable>();
  const hooks: (() => void)[] = [];
  let scheduled = false;
  let flushing = false;

  function runHooks() {
    for (const hook of hooks) hook();
  }

  function flushAll() {
    scheduled = false;
    if (flushing) return;
    flushing = true;
    try {
      while (dirty.size > 0) {
        runHooks();
        const batch = [...dirty];
        dirty.clear();
        for (const peer of batch) peer.flush();
      }
    } finally {
      flushing = false;
    }
  }

  return {
    mark(peer) {
      dirty.add(peer);
      if (!scheduled) {
        scheduled = true;
        defer(flushAll);
      }
    },
    beforeFlush(hook) {
      hooks.push(hook);
    },
    flushAll,
    flushOne(peer) {
      runHooks();
      dirty.delete(peer);
      peer.flush();
    },
  };
}
