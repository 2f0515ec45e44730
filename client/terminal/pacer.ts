/**
 * Client-side pacing of outgoing lines, so a long paste or script stays
 * under the server's flood control instead of losing lines to
 * `ERR Rate limit exceeded`.
 *
 * @module
 */
import type { ClientCommand } from "../../protocol/mod.ts";

/** Lines sent at once before pacing starts (well below the server's default burst of 100). */
export const SEND_BURST = 20;
/** Sustained lines per second (below the server's default 10/s). */
export const SEND_LINES_PER_SECOND = 8;

/** Resolves when one more line may be sent. */
export type Pacer = () => Promise<void>;

/**
 * A token bucket: `burst` lines at once, then `perSecond`.
 *
 * @example
 * ```ts
 * import { createPacer } from "./pacer.ts";
 * const take = createPacer(2, 100);
 * await take();
 * await take(); // both immediate; a third would wait about 10 ms
 * ```
 */
export function createPacer(
  burst = SEND_BURST,
  perSecond = SEND_LINES_PER_SECOND,
  now = () => performance.now(),
): Pacer {
  let tokens = burst;
  let last = now();
  return async function take(): Promise<void> {
    for (;;) {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) * perSecond) / 1000);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - tokens) * 1000) / perSecond)));
    }
  };
}

/** An ordered queue of commands sent through a pacer. */
export interface SendQueue {
  /** Queues a command; it is sent in order when the pacer allows. */
  push(cmd: ClientCommand, line: string): void;
  /** Commands waiting. */
  readonly size: number;
  /** Resolves once everything queued so far was sent (or handed back). */
  drained(): Promise<void>;
  /** Drops what is waiting (at quit). */
  clear(): void;
}

/**
 * Creates a paced send queue. `send` returns false when the command could
 * not go out (not connected); `onUnsent` then gets the typed line back, and
 * every command queued after it too, so nothing is lost silently.
 */
export function createSendQueue(
  send: (cmd: ClientCommand) => boolean,
  onUnsent: (line: string) => void,
  pace: Pacer = createPacer(),
): SendQueue {
  let items: { cmd: ClientCommand; line: string }[] = [];
  let draining = false;
  const waiters: (() => void)[] = [];

  async function drain(): Promise<void> {
    draining = true;
    while (items.length) {
      await pace();
      const item = items.shift();
      if (!item) break;
      if (!send(item.cmd)) {
        onUnsent(item.line);
        for (const rest of items.splice(0)) onUnsent(rest.line);
      }
    }
    draining = false;
    for (const w of waiters.splice(0)) w();
  }

  return {
    push(cmd, line) {
      items.push({ cmd, line });
      if (!draining) void drain();
    },
    get size() {
      return items.length;
    },
    drained() {
      if (!draining && items.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    clear() {
      items = [];
    },
  };
}
