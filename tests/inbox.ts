/**
 * The bounded inbox every test client reads from: items arrive with `push`,
 * `next` waits for the next unread one (bounded by a timeout, never polling),
 * `end` records how the connection ended.
 *
 * @module
 */

/** How a connection ended; `code` only over WebSocket. */
export interface EndInfo {
  code?: number;
  reason?: string;
}

/** A client's received items; see the module doc. */
export interface Inbox<T> {
  push(item: T): void;
  end(info: EndInfo): void;
  /** The next unread item; rejects on timeout or when the connection closed first. */
  next(timeoutMs?: number): Promise<T>;
  /** Items received but not yet read with `next`. */
  unread(): T[];
  readonly closed: Promise<EndInfo>;
  readonly isClosed: boolean;
}

/** The last few items, shortened, for error messages. */
function recent<T>(items: T[]): string {
  return JSON.stringify(
    items.slice(-5).map((item) => {
      const text = typeof item === "string" ? item : JSON.stringify(item);
      return text.length > 120 ? `${text.slice(0, 120)}…` : text;
    }),
  );
}

/** Creates an inbox whose `next` waits `defaultWaitMs` unless told otherwise. */
export function createInbox<T>(defaultWaitMs: number): Inbox<T> {
  const items: T[] = [];
  let read = 0;
  let isClosed = false;
  let wake: (() => void) | undefined;
  const closed = Promise.withResolvers<EndInfo>();
  return {
    push(item) {
      items.push(item);
      wake?.();
    },
    end(info) {
      if (isClosed) return;
      isClosed = true;
      closed.resolve(info);
      wake?.();
    },
    async next(timeoutMs = defaultWaitMs) {
      if (read < items.length) return items[read++];
      const signal = AbortSignal.timeout(timeoutMs);
      while (read >= items.length) {
        if (isClosed) throw new Error(`connection closed while waiting; last items ${recent(items)}`);
        if (signal.aborted) throw new Error(`timed out waiting; last items ${recent(items)}`);
        await new Promise<void>((resolve) => {
          const onAbort = () => resolve();
          signal.addEventListener("abort", onAbort, { once: true });
          wake = () => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          };
        });
        wake = undefined;
      }
      return items[read++];
    },
    unread: () => items.slice(read),
    closed: closed.promise,
    get isClosed() {
      return isClosed;
    },
  };
}
