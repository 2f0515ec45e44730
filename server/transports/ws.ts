/**
 * The WebSocket transport: a thin adapter between npm `ws` (handshake, frame
 * parsing and validation: masking, UTF-8, reserved bits, opcodes, the size
 * cap for single and fragmented messages, the close handshake) and the
 * connection core. Data frames are not written through `ws`: the core writes
 * each peer's frames of one event-loop turn as one buffer on the raw socket
 * (`ws_frame.ts`), and control frames (pong, close) are written through `ws`
 * right after what was queued before them.
 *
 * Paths: `/` speaks the line protocol (one line per frame), or the JSON
 * dialect or `wirechat.batch` when the client offers those subprotocols;
 * `/wschat` speaks the wschat dialect.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { getLogger } from "@logtape/logtape";
import { WebSocket as WsWebSocket, WebSocketServer } from "ws";
import type { RequestHead } from "./http_listener.ts";
import { BATCH_SUBPROTOCOL, CloseCode, formatLine, HARD_FRAME_CAP } from "../../protocol/mod.ts";
import { JSON_SUBPROTOCOL } from "../../protocol/dialects/json.ts";
import { type ConnectionCore, openConnection } from "../core/connection.ts";
import { forwardedClient } from "../core/moderation.ts";
import type { ServerContext } from "../core/context.ts";
import type { Dialect } from "../core/dialect.ts";
import { WSCHAT_PATH } from "../dialects/wschat.ts";
import { createUpgradeGuard } from "./upgrade_guard.ts";
import { createFrameEncoders } from "./ws_frame.ts";

const log = getLogger(["wirechat", "ws"]);

/** The part of a `ws` WebSocket this transport uses (the package ships no types; `@types/ws` clashes with Deno's). */
interface WebSocket {
  readonly readyState: number;
  readonly OPEN: number;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): void;
  on(event: "ping" | "pong", listener: (data: Buffer) => void): void;
  on(event: "error", listener: (err: Error & { code?: string }) => void): void;
  on(event: "close", listener: () => void): void;
  send(text: string): void;
  ping(): void;
  pong(data: Buffer): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
}

/** `ws`'s WebSocket class, as this transport sees it (the server makes its sockets from a subclass). */
const BaseWebSocket = WsWebSocket as new (...args: never[]) => WebSocket;

/** The part of a `ws` WebSocketServer this transport uses. */
interface UpgradeServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, done: (ws: WebSocket) => void): void;
}

/** The only WebSocket version this server speaks (RFC 6455); others get 426 with this version. */
export const WEBSOCKET_VERSION = "13";

/** Subprotocols the client offered, in its order (`a,b` and `a, b` alike). */
export function offeredProtocols(header: string | null | undefined): string[] {
  return (header ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** The paths that upgrade to the chat in the line protocol (or JSON): `/`, and `/ws`, the original browser client's. */
export const CHAT_PATHS: readonly string[] = ["/", "/ws"];

/** The dialect for an upgrade to `path` offering `offered`, and the subprotocol to answer; undefined: no such path. */
export function negotiate(
  ctx: ServerContext,
  path: string,
  offered: readonly string[],
): { dialect: Dialect; protocol?: string } | undefined {
  const { dialects } = ctx;
  if (path === WSCHAT_PATH) return { dialect: dialects.wschat };
  if (!CHAT_PATHS.includes(path)) return undefined;
  if (offered.includes(JSON_SUBPROTOCOL)) return { dialect: dialects.json, protocol: JSON_SUBPROTOCOL };
  if (offered.includes(BATCH_SUBPROTOCOL)) return { dialect: dialects.batch, protocol: BATCH_SUBPROTOCOL };
  return { dialect: dialects.line };
}

/** Why a handshake request is not one (RFC 6455 §4.2.1), as an HTTP status and headers; undefined when it is. */
export function handshakeProblem(
  req: IncomingMessage,
): { status: number; reason: string; headers?: Record<string, string> } | undefined {
  if (req.method !== "GET") return { status: 405, reason: "A WebSocket handshake is a GET", headers: { allow: "GET" } };
  // RFC 6455 §4.2.1 item 1: an HTTP/1.1 or higher GET request.
  if (req.httpVersionMajor < 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor < 1)) {
    return { status: 400, reason: "A WebSocket handshake is an HTTP/1.1 request" };
  }
  // RFC 6455 §4.2.1 item 2 (and RFC 9112 §3.2): without a Host the Host allow-list would have nothing to check.
  if (typeof req.headers.host !== "string" || req.headers.host.trim() === "") {
    return { status: 400, reason: "A Host header is required" };
  }
  const connection = String(req.headers.connection ?? "").toLowerCase().split(",").map((s) => s.trim());
  if (!connection.includes("upgrade")) return { status: 400, reason: "Connection: Upgrade is required" };
  if (String(req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
    return { status: 400, reason: "Upgrade: websocket is required" };
  }
  const key = req.headers["sec-websocket-key"];
  if (typeof key !== "string" || !/^[+/0-9A-Za-z]{22}==$/.test(key.trim())) {
    return { status: 400, reason: "Sec-WebSocket-Key must be 16 bytes in base64" };
  }
  if (req.headers["sec-websocket-version"] !== WEBSOCKET_VERSION) {
    return {
      status: 426,
      reason: `Sec-WebSocket-Version ${WEBSOCKET_VERSION} is required`,
      headers: { "sec-websocket-version": WEBSOCKET_VERSION },
    };
  }
  return undefined;
}

/** Writes a plain HTTP answer on a socket that is not upgraded, and closes it. */
export function refuseHandshake(
  socket: Duplex,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`];
  const all: Record<string, string> = {
    "content-type": "text/plain; charset=utf-8",
    "x-content-type-options": "nosniff",
    "content-length": String(new TextEncoder().encode(body).length),
    connection: "close",
    ...headers,
  };
  for (const [name, value] of Object.entries(all)) lines.push(`${name}: ${value}`);
  const linger = setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS);
  socket.once("close", () => clearTimeout(linger));
  if (socket.writable) socket.end(lines.join("\r\n") + "\r\n\r\n" + body);
  else socket.destroy();
}

/** How long a refused handshake's socket may take to close after its answer before it is destroyed. */
export const REFUSAL_LINGER_MS = 1000;

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  421: "Misdirected Request",
  426: "Upgrade Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The close code `ws` sent for an invalid frame, by its error code. */
function closeCodeOf(err: Error & { code?: string }): [number, string] {
  if (err.code === "WS_ERR_INVALID_UTF8") return [CloseCode.INVALID_PAYLOAD, "invalid_utf8"];
  if (err.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") return [CloseCode.TOO_BIG, "frame_too_big"];
  // `ws` refuses a message in more than 16 384 fragments (its `maxFragments`) with 1008.
  if (err.code === "WS_ERR_TOO_MANY_BUFFERED_PARTS") return [CloseCode.POLICY, "too_many_fragments"];
  return [CloseCode.PROTOCOL_ERROR, "protocol_error"];
}

/** The WebSocket side of a server: upgrades requests, runs the heartbeat. */
export interface WebSocketTransport {
  /** Handles an HTTP upgrade; `request` is the same request as a fetch `Request` (for the guards). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, request: RequestHead, remote: string): void;
  /** Stops the heartbeat. */
  close(): void;
}

/** Creates the WebSocket transport for `ctx`. */
export function createWebSocketTransport(ctx: ServerContext): WebSocketTransport {
  const { config, metrics } = ctx;
  const guard = createUpgradeGuard(ctx);
  const closeTimeoutMs = config.closeTimeout * 1000;
  const chosen = new WeakMap<IncomingMessage, string | false>();
  /**
   * `ws` calls `close` on its own when it answers a client's close frame or fails a connection: what the turn
   * queued for the peer is written first, so the close frame never overtakes data queued before it (a line and a
   * close in one read would otherwise lose the line's echo).
   */
  class OrderedWebSocket extends BaseWebSocket {
    override close(code?: number, reason?: string): void {
      if (this.readyState === this.OPEN) served.get(this)?.conn.flushNow();
      super.close(code, reason);
    }
  }
  const wss: UpgradeServer = new WebSocketServer({
    WebSocket: OrderedWebSocket,
    noServer: true,
    maxPayload: HARD_FRAME_CAP,
    perMessageDeflate: false,
    clientTracking: false,
    autoPong: false,
    handleProtocols: (_offered: Set<string>, req: IncomingMessage) => chosen.get(req) ?? false,
  });
  const frames = createFrameEncoders();
  ctx.scheduler.afterFlush(frames.forget);

  /** Connections the heartbeat pings; false once pinged and not heard from since. */
  const alive = new Map<WebSocket, boolean>();
  const heartbeat = config.idleTimeout > 0
    ? setInterval(() => {
      for (const [ws, heard] of alive) {
        if (!heard) {
          log.info("No answer to the heartbeat ping; dropping the connection");
          ws.terminate();
          continue;
        }
        alive.set(ws, false);
        ws.ping();
      }
    }, config.idleTimeout * 1000)
    : undefined;

  /**
   * What the listeners below need of a served connection. The listeners are made once per transport, not once
   * per connection (`ws` calls them with the WebSocket as `this`): an idle connection holds one small record.
   */
  interface Served {
    conn: ConnectionCore;
    remote: string;
    /** `ws` found an invalid frame and sent its close frame. */
    failed: boolean;
    ended: () => void;
  }
  const served = new WeakMap<WebSocket, Served>();

  function onMessage(this: WebSocket, data: Buffer, isBinary: boolean) {
    const c = served.get(this);
    if (!c) return;
    if (heartbeat) alive.set(this, true);
    metrics.inc("wirechat_bytes_in_total", data.length);
    if (isBinary) c.conn.binary();
    else c.conn.text(data.toString());
  }
  function onPing(this: WebSocket, data: Buffer) {
    const c = served.get(this);
    if (!c) return;
    if (heartbeat) alive.set(this, true);
    c.conn.flushNow(); // the pong comes after what was queued before the ping
    if (this.readyState !== this.OPEN) return;
    this.pong(data);
    c.conn.wrote(); // unanswered pongs pile up in the socket: priced like any output
  }
  function onPong(this: WebSocket) {
    if (heartbeat && served.has(this)) alive.set(this, true);
  }
  function onError(this: WebSocket, err: Error & { code?: string }) {
    const c = served.get(this);
    if (!c) return;
    c.failed = true;
    const [code, what] = closeCodeOf(err);
    metrics.inc("wirechat_errors_total", 1, { code: what });
    log.info("{remote} sent an invalid frame ({error}); closing with {code}", {
      remote: c.remote,
      error: err.message,
      code,
    });
    // `ws` has already sent its close frame with `code`; this ends the session now.
    c.conn.peer.close(code, err.message.slice(0, 100));
  }
  function onClose(this: WebSocket) {
    const c = served.get(this);
    alive.delete(this);
    if (!c) return;
    c.conn.ended();
    c.ended();
  }

  function refuseFull(req: IncomingMessage, socket: Duplex, head: Buffer) {
    chosen.set(req, false);
    wss.handleUpgrade(req, socket, head, (ws) => {
      const timer = setTimeout(() => ws.terminate(), closeTimeoutMs);
      ws.on("close", () => clearTimeout(timer));
      ws.on("error", () => {});
      ws.send(formatLine({ type: "error", code: "server_full" }));
      ws.close(CloseCode.TRY_AGAIN, "Server full");
    });
  }

  function serve(
    ws: WebSocket,
    socket: Duplex,
    dialect: Dialect,
    remote: string,
    protocols: readonly string[],
    forwardedFor: string | undefined,
  ) {
    const conn = openConnection(ctx, {
      remote,
      protocols,
      forwardedFor,
      transport: "ws",
      dialect,
      closeTimeoutMs,
      wire: {
        encode: dialect.batch ? frames.batch : frames.line,
        write(bytes) {
          if (ws.readyState === ws.OPEN) socket.write(bytes);
        },
        unsent: () => socket.writableLength,
        close(code, reason) {
          ws.close(code, reason);
        },
        destroy: () => ws.terminate(),
      },
    });
    let ended!: () => void;
    ctx.track(new Promise<void>((resolve) => ended = resolve), remote);
    if (heartbeat) alive.set(ws, true);
    served.set(ws, { conn, remote, failed: false, ended });
    ws.on("message", onMessage);
    ws.on("ping", onPing);
    ws.on("pong", onPong);
    ws.on("error", onError);
    socket.once("finish", () => {
      // A failed connection (RFC 6455 §7.1.7) is closed once its close frame is out: nothing more is read from it.
      if (served.get(ws)?.failed) return void socket.destroy();
      // The close handshake is complete (both close frames exchanged) once `ws` ends its side: the member leaves
      // now and the TCP connection has the close timeout to go.
      conn.peer.close(CloseCode.NORMAL, "Closed by client");
    });
    ws.on("close", onClose);
    conn.open();
  }

  return {
    upgrade(req, socket, head, request, remote) {
      socket.on("error", () => {}); // a reset during the handshake is not the server's problem
      const problem = handshakeProblem(req);
      if (problem) {
        metrics.inc("wirechat_errors_total", 1, { code: "bad_handshake" });
        return refuseHandshake(socket, problem.status, problem.reason + "\n", problem.headers);
      }
      const path = new URL(request.url).pathname;
      const offered = offeredProtocols(request.headers.get("sec-websocket-protocol"));
      const route = negotiate(ctx, path, offered);
      if (!route) return refuseHandshake(socket, 404, "Not found\n");
      const refusal = guard(request, remote);
      if (refusal === "server_full") return refuseFull(req, socket, head);
      if (refusal) {
        const headers: Record<string, string> = {};
        refusal.headers.forEach((value, name) => headers[name] = value);
        void refusal.text().then((body) => refuseHandshake(socket, refusal.status, body, headers));
        return;
      }
      chosen.set(req, route.protocol ?? false);
      const forwardedFor = forwardedClient(request.headers);
      wss.handleUpgrade(req, socket, head, (ws) => serve(ws, socket, route.dialect, remote, offered, forwardedFor));
    },
    close() {
      clearInterval(heartbeat);
    },
  };
}
