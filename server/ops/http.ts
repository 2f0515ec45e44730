/**
 * HTTP routes: `/` upgrades to WebSocket or serves the browser client
 * (embedded files, see `static.ts`), `/healthz` reports status, `/metrics`
 * the Prometheus numbers; anything else is 404. Every route first checks the
 * Host (see `allowed_hosts.ts`).
 *
 * @module
 */
import type { ServerContext } from "../core/context.ts";
import { serveWebAsset } from "./static.ts";
import { createHostGuard, createUpgradeGuard } from "../transports/upgrade_guard.ts";
import { WSCHAT_PATH } from "../dialects/wschat.ts";
import { acceptWebSocket } from "../transports/ws.ts";

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...headers },
  });
}

function remoteOf(info: Deno.ServeHandlerInfo): string {
  const addr = info.remoteAddr as Deno.NetAddr;
  return addr.hostname.includes(":") ? `[${addr.hostname}]:${addr.port}` : `${addr.hostname}:${addr.port}`;
}

/** Builds the `Deno.serve` handler. */
export function createHandler(ctx: ServerContext): Deno.ServeHandler {
  const hostGuard = createHostGuard(ctx);
  const guard = createUpgradeGuard(ctx, hostGuard);
  return (req, info) => {
    const url = new URL(req.url);
    const remote = remoteOf(info);
    const upgrade = req.headers.get("upgrade")?.toLowerCase() === "websocket";
    if (url.pathname === "/" && upgrade) {
      return guard(req, remote) ?? acceptWebSocket(req, remote, ctx);
    }
    if (url.pathname === WSCHAT_PATH && upgrade) {
      return guard(req, remote) ?? acceptWebSocket(req, remote, ctx, { dialect: ctx.dialects.wschat });
    }
    const misdirected = hostGuard(req, remote);
    if (misdirected) return misdirected;
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "Method not allowed\n", { allow: "GET, HEAD" });
    if (url.pathname === "/healthz") {
      const body = JSON.stringify({
        status: ctx.shuttingDown ? "shutting_down" : "ok",
        connections: ctx.connections.size,
        members: ctx.room.size,
      });
      return new Response(body + "\n", {
        status: ctx.shuttingDown ? 503 : 200,
        headers: { "content-type": "application/json", ...SECURITY_HEADERS },
      });
    }
    if (url.pathname === "/metrics") {
      return text(200, ctx.metrics.render(), { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    }
    const asset = serveWebAsset(req, url.pathname, SECURITY_HEADERS);
    if (asset) return asset;
    return text(404, "Not found\n");
  };
}
