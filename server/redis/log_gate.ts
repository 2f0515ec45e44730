/**
 * The message log in Redis mode: every node writes every public message it
 * applies to its own log folder, before any of its members receives it (the
 * outbound scheduler flushes the log first), so a message anyone received
 * is in at least one daily log even when its sender's node froze or died.
 *
 * Nodes may share one log folder; each message must then be written once.
 * Messages reach every node in the one stream order, each with its stream
 * id, so a position file in the folder (the id of the newest message written
 * there, per room prefix) is enough: a node writes, under an exclusive lock
 * on that file, only the messages after the position, then advances it. A
 * node that finds a message at or before the position skips it: someone
 * wrote it already, synchronously, under the same lock. A failed write does
 * not advance the position, so another node writes the message.
 *
 * @module
 */
import type { ChatMessage } from "../../protocol/mod.ts";
import type { MessageStore } from "../core/history.ts";
import { compareStreamIds } from "./reader.ts";

/** Size of the position record (epoch, stream id, padding); larger ids are not written. */
export const POSITION_RECORD_BYTES = 128;

/** Where a message sits in the room's order: the data epoch and the events stream id. */
export interface LogPosition {
  epoch: string;
  id: string;
}

/** Buffers stream messages and writes each once per log folder; see the module doc. */
export interface LogGate {
  /** Queues a message the node applied, at its position in the order. */
  append(message: ChatMessage, at: LogPosition): void;
  /** Writes the queued messages that nobody sharing the folder wrote yet. */
  flush(): void;
}

/** Options for {@linkcode createLogGate}. */
export interface LogGateOptions {
  /** The log folder (shared or not). */
  dir: string;
  /** The room's key prefix: rooms sharing a folder keep separate positions. */
  prefix: string;
  /** The daily-file store writing into `dir`. */
  store: MessageStore;
  /** Count of the store's failed writes so far (a failure keeps the position). */
  failures: () => number;
  /** Told when the position file cannot be used (the messages are then written anyway). */
  onError?: (error: Error) => void;
}

/** The position file's name for `prefix` (only safe file-name characters). */
export function positionFileName(prefix: string): string {
  return `.wirechat-position-${prefix.replace(/[^A-Za-z0-9_-]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)}`;
}

/** True when `a` comes after `b` in the order (another epoch counts as after: the data was renewed). */
function after(a: LogPosition, b: LogPosition | undefined): boolean {
  return !b || a.epoch !== b.epoch || compareStreamIds(a.id, b.id) > 0;
}

/** Creates the gate; the store is flushed through it. */
export function createLogGate(options: LogGateOptions): LogGate {
  const { store } = options;
  const path = `${options.dir}/${positionFileName(options.prefix)}`;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let pending: { message: ChatMessage; at: LogPosition }[] = [];

  function readPosition(file: Deno.FsFile): LogPosition | undefined {
    const buf = new Uint8Array(POSITION_RECORD_BYTES);
    let n = 0;
    for (;;) {
      const got = file.readSync(buf.subarray(n));
      if (got === null || got === 0) break;
      n += got;
      if (n === buf.length) break;
    }
    const [epoch, id] = decoder.decode(buf.subarray(0, n)).trim().split(" ");
    return epoch && id && /^\d+-\d+$/.test(id) ? { epoch, id } : undefined;
  }

  function writeAll(batch: typeof pending) {
    for (const { message } of batch) store.append(message);
    store.flush();
  }

  return {
    append(message, at) {
      pending.push({ message, at });
    },
    flush() {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      let file: Deno.FsFile;
      try {
        Deno.mkdirSync(options.dir, { recursive: true });
        file = Deno.openSync(path, { read: true, write: true, create: true });
      } catch (err) {
        options.onError?.(err instanceof Error ? err : new Error(String(err)));
        return writeAll(batch);
      }
      try {
        file.lockSync(true);
      } catch (err) {
        file.close();
        options.onError?.(err instanceof Error ? err : new Error(String(err)));
        return writeAll(batch);
      }
      try {
        let position = readPosition(file);
        const fresh = batch.filter((entry) => {
          if (!after(entry.at, position)) return false;
          position = entry.at;
          return true;
        });
        if (fresh.length === 0) return;
        const before = options.failures();
        writeAll(fresh);
        if (options.failures() !== before || !position) return;
        if (position.epoch.length + position.id.length + 2 > POSITION_RECORD_BYTES) return;
        // One fixed-width record rewritten in place: truncating first would make some file systems
        // (ext4's auto_da_alloc) flush to disk on close, a millisecond per flush.
        const bytes = encoder.encode(`${position.epoch} ${position.id}`.padEnd(POSITION_RECORD_BYTES - 1) + "\n");
        file.seekSync(0, Deno.SeekMode.Start);
        let off = 0;
        while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
      } catch (err) {
        options.onError?.(err instanceof Error ? err : new Error(String(err)));
      } finally {
        file.close(); // releases the lock
      }
    },
  };
}
