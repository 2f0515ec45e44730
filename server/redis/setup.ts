/**
 * Wires the Redis bus into a server when `--redis` is given: loads the
 * client only then (without the flag Redis is never loaded nor contacted),
 * registers the `wirechat_redis_up` gauge and tells joined members when the
 * link is lost, when it is back, and when Redis had lost its data and their
 * session was restored (or, where a nick was taken meanwhile, renamed or
 * dropped).
 *
 * @module
 */
import type { ChatMessage } from "../../protocol/mod.ts";
import type { RoomBus } from "../core/bus.ts";
import type { LogPosition } from "./log_gate.ts";
import type { ServerConfig } from "../ops/config.ts";
import type { Metrics } from "../ops/metrics.ts";
import { hostPort, StartupError } from "../ops/startup_error.ts";

/** How long the start-up probe waits for Redis's TCP port before leaving it to the client's own wait. */
export const REDIS_PROBE_MS = 2000;

/**
 * Opens and closes one TCP connection to the Redis of `url`, so that a
 * refused connection or an unknown host stops the start at once with one
 * sentence (instead of a warning, then an error after the client's
 * 10 s wait). A probe that takes longer than {@linkcode REDIS_PROBE_MS}
 * passes: the client's wait decides.
 *
 * @throws {StartupError} `redis_unreachable`.
 */
export async function probeRedis(url: string, source = "--redis"): Promise<void> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || 6379);
  const at = hostPort(host, port);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Deno.connect({ hostname: host, port });
  // A probe that loses the race closes its connection when it arrives.
  connecting.then((c) => c.close(), () => {});
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), REDIS_PROBE_MS));
  try {
    await Promise.race([connecting, late]);
  } catch (err) {
    const refused = err instanceof Deno.errors.ConnectionRefused;
    const unknown = /failed to lookup address|name or service not known/i.test(String(err));
    const why = refused
      ? `nothing accepts connections at ${at}`
      : unknown
      ? `the host name ${JSON.stringify(host)} is unknown`
      : String(err instanceof Error ? err.message : err).replace(/ \(os error \d+\)$/, "");
    throw new StartupError(
      "redis_unreachable",
      `cannot reach Redis for ${source} ${url} (${why}); start redis-server there or correct ${source}.`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
}

/** The metrics a node adds with `--redis` (the generated metrics table in docs/OPERATIONS.md lists them). */
export const REDIS_METRICS = {
  wirechat_redis_up: { kind: "gauge", help: "1 while this node's Redis link is up, else 0" },
  wirechat_redis_link_lost_total: { kind: "counter", help: "Times this node lost its Redis link" },
  wirechat_redis_data_lost_total: {
    kind: "counter",
    help: "Times this node found Redis had lost the room's data and restored it",
  },
} as const;

/** The notice members get when this node loses Redis. */
export const REDIS_LOST_NOTICE = "Chat backend unreachable: messages are refused until it is back (reconnecting)";
/** The notice members get when the link is back. */
export const REDIS_BACK_NOTICE = "Chat backend reconnected: messages are accepted again";
/** The notice members get when Redis came back empty (flushed, or restarted without persistence). */
export const REDIS_RESTORED_NOTICE =
  "Chat backend (Redis) lost its data: your session was restored and messages are accepted again";

/** The notice a member gets when its nick was taken while Redis had lost its data. */
export function renamedNotice(from: string, to: string): string {
  return `Chat backend (Redis) lost its data and someone else took the nick ${from} meanwhile: you are now ${to}`;
}

/** The notice a member gets when no variant of its nick was free after a data loss. */
export function droppedNotice(nick: string): string {
  return `Chat backend (Redis) lost its data and someone else took the nick ${nick} meanwhile: please reconnect`;
}

/** Sends notices to this node's members. */
export interface Notifier {
  /** To every joined member. */
  all(text: string): void;
  /** To the member with peer id `id`. */
  one(id: number, text: string): void;
}

/**
 * Creates the Redis bus for `config.redis` (which must be set); `notify`
 * sends `SYS` notices to this node's joined members; `onMessage` is told of
 * every public message this node applies (the message log).
 */
export async function createRedisBusFor(
  config: ServerConfig,
  metrics: Metrics,
  notify: Notifier,
  onMessage?: (message: ChatMessage, at: LogPosition) => void,
): Promise<RoomBus> {
  if (!config.redis) throw new Error("createRedisBusFor: config.redis is not set");
  await probeRedis(config.redis);
  const { createRedisBus } = await import("./bus.ts");
  for (const [name, m] of Object.entries(REDIS_METRICS)) if (m.kind === "counter") metrics.describe(name, m.help);
  const bus = createRedisBus({
    url: config.redis,
    nodeTtlMs: config.redisNodeTtl,
    prefix: config.redisPrefix,
    onMessage,
    onLinkChange(up, restored) {
      if (!up) metrics.inc("wirechat_redis_link_lost_total");
      // After a data loss the restore has told everyone already, in its own words.
      if (!restored) notify.all(up ? REDIS_BACK_NOTICE : REDIS_LOST_NOTICE);
    },
    onRestored(report) {
      metrics.inc("wirechat_redis_data_lost_total");
      for (const { id, from, to } of report.renamed) notify.one(id, renamedNotice(from, to));
      for (const { id, nick } of report.dropped) notify.one(id, droppedNotice(nick));
      notify.all(REDIS_RESTORED_NOTICE);
    },
  });
  metrics.gauge("wirechat_redis_up", REDIS_METRICS.wirechat_redis_up.help, () => bus.up ? 1 : 0);
  return bus;
}
