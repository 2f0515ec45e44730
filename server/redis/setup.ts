/**
 * Wires the Redis bus into a server when `--redis` is given: loads the
 * client only then (without the flag Redis is never loaded nor contacted),
 * registers the `wirechat_redis_up` gauge and tells joined members when the
 * link is lost and when it is back.
 *
 * @module
 */
import type { RoomBus } from "../core/bus.ts";
import type { ServerConfig } from "../ops/config.ts";
import type { Metrics } from "../ops/metrics.ts";

/** The notice members get when this node loses Redis. */
export const REDIS_LOST_NOTICE = "Chat backend unreachable: messages are refused until it is back (reconnecting)";
/** The notice members get when the link is back. */
export const REDIS_BACK_NOTICE = "Chat backend reconnected: messages are accepted again";

/**
 * Creates the Redis bus for `config.redis` (which must be set); `notify`
 * sends a `SYS` notice to this node's joined members.
 */
export async function createRedisBusFor(
  config: ServerConfig,
  metrics: Metrics,
  notify: (text: string) => void,
): Promise<RoomBus> {
  if (!config.redis) throw new Error("createRedisBusFor: config.redis is not set");
  const { createRedisBus } = await import("./bus.ts");
  metrics.describe("wirechat_redis_link_lost_total", "Times this node lost its Redis link");
  const bus = createRedisBus({
    url: config.redis,
    nodeTtlMs: config.redisNodeTtl,
    prefix: config.redisPrefix,
    onLinkChange(up) {
      if (!up) metrics.inc("wirechat_redis_link_lost_total");
      notify(up ? REDIS_BACK_NOTICE : REDIS_LOST_NOTICE);
    },
  });
  metrics.gauge("wirechat_redis_up", "1 while this node's Redis link is up, else 0", () => bus.up ? 1 : 0);
  return bus;
}
