/**
 * HTTP routes: `/` serves the browser client (embedded files, see
 * `static.ts`; upgrades on the same port go to `transports/ws.ts`), `/healthz` reports status (and counts,
 * to trusted peers), `/metrics` the Prometheus numbers (trusted peers or the
 * token only, see `metrics_access.ts`); anything else is 404. Every route
 * first checks the Host (see `allowed_hosts.ts`).
 *
 * @module
 */
import type { ServerContext } from "../core/context.ts";
import { addressOf, parseList } from "../core/limits.ts";
import { serveWebAsset } from "./static.ts";
import { createHostGuard } from "../transports/upgrade_guard.ts";
import { createMetricsAccess, loadMetricsToken } from "./metrics_access.ts";

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

/**
 * Builds the handler for plain HTTP requests (upgrades go to the WebSocket transport).
 *
 * @throws {Error} when the metrics token cannot be read (see `loadMetricsToken`).
 */
export function createHandler(ctx: ServerContext): Deno.ServeHandler {
  const hostGuard = createHostGuard(ctx);
  const token = loadMetricsToken(ctx.config.metricsToken, ctx.config.metricsTokenFile);
  const access = createMetricsAccess({ trusted: parseList(ctx.config.metricsPeers), token });
  return (req, info) => {
    const url = new URL(req.url);
    const remote = remoteOf(info);
    const misdirected = hostGuard(req, remote);
    if (misdirected) return misdirected;
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, "Method not allowed\n", { allow: "GET, HEAD" });
    if (url.pathname === "/healthz") {
      const status = { status: ctx.shuttingDown ? "shutting_down" : "ok" };
      const granted = access(req, addressOf(remote));
      const body = granted === "peer" || granted === "token"
        ? { ...status, connections: ctx.connections.size, members: ctx.room.size }
        : status;
      return new Response(JSON.stringify(body) + "\n", {
        status: ctx.shuttingDown ? 503 : 200,
        headers: { "content-type": "application/json", ...SECURITY_HEADERS },
      });
    }
    if (url.pathname === "/metrics") {
      switch (access(req, addressOf(remote))) {
        case "bad_token":
          return text(403, "Metrics: token refused\n");
        case "no_token":
          return token === undefined
            ? text(403, "Metrics are served to trusted peers only (see --metrics-peers and WIRECHAT_METRICS_TOKEN)\n")
            : text(401, "Metrics need a token: send Authorization: Bearer <token>\n", {
              "www-authenticate": 'Bearer realm="wirechat metrics"',
            });
      }
      return text(200, ctx.metrics.render(), { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    }
    const asset = serveWebAsset(req, url.pathname, SECURITY_HEADERS);
    if (asset) return asset;
    return text(404, "Not found\n");
  };
}
