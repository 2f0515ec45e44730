/**
 * A {@linkcode RoomBus} on Redis, so several Wirechat nodes share one room.
 *
 * - **One total order.** `publish` appends the event to one capped stream
 *   (a Lua script, atomic with the presence bookkeeping); every node reads
 *   that stream with a blocking `XREAD` loop and applies events in stream
 *   order. `publish` resolves once the event has been applied on this node,
 *   like the local bus.
 * - **Nothing private is kept.** Private messages and typing notices go out
 *   on a Pub/Sub channel (from the same script that checks the sender is
 *   present), never into a stream or key; the sending node applies its own
 *   at once, the others as they receive them.
 * - **Shared history.** Public messages are also appended to a capped
 *   history stream; `start` returns its tail, read atomically with the
 *   position the reader starts from, so no message is missed or doubled.
 * - **Nicks and presence.** Nick ownership is a key per case-folded nick,
 *   claimed by a script; each node keeps a hash of its members and an
 *   expiring heartbeat. A node that stops beating is reaped by a survivor
 *   (see `presence.ts`).
 * - **Faults.** While Redis is unreachable, commands fail at once with
 *   `ERR Service unavailable: …`; leaves and nick releases that could not be
 *   written wait in an outbox and are written when the link is back.
 * - **Data loss.** When Redis comes back empty (FLUSHALL, a restart without
 *   persistence), every script answers `lost` (the epoch key is gone or
 *   new); the node then restores itself in one script: its members, their
 *   nicks (a nick taken meanwhile: the member is renamed to a free variant
 *   and told, or dropped), the history from its ring when the history
 *   is empty, and what it kept (`keep`: bans) that has not expired. It checks on every heartbeat, on reconnecting, on any `lost`
 *   answer, and when another node announces a new epoch on the channel.
 *
 * The data model is described in `scripts.ts`.
 *
 * @module
 */
import { StartupError } from "../ops/startup_error.ts";
import { getLogger } from "@logtape/logtape";
import { type ChatMessage, MAX_NICK_LENGTH, nickKey, ProtocolError, validateNick } from "../../protocol/mod.ts";
import { type KeptValue, MAX_KEPT, type MemberRef, type RoomBus, type RoomEvent } from "../core/bus.ts";
import { createHistoryRing } from "../core/history.ts";
import {
  createRedisLink,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_IDLE_TIMEOUT_MS,
  redact,
  unavailable,
} from "./link.ts";
import { DEFAULT_REDIS_NODE_TTL_MS, type Presence, startPresence } from "./presence.ts";
import type { LogPosition } from "./log_gate.ts";
import { READ_BLOCK_MS, startStreamReader, type StreamReader } from "./reader.ts";
import {
  ALL_NICKS,
  CLAIM_NICK,
  KEPT_VALUE,
  type LuaScript,
  PUBLISH,
  redisKeys,
  RELEASE_NICK,
  RESTORE,
  SNAPSHOT,
} from "./scripts.ts";

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
/** Variants tried for a member whose nick was taken while Redis had lost its data. */
export const RESTORE_NICK_VARIANTS = 20;
/** Event kinds that are never stored: they go out on the Pub/Sub channel. Any other kind enters the stream. */
const EPHEMERAL: ReadonlySet<string> = new Set(["pm", "typing"]);

/**
 * Free-variant candidates for `nick`: `nick_2`, `nick_3`, … cut to the nick
 * length limit.
 *
 * @example
 * ```ts
 * import { nickVariants } from "./bus.ts";
 * if (nickVariants("alice", 2).join() !== "alice_2,alice_3") throw new Error();
 * ```
 */
export function nickVariants(nick: string, count = RESTORE_NICK_VARIANTS): string[] {
  const out: string[] = [];
  for (let n = 2; out.length < count && n < count + 2; n++) {
    const suffix = `_${n}`;
    const v = [...nick].slice(0, MAX_NICK_LENGTH - suffix.length).join("") + suffix;
    if (validateNick(v) === v) out.push(v);
  }
  return out;
}

/** What a node's restore after a Redis data loss did. */
export interface RestoreReport {
  /** Members renamed because their nick was taken meanwhile (peer ids on this node). */
  renamed: { id: number; from: string; to: string }[];
  /** Members dropped because no variant of their nick was free. */
  dropped: { id: number; nick: string }[];
  /** Messages this node re-seeded into the shared history (0 when another node did). */
  seeded: number;
}

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
  /**
   * Told when the link is lost or restored after the first connection;
   * `restored` is true when Redis had come back empty and this node restored it.
   */
  onLinkChange?: (up: boolean, restored: boolean) => void;
  /** Told after this node restored its members following a Redis data loss. */
  onRestored?: (report: RestoreReport) => void;
  /**
   * Told of every public message this node applies, with its place in the
   * order, before the room delivers it (the message log; see `log_gate.ts`).
   */
  onMessage?: (message: ChatMessage, at: LogPosition) => void;
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

  // What this node must be able to restore after a data loss, kept from the events it applied.
  /** The room's data generation this node works in (see `scripts.ts`). */
  let epoch = "";
  /** This node's joined members as the room order has them: peer id → nick. */
  const local = new Map<number, string>();
  /** Nicks claimed by this node's peers (joined or joining): peer id → folded nick → nick. */
  const claims = new Map<number, Map<string, string>>();
  /** The newest public messages, as the replay ring has them. */
  let ring = createHistoryRing(0);
  let replayLimit = 0;
  let roomApply: ((event: RoomEvent) => void) | undefined;
  let restoring: Promise<boolean> | undefined;
  /** What this node kept (`keep`), with its monotonic expiry, to keep again after a data loss. */
  const keptHere = new Map<string, { value: string; until: number }>();

  const link = createRedisLink({
    url: options.url,
    commandTimeoutMs,
    retryMaxMs,
    idleTimeoutMs,
    subscription: { channel: keys.channel, onMessage: received },
    onChange(up) {
      if (!up) {
        if (!closing) options.onLinkChange?.(false, false);
        return;
      }
      // Check the epoch before saying the link is back: Redis may have come back empty.
      void (async () => {
        let restored = false;
        try {
          restored = (await presence?.beat()) ?? false;
        } catch (err) {
          log.debug("Heartbeat after reconnecting failed: {error}", { error: String(err) });
        }
        void flushOutbox();
        if (!closing) options.onLinkChange?.(true, restored);
      })();
    },
  });

  /** Applies an event on this node (`id`: its place in the events stream), keeping the state a restore needs. */
  function applyEvent(event: RoomEvent, id?: string) {
    if (event.member?.node === node) {
      const peer = event.member.id;
      if (event.kind === "join") local.set(peer, event.nick);
      if (event.kind === "rename") local.set(peer, event.to);
      if (event.kind === "leave") {
        local.delete(peer);
        claims.get(peer)?.delete(nickKey(event.nick));
      }
    }
    if (event.kind === "msg") {
      if (id !== undefined) options.onMessage?.(event.message, { epoch, id });
      ring.push(event.message);
    }
    roomApply?.(event);
  }

  /** A message on the Pub/Sub channel: another node's ephemeral event, or a new-epoch announcement. */
  function received(raw: string) {
    let message: RoomEvent | { control: string; node?: string };
    try {
      message = JSON.parse(raw);
    } catch {
      log.warn("Skipping an unreadable channel message");
      return;
    }
    if ("control" in message) {
      if (message.control === "epoch" && message.node !== node) void presence?.beat().catch(() => {});
      return;
    }
    if (message.member?.node === node) return; // applied when it was published
    applyEvent(message);
  }

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

  const isLost = (res: unknown) => res === "lost" || res === -1;

  /**
   * Runs a script built for the current epoch; when it answers that the epoch
   * is lost, restores this node and runs it once more.
   */
  async function checked(build: () => [LuaScript, string[], (string | number)[]]): Promise<unknown> {
    const res = await link.run(...build());
    if (!isLost(res)) return res;
    await restore();
    const again = await link.run(...build());
    if (isLost(again)) throw new Error("the room's epoch changed again while restoring");
    return again;
  }

  /** Restores this node after a data loss (one at a time); true when the epoch had changed. */
  function restore(): Promise<boolean> {
    if (!restoring) {
      restoring = restoreNow().finally(() => restoring = undefined);
    }
    return restoring;
  }

  async function restoreNow(): Promise<boolean> {
    if (!reader) return false;
    const members = [...local].map(([id, nick]) => {
      const nicks = [nick, ...nickVariants(nick)];
      return { id, nicks, keys: nicks.map(nickKey) };
    });
    const pendingClaims: { id: number; nick: string; key: string }[] = [];
    for (const [id, held] of claims) {
      const current = local.get(id);
      for (const [key, nick] of held) {
        if (current === undefined || nickKey(current) !== key) pendingClaims.push({ id, nick, key });
      }
    }
    const candidate = crypto.randomUUID();
    const res = await link.run(
      RESTORE,
      [keys.epoch, keys.restoring, keys.nodes, keys.alive, keys.members, keys.nicks, keys.history],
      [
        node,
        ttlMs,
        epoch,
        candidate,
        prefix,
        EVENTS_STREAM_CAP,
        historyCap,
        JSON.stringify(members),
        JSON.stringify(pendingClaims),
        JSON.stringify(ring.tail().map((m) => JSON.stringify(m))),
      ],
    ) as [string, string[]?, string[]?, number?];
    if (res[0] === "same") return false;
    const [next, renamedFlat = [], droppedFlat = [], seeded = 0] = res;
    const report: RestoreReport = { renamed: [], dropped: [], seeded };
    for (let i = 0; i + 2 < renamedFlat.length; i += 3) {
      const id = Number(renamedFlat[i]);
      report.renamed.push({ id, from: renamedFlat[i + 1], to: renamedFlat[i + 2] });
      claims.set(id, new Map([[nickKey(renamedFlat[i + 2]), renamedFlat[i + 2]]]));
    }
    for (let i = 0; i + 1 < droppedFlat.length; i += 2) {
      report.dropped.push({ id: Number(droppedFlat[i]), nick: droppedFlat[i + 1] });
      claims.delete(Number(droppedFlat[i]));
    }
    epoch = next;
    // Members hear what happened before the events of the new epoch (their renames) reach them.
    if (!closing) options.onRestored?.(report);
    // The events stream of the new epoch is read from its start; wake the blocked read at once.
    reader.switchTo(keys.events(epoch), "0-0");
    await link.call(["XADD", keys.wake, "MAXLEN", 1, "*", "w", 1]);
    await link.call(["PEXPIRE", keys.wake, 10_000]);
    for (const [name, { value, until }] of keptHere) {
      const left = Math.ceil(until - performance.now());
      if (left > 0) await link.call(["SET", keys.kept(name), value, "PX", left]);
      else keptHere.delete(name);
    }
    if (next === candidate) {
      // This node created the new epoch: the others check theirs now instead of at their next heartbeat.
      await link.call(["PUBLISH", keys.channel, JSON.stringify({ control: "epoch", node })]);
    }
    log.warn(
      "Redis had lost the room's data: node {node} restored {members} members ({renamed} renamed, {dropped} dropped), re-seeded {seeded} messages",
      {
        node,
        members: local.size,
        renamed: report.renamed.length,
        dropped: report.dropped.length,
        seeded,
      },
    );
    return true;
  }

  function publishArgs(event: RoomEvent): [LuaScript, string[], (string | number)[]] {
    const member = event.member;
    let recorded = "";
    let message = "";
    let folded = "";
    let nickKeyName = keys.epoch;
    if (event.kind === "join") {
      recorded = event.nick;
      nickKeyName = keys.nick(nickKey(event.nick));
    }
    if (event.kind === "rename") {
      recorded = event.to;
      nickKeyName = keys.nick(nickKey(event.to));
    }
    if (event.kind === "msg") message = JSON.stringify(event.message);
    if (event.kind === "leave") {
      folded = nickKey(event.nick);
      nickKeyName = keys.nick(folded);
    }
    return [
      PUBLISH,
      [keys.events(epoch), keys.history, keys.members, keys.nicks, nickKeyName, keys.epoch],
      [
        JSON.stringify(event),
        event.kind,
        member.id,
        recorded,
        EVENTS_STREAM_CAP,
        historyCap,
        message,
        node,
        folded,
        epoch,
        keys.channel,
        EPHEMERAL.has(event.kind) ? 1 : 0,
      ],
    ];
  }

  function ownOnly(member: MemberRef) {
    if (member.node !== node) throw new Error(`redis bus: member of node ${member.node} used on node ${node}`);
  }

  /** Refusals for what the publish script answered; undefined when the event went out. */
  function refusalFor(res: unknown): ProtocolError | undefined {
    if (res === "absent") return new ProtocolError("unavailable", "you are no longer in the room, please reconnect");
    if (res === "nick") return new ProtocolError("nick_in_use");
    return undefined;
  }

  async function publishAndWait(event: RoomEvent): Promise<void> {
    let res: unknown;
    try {
      res = await track(checked(() => publishArgs(event)));
    } catch (err) {
      refuse(err);
    }
    const refusal = refusalFor(res);
    if (refusal) throw refusal;
    if (res === "sent") return applyEvent(event);
    if (typeof res !== "string" || res === "gone" || !reader) return;
    try {
      await reader.applied(res, APPLY_WAIT_MS);
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
      replayLimit = Math.max(0, historyLimit);
      const timeout = options.startTimeoutMs ?? DEFAULT_REDIS_START_TIMEOUT_MS;
      try {
        await link.ready(AbortSignal.timeout(timeout));
      } catch {
        await link.close();
        throw new StartupError(
          "redis_unreachable",
          `cannot reach Redis for --redis ${
            redact(options.url)
          } (no answer within ${timeout} ms); check that redis-server runs there and accepts connections, or correct --redis.`,
        );
      }
      const [historyEntries, current, lastEventId] = await link.run(
        SNAPSHOT,
        [keys.history, keys.epoch],
        [replayLimit, crypto.randomUUID(), prefix],
      ) as [[string, string[]][], string, string];
      epoch = current;
      presence = startPresence({
        link,
        node,
        prefix,
        keys,
        ttlMs,
        graceMs: 2 * retryMaxMs,
        eventsCap: EVENTS_STREAM_CAP,
        epoch: () => epoch,
        onLost: restore,
      });
      const history: ChatMessage[] = [];
      for (const [, fields] of historyEntries.reverse()) {
        try {
          history.push(JSON.parse(fields[fields.indexOf("m") + 1]) as ChatMessage);
        } catch {
          log.warn("Skipping an unreadable history entry");
        }
      }
      ring = createHistoryRing(replayLimit, history);
      roomApply = apply;
      const blockMs = Math.min(READ_BLOCK_MS, Math.floor(idleTimeoutMs / 2));
      reader = startStreamReader(link, keys.events(epoch), lastEventId, applyEvent, blockMs, keys.wake);
      await presence.beat();
      log.info("Node {node} joined the shared room ({count} messages of history)", { node, count: history.length });
      return ring.tail();
    },
    async claimNick(nick, member) {
      ownOnly(member);
      const key = nickKey(nick);
      const owner = JSON.stringify({ nick, node, id: member.id });
      let res: unknown;
      try {
        res = await track(checked(() => [
          CLAIM_NICK,
          [keys.nick(key), keys.nicks, keys.epoch, keys.restoring],
          [owner, node, member.id, key, epoch],
        ]));
      } catch (err) {
        refuse(err);
      }
      if (res === -2) {
        throw new ProtocolError(
          "unavailable",
          "the chat backend lost its data and is restoring sessions, try again shortly",
        );
      }
      if (res !== 1) return false;
      const held = claims.get(member.id) ?? new Map<string, string>();
      held.set(key, nick);
      claims.set(member.id, held);
      return true;
    },
    releaseNick(nick, member) {
      ownOnly(member);
      const key = nickKey(nick);
      const held = claims.get(member.id);
      held?.delete(key);
      if (held?.size === 0) claims.delete(member.id);
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
        return await track(checked(() => [ALL_NICKS, [keys.nodes, keys.epoch], [prefix, epoch]])) as string[];
      } catch (err) {
        refuse(err);
      }
    },
    async keep(name, value, ttlMs) {
      const now = performance.now();
      if (keptHere.size >= MAX_KEPT) {
        for (const [n, k] of keptHere) if (k.until <= now) keptHere.delete(n);
        if (keptHere.size >= MAX_KEPT) keptHere.delete(keptHere.keys().next().value!);
      }
      keptHere.set(name, { value, until: now + ttlMs });
      try {
        await track(link.call(["SET", keys.kept(name), value, "PX", Math.max(1, Math.ceil(ttlMs))]));
      } catch (err) {
        refuse(err);
      }
    },
    async forget(name) {
      keptHere.delete(name);
      try {
        await track(link.call(["DEL", keys.kept(name)]));
      } catch (err) {
        refuse(err);
      }
    },
    async kept() {
      const found: KeptValue[] = [];
      const from = keys.kept("").length;
      let cursor = "0";
      try {
        do {
          const [next, names] = await track(
            link.call(["SCAN", cursor, "MATCH", `${keys.kept("")}*`, "COUNT", 100]),
          ) as [string, string[]];
          cursor = next;
          for (const key of names) {
            if (found.length >= MAX_KEPT) return found;
            const [value, ttlMs] = await track(link.run(KEPT_VALUE, [key], [])) as [string | false, number];
            if (typeof value === "string" && ttlMs > 0) found.push({ name: key.slice(from), value, ttlMs });
          }
        } while (cursor !== "0");
      } catch (err) {
        refuse(err);
      }
      return found;
    },
    publish(event) {
      ownOnly(event.member);
      if (event.kind === "leave") {
        return mustHappen(`leave of ${event.nick}`, async () => {
          const res = await checked(() => publishArgs(event));
          if (isLost(res)) throw new Error("epoch lost");
        });
      }
      if (event.kind === "typing") {
        return track(checked(() => publishArgs(event))).then((res) => {
          if (res === "sent") applyEvent(event);
        }, () => {});
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
