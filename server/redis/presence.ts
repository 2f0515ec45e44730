/**
 * Node liveness: every node refreshes an expiring heartbeat key and, on the
 * same timer, reaps the nodes whose heartbeat expired (their members' leave
 * notices go into the room's stream, their nicks are freed). The reap is
 * one atomic script, so two survivors never both announce a dead node.
 *
 * A node reaps only after its own link has been up for a full TTL plus a
 * reconnection pause: after Redis itself was down, every node's heartbeat
 * may have expired, and the others must get the chance to beat again before
 * anyone is declared dead (that pause is measured on the monotonic clock,
 * and expiry is Redis's own TTL, so a wall-clock step changes neither).
 * A dead node is therefore announced within
 * `ttl + ttl/3` of its last heartbeat when Redis stayed up.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { RedisLink } from "./link.ts";
import { HEARTBEAT, REAP, type redisKeys } from "./scripts.ts";

const log = getLogger(["wirechat", "redis"]);

/** Default heartbeat TTL in ms: a node silent this long is declared dead. */
export const DEFAULT_REDIS_NODE_TTL_MS = 15_000;

/** Options for {@linkcode startPresence}. */
export interface PresenceOptions {
  link: RedisLink;
  node: string;
  prefix: string;
  keys: ReturnType<typeof redisKeys>;
  /** Heartbeat TTL: a node silent this long is dead. */
  ttlMs: number;
  /** Pause after (re)connecting before reaping, beyond the TTL. */
  graceMs: number;
  /** Cap of the events stream (for the leave events a reap appends). */
  eventsCap: number;
  /** The room's data epoch this node works in. */
  epoch: () => string;
  /** Called when the epoch in Redis differs (Redis lost its data); true when the node restored itself. */
  onLost: () => Promise<boolean>;
}

/** The running heartbeat/reaper. */
export interface Presence {
  /**
   * One heartbeat now (also registers the node); when Redis lost its data,
   * restores the node instead and resolves to true.
   */
  beat(): Promise<boolean>;
  /** Stops the timer and unregisters the node, announcing any member still present as gone. */
  stop(): Promise<void>;
}

/** Starts heartbeating every `ttl/3` and reaping dead nodes. */
export function startPresence(options: PresenceOptions): Presence {
  const { link, node, keys, ttlMs } = options;
  const interval = Math.max(50, Math.floor(ttlMs / 3));
  let registered = false;
  let running: Promise<void> | undefined;

  async function beat(): Promise<boolean> {
    const added = await link.run(HEARTBEAT, [keys.alive, keys.nodes, keys.epoch], [ttlMs, node, options.epoch()]);
    if (added === -1) return await options.onLost();
    if (added === 1 && registered) {
      log.warn("Node {node} had been declared dead by another node; its members were announced as gone", { node });
    }
    registered = true;
    return false;
  }

  async function reap() {
    if (link.upForMs() < ttlMs + options.graceMs) return;
    const epoch = options.epoch();
    const dead = await link.run(
      REAP,
      [keys.nodes, keys.events(epoch), keys.epoch],
      [options.prefix, options.eventsCap, node, "others", epoch],
    );
    for (const n of dead as string[]) log.warn("Node {dead} stopped heartbeating; its members left", { dead: n });
  }

  async function tick() {
    if (!link.up) return;
    try {
      await beat();
      await reap();
    } catch (err) {
      log.debug("Heartbeat failed: {error}", { error: String(err) });
    }
  }

  const timer = setInterval(() => {
    if (!running) running = tick().finally(() => running = undefined);
  }, interval);

  return {
    beat,
    async stop() {
      clearInterval(timer);
      await running;
      if (!link.up) return;
      try {
        await link.call(["DEL", keys.alive]);
        const epoch = options.epoch();
        await link.run(
          REAP,
          [keys.nodes, keys.events(epoch), keys.epoch],
          [options.prefix, options.eventsCap, node, "self", epoch],
        );
      } catch (err) {
        log.debug("Could not unregister node: {error}", { error: String(err) });
      }
    },
  };
}
