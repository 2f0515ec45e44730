/**
 * The chat port: a TCP (or, with `--tls-cert`/`--tls-key`, TLS) listener
 * whose connections are parsed by `node:http`. Plain requests (the page,
 * `/healthz`, `/metrics`) go to a fetch-style handler (`Request` in,
 * `Response` out); upgrade requests go to the WebSocket transport with the
 * raw socket.
 *
 * The listener accepts the sockets itself (and hands them to `node:http`) so
 * that a connection is bounded before its request is complete: until its
 * headers have arrived it counts against `--max-clients` and
 * `--max-clients-per-address` (in a table of its own: beyond them new
 * connections are dropped at once), and it must complete them within
 * `--header-timeout` seconds or be dropped (a client sending its headers one
 * byte a second holds nothing for long). Plain requests get
 * `Connection: close`: one request per connection, so every request is
 * under the same deadline.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import http from "node:http";
import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { getLogger } from "@logtape/logtape";
import type { ServerContext } from "../core/context.ts";
import { addressOf, createAdmission, parseList } from "../core/limits.ts";
import type { TlsFiles } from "./tls.ts";

const log = getLogger(["wirechat", "http"]);

/** Default seconds a connection may take to send its complete HTTP request headers. */
export const DEFAULT_HEADER_TIMEOUT = 10;

/** Answers a plain HTTP request. */
export type HttpHandler = (req: Request, info: Deno.ServeHandlerInfo) => Response | Promise<Response>;

/** What the checks read of a request: a fetch `Request` is one, and so is {@linkcode requestHead}'s view. */
export interface RequestHead {
  readonly method: string;
  /** The absolute URL (scheme, the `Host` header, the request target). */
  readonly url: string;
  readonly headers: { get(name: string): string | null };
}

/** Takes over an upgrade request's socket. */
export type UpgradeHandler = (
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  request: RequestHead,
  remote: string,
) => void;

/** Options for {@linkcode listenHttp}. */
export interface HttpListenOptions {
  hostname: string;
  port: number;
  tls?: TlsFiles;
  handler: HttpHandler;
  upgrade: UpgradeHandler;
}

/** A running chat-port listener. */
export interface HttpListener {
  readonly addr: Deno.NetAddr;
  /** Stops accepting new connections. */
  stop(): Promise<void>;
  /** Destroys every connection still open (the end of a shutdown). */
  destroyAll(): void;
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatRemote(host: string | undefined, port: number | undefined): string {
  const h = host ?? "unknown";
  return h.includes(":") ? `[${h}]:${port}` : `${h}:${port}`;
}

/**
 * The absolute URL of a request target: an origin-form target (`/path?query`) is a path on the `Host` named, even
 * when it starts with `//` (a URL parser would read `//other.example/` as another host); an absolute-form target
 * (`http://host/path`) is taken as it is. Throws (a 400) when the two make no URL.
 *
 * @example
 * ```ts
 * import { targetUrl } from "./http_listener.ts";
 * if (targetUrl("//evil.example/", "http", "chat.example") !== "http://chat.example//evil.example/") throw new Error();
 * if (targetUrl("/ws?x=1", "https", null) !== "https://localhost/ws?x=1") throw new Error();
 * if (targetUrl("http://chat.example/ws", "http", "chat.example") !== "http://chat.example/ws") throw new Error();
 * ```
 */
export function targetUrl(target: string | undefined, scheme: "http" | "https", host: string | null): string {
  const t = target ?? "/";
  if (/^https?:\/\//i.test(t)) return new URL(t).href;
  return new URL(`${scheme}://${host || "localhost"}${t.startsWith("/") ? t : `/${t}`}`).href;
}

/** The fetch `Request` for a parsed node request (its body is never read: every route is GET/HEAD or refused). */
export function toRequest(req: http.IncomingMessage, scheme: "http" | "https"): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  return new Request(targetUrl(req.url, scheme, headers.get("host")), { method: req.method, headers });
}

/**
 * A light view of a parsed node request, for the upgrade path (every
 * connection takes it): no `Headers` and `Request` objects built per
 * connection. `headers.get` is `Headers.get`'s: case-insensitive, repeated
 * fields joined by `, `. The URL is parsed here, so a Host that makes no URL
 * throws like {@linkcode toRequest}.
 *
 * @example
 * ```ts
 * import { requestHead } from "./http_listener.ts";
 * import type http from "node:http";
 * const raw = ["Host", "chat.example", "X-A", "1", "x-a", "2"];
 * const head = requestHead({ rawHeaders: raw, url: "/ws?x", method: "GET" } as http.IncomingMessage, "http");
 * if (head.url !== "http://chat.example/ws?x" || head.headers.get("x-a") !== "1, 2") throw new Error(head.url);
 * if (head.headers.get("origin") !== null) throw new Error("absent is null");
 * ```
 */
export function requestHead(req: http.IncomingMessage, scheme: "http" | "https"): RequestHead {
  const raw = req.rawHeaders;
  const get = (name: string): string | null => {
    const wanted = name.toLowerCase();
    let value: string | null = null;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i].length === wanted.length && raw[i].toLowerCase() === wanted) {
        value = value === null ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
      }
    }
    return value;
  };
  return { method: req.method ?? "GET", url: targetUrl(req.url, scheme, get("host")), headers: { get } };
}

/** Starts listening; resolves once bound. */
export async function listenHttp(ctx: ServerContext, options: HttpListenOptions): Promise<HttpListener> {
  const { config, metrics } = ctx;
  const scheme = options.tls ? "https" : "http";
  const headerTimeoutMs = config.headerTimeout * 1000;
  /** Connections whose request headers are not complete yet, per address. */
  const handshakes = createAdmission({
    maxClients: config.maxClients,
    maxClientsPerAddress: config.maxClientsPerAddress,
    connectsPerMinute: Number.MAX_SAFE_INTEGER,
    exempt: parseList(config.limitExempt),
  });
  /** Per socket (raw TCP and, with TLS, the TLS socket): releases its handshake slot. */
  const pending = new Map<string, () => void>();
  const sockets = new Set<Duplex>();

  const parser = http.createServer();
  parser.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const remote = formatRemote(req.socket.remoteAddress, req.socket.remotePort);
    pending.get(remote)?.();
    answer(req, res, remote).catch((err) => {
      log.error("Answering {remote} failed: {error}", { remote, error: String(err) });
      res.destroy();
    });
  });
  parser.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const remote = formatRemote(req.socket.remoteAddress, req.socket.remotePort);
    pending.get(remote)?.();
    let request: RequestHead;
    try {
      request = requestHead(req, scheme);
    } catch {
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
      return;
    }
    try {
      options.upgrade(req, socket, head, request, remote);
    } catch (err) {
      log.error("Upgrade of {remote} failed: {error}", { remote, error: String(err) });
      socket.destroy();
    }
  });
  parser.on("clientError", (_err: Error, socket: Duplex) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });

  async function answer(req: http.IncomingMessage, res: http.ServerResponse, remote: string) {
    let response: Response;
    try {
      const request = toRequest(req, scheme);
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        // An upgrade without `Connection: Upgrade` is not a handshake (RFC 6455 §4.2.1).
        response = new Response("Connection: Upgrade is required\n", { status: 400 });
      } else {
        const [host, port] = [req.socket.remoteAddress ?? "", req.socket.remotePort ?? 0];
        response = await options.handler(request, {
          remoteAddr: { transport: "tcp", hostname: host, port },
          completed: Promise.resolve(),
        } as Deno.ServeHandlerInfo);
      }
    } catch (err) {
      if (!(err instanceof TypeError)) log.error("HTTP handler failed: {error}", { error: String(err) });
      response = new Response(err instanceof TypeError ? "Bad request\n" : "Internal error\n", {
        status: err instanceof TypeError ? 400 : 500,
      });
    }
    const headers: [string, string][] = [];
    response.headers.forEach((value, name) => headers.push([name, value]));
    headers.push(["connection", "close"]);
    const body = req.method === "HEAD" || response.body === null
      ? undefined
      : Buffer.from(await response.arrayBuffer());
    if (body !== undefined && !response.headers.has("content-length")) {
      headers.push(["content-length", String(body.length)]);
    }
    res.writeHead(response.status, headers.flat());
    res.end(body);
    log.debug("{method} {url} {status} for {remote}", {
      method: req.method,
      url: req.url,
      status: response.status,
      remote,
    });
  }

  function accepted(raw: net.Socket) {
    sockets.add(raw);
    raw.on("error", () => {});
    raw.once("close", () => sockets.delete(raw));
    if (ctx.shuttingDown) return void raw.destroy();
    const remote = formatRemote(raw.remoteAddress, raw.remotePort);
    const address = addressOf(remote);
    const refusal = handshakes.check(address, handshakes.total());
    if (refusal !== undefined) {
      metrics.inc("wirechat_connections_refused_total", 1, { reason: "handshakes_full" });
      log.warn("Refused a connection from {remote}: too many incomplete requests", { remote });
      return void raw.destroy();
    }
    handshakes.opened(address);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      timer = undefined; // not kept for the connection's life by this closure
      raw.off("close", release);
      pending.delete(remote);
      handshakes.closed(address);
    };
    let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(() => {
      metrics.inc("wirechat_connections_refused_total", 1, { reason: "header_timeout" });
      log.warn("Dropping {remote}: no complete request within {seconds} s", { remote, seconds: config.headerTimeout });
      release();
      raw.destroy();
    }, headerTimeoutMs);
    pending.set(remote, release);
    raw.once("close", release);
  }

  const server = options.tls
    ? tls.createServer({ cert: options.tls.cert, key: options.tls.key }, (secure: tls.TLSSocket) => {
      sockets.add(secure);
      secure.once("close", () => sockets.delete(secure));
      parser.emit("connection", secure);
    })
    : net.createServer((raw: net.Socket) => parser.emit("connection", raw));
  server.on("connection", accepted);
  server.on("tlsClientError", (_err: Error, socket: Duplex) => socket.destroy());

  const bound = Promise.withResolvers<void>();
  server.once("error", bound.reject);
  server.listen({ port: options.port, host: options.hostname, backlog: config.listenBacklog }, () => bound.resolve());
  await bound.promise;
  server.off("error", bound.reject);
  server.on("error", (err: Error) => log.error("Listener error: {error}", { error: String(err) }));
  const info = server.address() as net.AddressInfo;

  let stopped: Promise<void> | undefined;
  return {
    addr: { transport: "tcp", hostname: info.address, port: info.port },
    stop() {
      return stopped ??= new Promise((resolve) => server.close(() => resolve()));
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
