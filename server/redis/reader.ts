/**
 * The stream reader: one blocking `XREAD` loop on its own connection that
 * hands every event of the room's stream to `apply`, strictly in stream
 * order, and lets a publisher wait until its own event has been applied on
 * this node (so a `NICK` reply comes after the member is in the room, as
 * with the local bus).
 *
 * The reader can be moved to another stream (`switchTo`: the room's data
 * was lost and the events stream of the new epoch starts afresh); each read
 * also watches the node's wake stream, so a blocked read is interrupted at
 * once by an entry there instead of waiting out its block.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RoomEvent } from "../core/bus.ts";
import type { RedisLink } from "./link.ts";

const log = getLogger(["wirechat", "redis"]);

/** Entries fetched per `XREAD`. */
export const READ_BATCH = 512;
/** How long one `XREAD` blocks before it is issued again. */
export const READ_BLOCK_MS = 5000;
/** Pause after a failed read before the next attempt. */
const READ_RETRY_MS = 50;

/**
 * Compares two stream ids (`<ms>-<seq>`): negative, zero or positive.
 *
 * @example
 * ```ts
 * import { compareStreamIds } from "./reader.ts";
 * if (compareStreamIds("10-0", "9-5") <= 0) throw new Error("ids compare as numbers");
 * ```
 */
export function compareStreamIds(a: string, b: string): number {
  const [am, as = "0"] = a.split("-");
  const [bm, bs = "0"] = b.split("-");
  const d = BigInt(am) - BigInt(bm);
  if (d !== 0n) return d < 0n ? -1 : 1;
  const e = BigInt(as) - BigInt(bs);
  return e === 0n ? 0 : e < 0n ? -1 : 1;
}

/** A running reader. */
export interface StreamReader {
  /** Resolves once the event with stream id `id` has been applied here; rejects after `timeoutMs`. */
  applied(id: string, timeoutMs: number): Promise<void>;
  /** The id of the last applied entry. */
  readonly lastId: string;
  /**
   * Reads `key` from `fromId` on; events still awaited on the old stream
   * are lost with it (their waiters reject). Add an entry to the wake
   * stream afterwards to interrupt a blocked read.
   */
  switchTo(key: string, fromId: string): void;
  /** Stops the loop; call it before closing the link, which interrupts a blocked read. */
  stop(): Promise<void>;
}

type Entry = [id: string, fields: string[]];

/**
 * Starts reading `key` after `fromId`; one read blocks at most `blockMs`.
 * `wakeKey` is a stream whose new entries only interrupt the read.
 */
export function startStreamReader(
  link: RedisLink,
  key: string,
  fromId: string,
  apply: (event: RoomEvent, id: string) => void,
  blockMs: number = READ_BLOCK_MS,
  wakeKey?: string,
): StreamReader {
  let lastId = fromId;
  /** The newest wake entry seen (the first read may return an old one once). */
  let lastWake = "0-0";
  let stopped = false;
  const stopSignal = new AbortController();
  const waiters = new Set<{ id: string; resolve: () => void; reject: (err: Error) => void }>();

  function deliver(entries: Entry[]) {
    for (const [id, fields] of entries) {
      lastId = id;
      const raw = fields[fields.indexOf("e") + 1];
      try {
        apply(JSON.parse(raw) as RoomEvent, id);
      } catch (err) {
        log.error("Could not apply stream entry {id}: {error}", { id, error: String(err) });
      }
    }
    for (const w of waiters) {
      if (compareStreamIds(w.id, lastId) <= 0) {
        waiters.delete(w);
        w.resolve();
      }
    }
  }

  const loop = (async () => {
    while (!stopped) {
      try {
        if (!link.up) await link.ready(stopSignal.signal);
        const reading = key;
        const streams = wakeKey ? [reading, wakeKey, lastId, lastWake] : [reading, lastId];
        const res = await link.read(["XREAD", "COUNT", READ_BATCH, "BLOCK", blockMs, "STREAMS", ...streams]) as
          | [string, Entry[]][]
          | null;
        for (const [name, entries] of res ?? []) {
          // Not "$": a wake added while this read was on its way must still end the next read.
          if (name === wakeKey && entries.length > 0) lastWake = entries[entries.length - 1][0];
          // A result from a stream the reader has since left belongs to the lost data.
          else if (name === key && reading === key) deliver(entries);
        }
      } catch (err) {
        if (stopped) break;
        log.debug("Stream read interrupted: {error}", { error: String(err) });
        // Pause (on a timer, so connection events get their turn), then wait for the link.
        await new Promise((r) => setTimeout(r, READ_RETRY_MS));
      }
    }
  })();

  return {
    applied(id, timeoutMs) {
      if (compareStreamIds(id, lastId) <= 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`event ${id} not read back within ${timeoutMs} ms`));
        }, timeoutMs);
        const w = {
          id,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
          reject: (err: Error) => {
            clearTimeout(timer);
            reject(err);
          },
        };
        waiters.add(w);
      });
    },
    get lastId() {
      return lastId;
    },
    switchTo(newKey, newFromId) {
      key = newKey;
      lastId = newFromId;
      for (const w of waiters) w.reject(new Error("the event was lost with the room's data"));
      waiters.clear();
    },
    async stop() {
      stopped = true;
      stopSignal.abort();
      await loop;
    },
  };
}
