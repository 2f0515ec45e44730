/**
 * Assembles and runs a Wirechat server: message log, bus, room, outbound
 * scheduler, HTTP/WebSocket listener; and shuts it all down in order.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { CloseCode } from "../protocol/mod.ts";
import { createLocalBus, type RoomBus } from "./core/bus.ts";
import type { ServerConfig } from "./ops/config.ts";
import { createContext, type ServerContext } from "./core/context.ts";
import { createDialects } from "./dialects/catalog.ts";
import type { MessageStore } from "./core/history.ts";
import { createHandler } from "./ops/http.ts";
import { createFileStore } from "./core/message_log.ts";
import { createMetrics, type Metrics } from "./ops/metrics.ts";
import { describeServerMetrics } from "./ops/metrics_catalog.ts";
import { createOutboundScheduler } from "./core/outbound.ts";
import { createLogGate } from "./redis/log_gate.ts";
import { createRedisBusFor } from "./redis/setup.ts";
import { createRoom } from "./core/room.ts";
import { parseList } from "./core/limits.ts";
import { createModeration } from "./core/moderation.ts";
import { loadAdminToken, loadForbiddenWords, MIN_ADMIN_TOKEN_LENGTH } from "./ops/moderation_files.ts";
import { riftFraming } from "./transports/riftchat.ts";
import { listenStream, type StreamFraming, type StreamListener } from "./transports/stream_transport.ts";
import { lineFraming } from "./transports/tcp.ts";
import { loadTls } from "./transports/tls.ts";
import { type HttpListener, listenHttp } from "./transports/http_listener.ts";
import { createWebSocketTransport } from "./transports/ws.ts";

const log = getLogger(["wirechat", "server"]);

/** Longest wait for clients to finish their close handshakes on shutdown. */
export const SHUTDOWN_GRACE_MS = 500;

/** A running server. */
export interface WirechatServer {
  /** The bound HTTP/WebSocket address. */
  readonly addr: Deno.NetAddr;
  /** The bound plain-TCP address, when `config.tcpPort` is set. */
  readonly tcpAddr?: Deno.NetAddr;
  /** The bound RiftChat address, when `config.riftchatPort` is set. */
  readonly riftchatAddr?: Deno.NetAddr;
  /** The context (tests and extra transports). */
  readonly context: ServerContext;
  readonly metrics: Metrics;
  /** Notifies every client, closes them, flushes the log and stops listening. */
  shutdown(): Promise<void>;
  /** Resolves once the server has stopped. */
  readonly finished: Promise<void>;
}

/** Extra parts for tests and embedding. */
export interface ServerParts {
  /** Replaces the message log (default: daily files in `config.logDir`). */
  store?: MessageStore;
  /** Replaces the local bus (scale-out). */
  bus?: RoomBus;
  now?: () => Date;
  /** The operational log's file sink (`configureServerLogging`), whose failure counts `/metrics` shows. */
  serverLog?: { failures(): number; dropped(): number };
}

/** Starts a server with `config`; resolves once it is listening. */
export async function startServer(config: ServerConfig, parts: ServerParts = {}): Promise<WirechatServer> {
  const metrics = createMetrics();
  describeServerMetrics(metrics);
  const tls = loadTls(config.tlsCert, config.tlsKey);
  const admin = loadAdminToken(config);
  const words = loadForbiddenWords(config.forbiddenWordsFile);
  const moderation = createModeration({
    token: admin.token,
    words,
    banMinutes: config.banMinutes,
    exempt: parseList(config.limitExempt),
  });
  metrics.describe("wirechat_log_write_failures_total", "Message log writes that failed");
  let logWriteFailures = 0;
  const store = parts.store ?? createFileStore({
    dir: config.logDir,
    onError(error) {
      logWriteFailures++;
      metrics.inc("wirechat_log_write_failures_total");
      log.error("Message log write failed: {error}", { error: error.message });
    },
    maxLine: config.maxLine,
    onSkipped(count) {
      metrics.inc("wirechat_log_lines_skipped_total", count);
      log.warn("Skipped {count} message log line(s) longer than --max-line ({maxLine}) when loading the history", {
        count,
        maxLine: config.maxLine,
      });
    },
  });
  // With Redis (and our own bus) each node logs every message it applies, once per shared folder.
  const gate = config.redis && !parts.bus
    ? createLogGate({
      dir: config.logDir,
      prefix: config.redisPrefix,
      store,
      failures: () => logWriteFailures,
      onError: (error) => log.warn("Message log position file: {error}", { error: error.message }),
    })
    : undefined;
  /** Sends a notice to this node's joined members, or to one of them (set once the context exists). */
  let notifyMembers = (_text: string, _id?: number) => {};
  const bus = parts.bus ??
    (config.redis
      ? await createRedisBusFor(config, metrics, {
        all: (text) => notifyMembers(text),
        one: (id, text) => notifyMembers(text, id),
      }, (message, at) => gate?.append(message, at))
      : createLocalBus((limit) => store.load(limit)));
  const scheduler = createOutboundScheduler();
  scheduler.beforeFlush(() => {
    gate?.flush();
    store.flush();
  });
  const room = createRoom({
    bus,
    replayLimit: config.replay,
    now: parts.now,
    bans: moderation.bans,
    banAddress: moderation.banAddress,
    onMessage(message, ownMember) {
      // Alone, every member is own. A Redis bus built here logs through the gate instead; one
      // given by the caller logs its own members' messages.
      if (ownMember && !gate) store.append(message);
      metrics.inc("wirechat_messages_total");
    },
  });
  await room.start();

  let shuttingDown = false;
  const ctx = createContext(
    { config, room, scheduler, metrics, dialects: createDialects(), moderation },
    () => shuttingDown,
  );
  notifyMembers = (text, id) => {
    for (const { peer, session } of ctx.connections) {
      if (session.nick && (id === undefined || peer.id === id)) peer.send({ type: "notice", text });
    }
  };
  const started = performance.now();
  metrics.gauge("wirechat_connected_clients", "Open connections", () => ctx.connections.size);
  metrics.gauge("wirechat_joined_members", "Members joined on this node", () => room.size);
  const serverLog = parts.serverLog;
  if (serverLog) {
    metrics.gauge(
      "wirechat_server_log_write_failures_total",
      "Operational log file writes that failed (the server keeps running; stderr has the records)",
      () => serverLog.failures(),
      "counter",
    );
    metrics.gauge(
      "wirechat_server_log_records_dropped_total",
      "Operational log records not written to the daily file (a failed write, or too many waiting)",
      () => serverLog.dropped(),
      "counter",
    );
  }
  metrics.gauge("wirechat_uptime_seconds", "Seconds since start", () => (performance.now() - started) / 1000);

  const websocket = createWebSocketTransport(ctx);
  let http: HttpListener;
  try {
    http = await listenHttp(ctx, {
      hostname: config.host,
      port: config.port,
      tls,
      handler: createHandler(ctx),
      upgrade: websocket.upgrade,
    });
  } catch (err) {
    websocket.close();
    throw err;
  }
  const addr = http.addr;
  log.info("Listening on {scheme}://{host}:{port}/ (log folder {dir})", {
    scheme: tls ? "wss" : "ws",
    host: addr.hostname,
    port: addr.port,
    dir: config.logDir,
  });

  /** Further listeners (plain TCP, RiftChat), each started only when configured. */
  const listeners: StreamListener[] = [];
  async function listenIfConfigured(port: number | undefined, framing: StreamFraming, who: string) {
    if (port === undefined) return undefined;
    let listener: StreamListener;
    try {
      listener = await listenStream(ctx, config.host, port, framing);
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      websocket.close();
      http.destroyAll();
      await http.stop();
      throw err;
    }
    listeners.push(listener);
    log.info("Listening for {who} on {host}:{port}", { who, host: listener.addr.hostname, port: listener.addr.port });
    return listener.addr;
  }
  const tcpAddr = await listenIfConfigured(config.tcpPort, lineFraming, "plain-TCP line clients");
  const riftchatAddr = await listenIfConfigured(config.riftchatPort, riftFraming, "RiftChat clients");

  // Said once the server is up (a failed start stays one sentence).
  if (admin.token === undefined) {
    log.info("ADMIN is off: no admin token is set (WIRECHAT_ADMIN_TOKEN or --admin-token-file)");
  } else log.info("ADMIN is on (token from {from})", { from: admin.from });
  if (admin.weak) {
    log.warn("The admin token is shorter than {min} characters: it can be guessed; use a long random one", {
      min: MIN_ADMIN_TOKEN_LENGTH,
    });
  }
  if (words) log.info("Forbidden words: {n} entries from {file}", { n: words.size, file: config.forbiddenWordsFile });

  let stopping: Promise<void> | undefined;
  const finished = Promise.withResolvers<void>();
  async function shutdown() {
    shuttingDown = true;
    const stopped = http.stop();
    await Promise.all(listeners.map((l) => l.close()));
    room.shutdown();
    for (const { peer } of [...ctx.connections]) {
      peer.send({ type: "shutdown" });
      peer.close(CloseCode.GOING_AWAY, "Server shutdown");
    }
    scheduler.flushAll();
    gate?.flush();
    store.close();
    await bus.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, SHUTDOWN_GRACE_MS));
    // Let clients complete their close handshakes; then whatever is left (a peer that never reads) is dropped.
    await Promise.race([ctx.drained(), grace]);
    clearTimeout(timer);
    websocket.close();
    http.destroyAll();
    await stopped;
    await ctx.drained();
    log.info("Server stopped");
    finished.resolve();
  }

  return {
    addr,
    tcpAddr,
    riftchatAddr,
    context: ctx,
    metrics,
    shutdown: () => stopping ??= shutdown(),
    finished: finished.promise,
  };
}
