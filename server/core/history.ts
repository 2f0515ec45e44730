/**
 * Message history: the store interface (canonical, durable) and the bounded
 * in-memory ring the room replays from.
 *
 * @module
 */
import type { ChatMessage } from "../../protocol/mod.ts";

/**
 * Where public messages are kept. `append` queues; `flush` makes every
 * queued message durable against a process crash before it returns (the
 * server calls it right before any client is sent the message).
 */
export interface MessageStore {
  /** The newest `limit` stored messages, oldest first. */
  load(limit: number): ChatMessage[];
  /** Queues one message for writing. */
  append(message: ChatMessage): void;
  /** Writes what is queued. Never throws; failures are reported, not raised. */
  flush(): void;
  /** Flushes and releases files. */
  close(): void;
}

/** A store that keeps everything in memory (tests, and `--log-dir ""`). */
export function createMemoryStore(initial: ChatMessage[] = []): MessageStore & { messages: ChatMessage[] } {
  const messages = [...initial];
  return {
    messages,
    load: (limit) => (limit > 0 ? messages.slice(-limit) : []),
    append: (m) => void messages.push(m),
    flush: () => {},
    close: () => {},
  };
}

/** A bounded ring of the newest messages, oldest first. */
export interface HistoryRing {
  push(message: ChatMessage): void;
  /** The newest `n` messages (all when `n` is omitted), oldest first. */
  tail(n?: number): ChatMessage[];
  readonly size: number;
  readonly capacity: number;
}

/** Creates a ring holding at most `capacity` messages. */
export function createHistoryRing(capacity: number, initial: ChatMessage[] = []): HistoryRing {
  const items: ChatMessage[] = capacity > 0 ? initial.slice(-capacity) : [];
  return {
    push(message) {
      if (capacity <= 0) return;
      items.push(message);
      if (items.length > capacity) items.shift();
    },
    tail(n = capacity) {
      return n <= 0 ? [] : items.slice(-n);
    },
    get size() {
      return items.length;
    },
    capacity,
  };
}
