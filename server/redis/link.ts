/**
 * The link to Redis: three connections of the official client
 * (`@redis/client`, the core of node-redis), one for commands, one for the
 * blocking stream reader and one subscribed to the room's Pub/Sub channel
 * (private messages and typing, which are never stored), each reconnecting
 * (and re-subscribing) by itself, and one up/down state derived from all. While the link is down nothing is queued: commands fail at once, so
 * the room refuses messages instead of losing them silently. Commands are
 * sent raw (`sendCommand`), scripts by `EVALSHA` with an `EVAL` fallback.
 *
 * (ioredis was tried first; it reads every environment variable at import,
 * which the narrow `--allow-env=WIRECHAT_*` of `deno task serve` forbids.)
 *
 * @module
 */
import { createHash } from "node:crypto";
import { getLogger } from "@logtape/logtape";
import { createClient } from "@redis/client";
import { ProtocolError } from "../../protocol/mod.ts";
import type { LuaScript } from "./scripts.ts";

const log = getLogger(["wirechat", "redis"]);

/** Default bound on one Redis command (a hung Redis fails commands after this). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;
/** Default longest pause between reconnection attempts. */
export const DEFAULT_REDIS_RETRY_MAX_MS = 1000;
/**
 * Default silence after which a connection counts as dead (a hung Redis, or a
 * peer gone without a reset) and is reopened; traffic (heartbeats, the
 * reader's blocking reads) must flow more often than this.
 */
export const DEFAULT_REDIS_IDLE_TIMEOUT_MS = 15_000;
/** Bound on opening one TCP connection to Redis. */
const CONNECT_TIMEOUT_MS = 2000;

/** Options for {@linkcode createRedisLink}. */
export interface RedisLinkOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  /** Bound on one command. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts. */
  retryMaxMs?: number;
  /** Silence after which a connection is dropped and reopened. */
  idleTimeoutMs?: number;
  /** Told when the link goes down or comes back (not for the first connect). */
  onChange?: (up: boolean) => void;
  /** The Pub/Sub channel to subscribe to, and what to do with each message. */
  subscription?: { channel: string; onMessage: (message: string) => void };
}

/** One Redis argument. */
export type RedisArg = string | number;

/** The two connections and their combined state. */
export interface RedisLink {
  /** True while every connection is ready (and subscribed). */
  readonly up: boolean;
  /** Milliseconds since the link last came up (0 while down), on the monotonic clock. */
  upForMs(): number;
  /** Resolves once the link is up, or rejects when `signal` aborts. */
  ready(signal?: AbortSignal): Promise<void>;
  /** One command on the command connection, bounded by the command timeout. */
  call(args: RedisArg[]): Promise<unknown>;
  /** One (blocking) command on the reader connection; no timeout. */
  read(args: RedisArg[]): Promise<unknown>;
  /** Runs a script on the command connection. */
  run(script: LuaScript, keys: string[], args: RedisArg[]): Promise<unknown>;
  /** Closes both connections. */
  close(): Promise<void>;
}

/** The error the room shows while Redis cannot be reached. */
export function unavailable(): ProtocolError {
  return new ProtocolError("unavailable", "chat backend (Redis) unreachable, try again shortly");
}

/** Connects to Redis; see the module doc. Connection happens in the background. */
export function createRedisLink(options: RedisLinkOptions): RedisLink {
  const retryMax = options.retryMaxMs ?? DEFAULT_REDIS_RETRY_MAX_MS;
  const commandTimeout = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
  const make = (name: string, idle: boolean) =>
    createClient({
      url: options.url,
      name,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // The subscriber is silent while nobody sends a PM: no idle timeout (the other two detect a hung Redis).
        socketTimeout: idle ? options.idleTimeoutMs ?? DEFAULT_REDIS_IDLE_TIMEOUT_MS : undefined,
        reconnectStrategy: (retries: number) => Math.min(50 * 2 ** Math.min(retries, 10), retryMax),
      },
    });
  const cmd = make("wirechat-cmd", true);
  const reader = make("wirechat-reader", true);
  const sub = options.subscription ? make("wirechat-sub", false) : undefined;
  let subscribed = !sub;
  const shas = new Map<string, string>();

  let up = false;
  let everUp = false;
  let upSince = 0;
  let closing = false;
  const waiters = new Set<() => void>();

  function update() {
    const now = !closing && cmd.isReady && reader.isReady && (!sub || (subscribed && sub.isReady));
    if (now === up) return;
    up = now;
    upSince = now ? performance.now() : 0;
    if (now) {
      for (const w of [...waiters]) w();
      waiters.clear();
    }
    if (closing) return;
    if (now && !everUp) {
      everUp = true;
      log.info("Connected to Redis at {url}", { url: redact(options.url) });
      return;
    }
    if (!everUp) return;
    if (now) log.info("Redis link is back");
    else log.error("Redis link lost; reconnecting");
    options.onChange?.(now);
  }

  let lastError = "";
  const clients = sub ? [cmd, reader, sub] : [cmd, reader];
  for (const c of clients) {
    c.on("ready", update);
    c.on("reconnecting", update);
    c.on("end", update);
    c.on("error", (err: Error) => {
      update();
      if (err.message === lastError) return;
      lastError = err.message;
      // Before the first connection the start reports the failure in one sentence (StartupError); the attempts'
      // errors would only be noise in front of it.
      if (everUp) log.warn("Redis connection error: {error}", { error: err.message });
      else log.debug("Redis connection error before the first connection: {error}", { error: err.message });
    });
    c.connect().catch((err: Error) => log.error("Redis connection gave up: {error}", { error: err.message }));
  }
  if (sub && options.subscription) {
    const { channel, onMessage } = options.subscription;
    // Subscribed once: the client subscribes again by itself on every reconnection, before it is ready.
    const subscribeOnce = () => {
      sub.off("ready", subscribeOnce);
      sub.subscribe(channel, (message: string) => onMessage(message)).then(() => {
        subscribed = true;
        update();
      }, (err: Error) => {
        log.warn("Redis subscribe failed: {error}", { error: err.message });
        sub.on("ready", subscribeOnce);
      });
    };
    sub.on("ready", subscribeOnce);
  }

  function bounded<T>(p: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis command timed out after ${commandTimeout} ms`)), commandTimeout);
    });
    p.catch(() => {}); // a late failure after the timeout is not unhandled
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  function call(args: RedisArg[]): Promise<unknown> {
    if (!cmd.isReady) return Promise.reject(unavailable());
    return bounded(cmd.sendCommand(args.map(String)) as Promise<unknown>);
  }

  return {
    get up() {
      return up;
    },
    upForMs: () => (up ? performance.now() - upSince : 0),
    ready(signal) {
      if (up) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          signal?.removeEventListener("abort", abort);
          resolve();
        };
        const abort = () => {
          waiters.delete(done);
          reject(signal?.reason ?? new Error("aborted"));
        };
        if (signal?.aborted) return abort();
        signal?.addEventListener("abort", abort, { once: true });
        waiters.add(done);
      });
    },
    call,
    read(args) {
      if (!reader.isReady) return Promise.reject(unavailable());
      return reader.sendCommand(args.map(String)) as Promise<unknown>;
    },
    async run(script, keys, args) {
      let sha = shas.get(script.name);
      if (!sha) shas.set(script.name, sha = createHash("sha1").update(script.lua).digest("hex"));
      const rest = [String(keys.length), ...keys, ...args.map(String)];
      try {
        return await call(["EVALSHA", sha, ...rest]);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
        return await call(["EVAL", script.lua, ...rest]);
      }
    },
    close() {
      closing = true;
      update();
      for (const c of clients) {
        try {
          c.destroy();
        } catch { /* already closed */ }
      }
      return Promise.resolve();
    },
  };
}

/** The URL without a password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid Redis URL)";
  }
}
