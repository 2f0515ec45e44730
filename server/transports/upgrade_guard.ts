/**
 * The checks every WebSocket upgrade passes before a session exists, in one
 * function so every upgrade path (`/`, other dialects' paths) uses the same
 * ones: shutting down (503), Origin (403), new-connection rate per address
 * (429), and the client limits (`ERR Server full`, close 1013).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { CloseCode, formatLine } from "../../protocol/mod.ts";
import type { ServerContext } from "../core/context.ts";
import { addressOf, parseList, type Refusal } from "../core/limits.ts";
import { originAllowed } from "./origin.ts";

const log = getLogger(["wirechat", "limits"]);

/** Returns a refusal response for an upgrade request, or undefined to accept it. */
export type UpgradeGuard = (req: Request, remote: string) => Response | undefined;

function plain(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...headers },
  });
}

/**
 * Upgrades only to say `ERR Server full` and close with 1013, so that a
 * browser (which cannot read an HTTP refusal of an upgrade) can tell the user.
 */
export function refuseFull(req: Request): Response {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => {
    try {
      socket.send(formatLine({ type: "error", code: "server_full" }));
      socket.close(CloseCode.TRY_AGAIN, "Server full");
    } catch { /* the client already left */ }
  };
  socket.onerror = () => {};
  return response;
}

/** Creates the guard for `ctx`; call it for every upgrade request. */
export function createUpgradeGuard(ctx: ServerContext): UpgradeGuard {
  const allowed = parseList(ctx.config.allowedOrigins);
  const retryAfter = String(Math.max(1, Math.ceil(60 / Math.max(ctx.config.connectsPerMinute, 1))));
  const refused = (reason: Refusal | "origin" | "shutting_down", remote: string) => {
    ctx.metrics.inc("wirechat_connections_refused_total", 1, { reason });
    log.warn("Refused a connection from {remote}: {reason}", { remote, reason });
  };
  return (req, remote) => {
    if (ctx.shuttingDown) {
      refused("shutting_down", remote);
      return plain(503, "Server shutting down\n");
    }
    if (!originAllowed(req, allowed)) {
      refused("origin", remote);
      return plain(403, "Origin not allowed\n");
    }
    const reason = ctx.admission.check(addressOf(remote), ctx.admission.total());
    if (reason === undefined) return undefined;
    refused(reason, remote);
    if (reason === "connect_rate") return plain(429, "Too many connections\n", { "retry-after": retryAfter });
    return refuseFull(req);
  };
}
