/**
 * The link to Redis: two ioredis connections (one for commands, one for the
 * blocking stream reader), reconnecting by themselves, and one up/down state
 * derived from both. While the link is down nothing is queued: commands fail
 * at once, so the room refuses messages instead of losing them silently.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { Redis, type RedisOptions } from "ioredis";
import { ProtocolError } from "../protocol/mod.ts";
import type { LuaScript } from "./redis_scripts.ts";

const log = getLogger(["wirechat", "redis"]);

/** Default bound on one Redis command (a hung Redis fails commands after this). */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 2000;
/** Longest pause between reconnection attempts. */
export const DEFAULT_REDIS_RETRY_MAX_MS = 1000;

/** Options for {@linkcode createRedisLink}. */
export interface RedisLinkOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  /** Bound on one command. */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts. */
  retryMaxMs?: number;
  /** Scripts to register on the command connection. */
  scripts?: readonly LuaScript[];
  /** Told when the link goes down or comes back (not for the first connect). */
  onChange?: (up: boolean) => void;
}

/** The two connections and their combined state. */
export interface RedisLink {
  /** Commands and scripts; fails fast while disconnected. */
  readonly cmd: Redis;
  /** Blocking reads only. */
  readonly reader: Redis;
  /** True while both connections are ready. */
  readonly up: boolean;
  /** Milliseconds since the link last came up (0 while down). */
  upForMs(): number;
  /** Resolves once the link is up, or rejects when `signal` aborts. */
  ready(signal?: AbortSignal): Promise<void>;
  /** Runs a registered script. */
  run(script: LuaScript, keys: string[], args: (string | number)[]): Promise<unknown>;
  /** Disconnects both connections; resolves once their sockets are closed. */
  close(): Promise<void>;
}

/** The error the room shows while Redis cannot be reached. */
export function unavailable(): ProtocolError {
  return new ProtocolError("unavailable", "chat backend (Redis) unreachable, try again shortly");
}

/** Connects to Redis; see the module doc. Connection happens in the background. */
export function createRedisLink(options: RedisLinkOptions): RedisLink {
  const retryMax = options.retryMaxMs ?? DEFAULT_REDIS_RETRY_MAX_MS;
  const base: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 2000,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 10), retryMax),
  };
  const cmd = new Redis(options.url, {
    ...base,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    connectionName: "wirechat-cmd",
  });
  const reader = new Redis(options.url, { ...base, connectionName: "wirechat-reader" });
  for (const s of options.scripts ?? []) cmd.defineCommand(s.name, { numberOfKeys: s.keys, lua: s.lua });

  let up = false;
  let everUp = false;
  let upSince = 0;
  let closing = false;
  const waiters = new Set<() => void>();

  function update() {
    const now = cmd.status === "ready" && reader.status === "ready";
    if (now === up) return;
    up = now;
    upSince = now ? Date.now() : 0;
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
  for (const c of [cmd, reader]) {
    c.on("ready", update);
    c.on("close", update);
    c.on("end", update);
    c.on("error", (err: Error) => {
      if (err.message === lastError) return;
      lastError = err.message;
      log.warn("Redis connection error: {error}", { error: err.message });
    });
  }

  return {
    cmd,
    reader,
    get up() {
      return up;
    },
    upForMs: () => (up ? Date.now() - upSince : 0),
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
    run(script, keys, args) {
      if (!up && cmd.status !== "ready") return Promise.reject(unavailable());
      const fn = (cmd as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[script.name];
      return fn.call(cmd, ...keys, ...args);
    },
    async close() {
      closing = true;
      const ended = [cmd, reader].map((c) =>
        c.status === "end" ? Promise.resolve() : new Promise<void>((resolve) => c.once("end", () => resolve()))
      );
      cmd.disconnect();
      reader.disconnect();
      await Promise.all(ended);
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
