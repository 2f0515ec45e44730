/**
 * A {@linkcode RoomBus} on Redis, so several Wirechat nodes share one room.
 *
 * - **One total order.** `publish` appends the event to one capped stream
 *   (a Lua script, atomic with the presence bookkeeping); every node reads
 *   that stream with a blocking `XREAD` loop and applies events in stream
 *   order. `publish` resolves once the event has been applied on this node,
 *   like the local bus. Private messages and typing notices travel the same
 *   stream but never enter the history.
 * - **Shared history.** Public messages are also appended to a capped
 *   history stream; `start` returns its tail, read atomically with the
 *   position the reader starts from, so no message is missed or doubled.
 * - **Nicks and presence.** Nick ownership is a key per case-folded nick,
 *   claimed by a script; each node keeps a hash of its members and an
 *   expiring heartbeat. A node that stops beating is reaped by a survivor
 *   (see `redis_presence.ts`).
 * - **Faults.** While Redis is unreachable, commands fail at once with
 *   `ERR Service unavailable: …`; leaves and nick releases that could not be
 *   written wait in an outbox and are written when the link is back.
 *
 * The data model is described in `redis_scripts.ts`.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { type ChatMessage, nickKey, ProtocolError } from "../../protocol/mod.ts";
import type { MemberRef, RoomBus, RoomEvent } from "../core/bus.ts";
import {
  createRedisLink,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_IDLE_TIMEOUT_MS,
  redact,
  unavailable,
} from "./link.ts";
import { DEFAULT_REDIS_NODE_TTL_MS, type Presence, startPresence } from "./presence.ts";
import { READ_BLOCK_MS, startStreamReader, type StreamReader } from "./reader.ts";
import { ALL_NICKS, CLAIM_NICK, PUBLISH, redisKeys, RELEASE_NICK, SNAPSHOT } from "./scripts.ts";

const log = getLogger(["wirechat", "redis"]);

/** Default key prefix. */
export const DEFAULT_REDIS_PREFIX = "wirechat:";
/** Entries kept in the events stream (a node that falls further behind misses events). */
export const EVENTS_STREAM_CAP = 10_000;
/** Least number of public messages kept in the history stream (at least the replay bound). */
export const MIN_HISTORY_CAP = 1000;
/** How long `start` waits for Redis before the server refuses to start. */
export const DEFAULT_REDIS_START_TIMEOUT_MS = 10_000;
/** How long shutdown waits for in-flight Redis writes (leave notices). */
export const CLOSE_WAIT_MS = 1000;
/**
 * Longest wait for a published event to come back through this node's reader
 * (the reply to the command waits for it); a slower round trip answers `ERR`.
 */
export const APPLY_WAIT_MS = 30_000;
/** Pause before retrying outbox writes that failed while the link looked up. */
const OUTBOX_RETRY_MS = 500;

/** Options for {@linkcode createRedisBus}. */
export interface RedisBusOptions {
  /** `redis://host:port`. */
  url: string;
  /** This node's id; random by default. */
  node?: string;
  /** Prefix of every key (several rooms can share one Redis). */
  prefix?: string;
  /** Heartbeat TTL in ms; heartbeats every third of it. */
  nodeTtlMs?: number;
  /** Bound on one Redis command. */
  commandTimeoutMs?: number;
  /** How long `start` waits for the first connection. */
  startTimeoutMs?: number;
  /**
   * Silence after which a connection counts as dead and is reopened (default
   * 15 s, and at least two thirds of the TTL so heartbeats keep it alive).
   */
  idleTimeoutMs?: number;
  /** Told when the link is lost or restored after the first connection. */
  onLinkChange?: (up: boolean) => void;
}

/** The Redis bus: a {@linkcode RoomBus} plus its link state. */
export interface RedisBus extends RoomBus {
  /** True while Redis is reachable (the `wirechat_redis_up` gauge). */
  readonly up: boolean;
}

/** Creates the Redis bus; connects in the background, `start` waits for it. */
export function createRedisBus(options: RedisBusOptions): RedisBus {
  const node = options.node ?? crypto.randomUUID().slice(0, 13);
  const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
  const ttlMs = options.nodeTtlMs ?? DEFAULT_REDIS_NODE_TTL_MS;
  const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  const retryMaxMs = Math.min(1000, Math.max(50, Math.floor(ttlMs / 3)));
  const idleTimeoutMs = options.idleTimeoutMs ??
    Math.max(DEFAULT_REDIS_IDLE_TIMEOUT_MS, Math.ceil((ttlMs * 2) / 3));
  const keys = redisKeys(prefix, node);
  let historyCap = MIN_HISTORY_CAP;
  let reader: StreamReader | undefined;
  let presence: Presence | undefined;
  let closing = false;
  const inflight = new Set<Promise<unknown>>();
  const outbox: { what: string; run: () => Promise<unknown> }[] = [];
  let outboxTimer: ReturnType<typeof setTimeout> | undefined;
  let flushing: Promise<void> | undefined;

  const link = createRedisLink({
    url: options.url,
    commandTimeoutMs,
    retryMaxMs,
    idleTimeoutMs,
    onChange(up) {
      if (up) {
        void presence?.beat().catch(() => {});
        void flushOutbox();
      }
      if (!closing) options.onLinkChange?.(up);
    },
  });

  /** Tracks a write so shutdown can wait for it. */
  function track<T>(p: Promise<T>): Promise<T> {
    inflight.add(p);
    const done = () => inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** Maps any Redis failure to the `unavailable` refusal. */
  function refuse(err: unknown): never {
    if (err instanceof ProtocolError) throw err;
    log.warn("Redis command failed: {error}", { error: err instanceof Error ? err.message : String(err) });
    throw unavailable();
  }

  /** Runs `run` now; if it fails, keeps it and retries once the link allows. Never rejects. */
  function mustHappen(what: string, run: () => Promise<unknown>): Promise<void> {
    return track(run()).then(() => {}, (err) => {
      log.warn("Redis write ({what}) failed, will retry: {error}", { what, error: String(err) });
      outbox.push({ what, run });
      scheduleOutbox();
    });
  }

  function scheduleOutbox() {
    if (outboxTimer !== undefined || closing || !link.up) return;
    outboxTimer = setTimeout(() => {
      outboxTimer = undefined;
      void flushOutbox();
    }, OUTBOX_RETRY_MS);
  }

  async function drainOutbox() {
    try {
      while (outbox.length > 0 && link.up) {
        await track(outbox[0].run());
        outbox.shift();
      }
    } catch (err) {
      log.debug("Outbox write failed: {error}", { error: String(err) });
      scheduleOutbox();
    }
  }

  /** Writes the outbox in order; one drain at a time. */
  function flushOutbox(): Promise<void> {
    if (flushing) return flushing;
    const p = drainOutbox().finally(() => {
      if (flushing === p) flushing = undefined;
    });
    flushing = p;
    return p;
  }

  function publishArgs(event: RoomEvent): { keys: string[]; args: (string | number)[] } {
    const member = event.member;
    let recorded = "";
    let message = "";
    let folded = "";
    let nickKeyName = keys.events;
    if (event.kind === "join") recorded = event.nick;
    if (event.kind === "rename") recorded = event.to;
    if (event.kind === "msg") message = JSON.stringify(event.message);
    if (event.kind === "leave") {
      folded = nickKey(event.nick);
      nickKeyName = keys.nick(folded);
    }
    return {
      keys: [keys.events, keys.history, keys.members, keys.nicks, nickKeyName],
      args: [
        JSON.stringify(event),
        event.kind,
        member.id,
        recorded,
        EVENTS_STREAM_CAP,
        historyCap,
        message,
        node,
        folded,
      ],
    };
  }

  function ownOnly(member: MemberRef) {
    if (member.node !== node) throw new Error(`redis bus: member of node ${member.node} used on node ${node}`);
  }

  async function publishAndWait(event: RoomEvent): Promise<void> {
    const { keys: k, args } = publishArgs(event);
    let id: unknown;
    try {
      id = await track(link.run(PUBLISH, k, args));
    } catch (err) {
      refuse(err);
    }
    if (id === "absent") throw new ProtocolError("unavailable", "you are no longer in the room, please reconnect");
    if (typeof id !== "string" || id === "gone" || !reader) return;
    try {
      await reader.applied(id, APPLY_WAIT_MS);
    } catch (err) {
      refuse(err);
    }
  }

  return {
    node,
    get up() {
      return link.up;
    },
    async start(apply, historyLimit) {
      historyCap = Math.max(MIN_HISTORY_CAP, historyLimit);
      const timeout = options.startTimeoutMs ?? DEFAULT_REDIS_START_TIMEOUT_MS;
      try {
        await link.ready(AbortSignal.timeout(timeout));
      } catch {
        await link.close();
        throw new Error(`Redis at ${redact(options.url)} is unreachable (waited ${timeout} ms)`);
      }
      presence = startPresence({
        link,
        node,
        prefix,
        keys,
        ttlMs,
        graceMs: 2 * retryMaxMs,
        eventsCap: EVENTS_STREAM_CAP,
      });
      await presence.beat();
      const [historyEntries, lastEventId] = await link.run(
        SNAPSHOT,
        [keys.history, keys.events],
        [Math.max(0, historyLimit)],
      ) as [[string, string[]][], string];
      const history: ChatMessage[] = [];
      for (const [, fields] of historyEntries.reverse()) {
        try {
          history.push(JSON.parse(fields[fields.indexOf("m") + 1]) as ChatMessage);
        } catch {
          log.warn("Skipping an unreadable history entry");
        }
      }
      const blockMs = Math.min(READ_BLOCK_MS, Math.floor(idleTimeoutMs / 2));
      reader = startStreamReader(link, keys.events, lastEventId, apply, blockMs);
      log.info("Node {node} joined the shared room ({count} messages of history)", { node, count: history.length });
      return historyLimit > 0 ? history.slice(-historyLimit) : [];
    },
    async claimNick(nick, member) {
      ownOnly(member);
      const key = nickKey(nick);
      const owner = JSON.stringify({ nick, node, id: member.id });
      try {
        return await track(link.run(CLAIM_NICK, [keys.nick(key), keys.nicks], [owner, node, member.id, key])) === 1;
      } catch (err) {
        refuse(err);
      }
    },
    releaseNick(nick, member) {
      ownOnly(member);
      const key = nickKey(nick);
      return mustHappen(
        `release ${nick}`,
        () => link.run(RELEASE_NICK, [keys.nick(key), keys.nicks], [node, member.id, key]),
      );
    },
    async findNick(nick) {
      let raw: string | null;
      try {
        raw = await track(link.call(["GET", keys.nick(nickKey(nick))])) as string | null;
      } catch (err) {
        refuse(err);
      }
      return raw === null ? undefined : (JSON.parse(raw) as { nick: string }).nick;
    },
    async nicks() {
      try {
        return await track(link.run(ALL_NICKS, [keys.nodes], [prefix])) as string[];
      } catch (err) {
        refuse(err);
      }
    },
    publish(event) {
      ownOnly(event.member);
      if (event.kind === "leave") {
        const { keys: k, args } = publishArgs(event);
        return mustHappen(`leave of ${event.nick}`, () => link.run(PUBLISH, k, args));
      }
      if (event.kind === "typing") {
        const { keys: k, args } = publishArgs(event);
        return track(link.run(PUBLISH, k, args)).then(() => {}, () => {});
      }
      if (!link.up) return Promise.reject(unavailable());
      return publishAndWait(event);
    },
    async close() {
      if (closing) return;
      closing = true;
      clearTimeout(outboxTimer);
      const wait = new Promise<void>((resolve) => {
        const t = setTimeout(resolve, CLOSE_WAIT_MS);
        Promise.allSettled([...inflight]).then(() => {
          clearTimeout(t);
          resolve();
        });
      });
      await wait;
      if (link.up && outbox.length > 0) await flushOutbox();
      if (outbox.length > 0) log.warn("{n} Redis writes could not be made before shutdown", { n: outbox.length });
      await presence?.stop();
      const stopped = reader?.stop();
      await link.close();
      await stopped;
    },
  };
}
