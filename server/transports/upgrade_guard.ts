/**
 * The checks every WebSocket upgrade passes before a session exists, in one
 * function so every upgrade path (`/`, other dialects' paths) uses the same
 * ones: shutting down (503), Host (421, see `allowed_hosts.ts`; every other
 * HTTP route checks it too), Origin (403), new-connection rate per address
 * (429), and the client limits (`ERR Server full`, close 1013, by the transport).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import type { ServerContext } from "../core/context.ts";
import { addressOf, parseList, type Refusal } from "../core/limits.ts";
import type { RequestHead } from "./http_listener.ts";
import { originAllowed } from "./origin.ts";
import { createHostAllowList, hostAllowed, type HostAllowList, machineNames, requestHost } from "./allowed_hosts.ts";

const log = getLogger(["wirechat", "limits"]);

/**
 * Returns a refusal response for an upgrade request, `"server_full"` when the
 * client limits refuse it (the transport upgrades only to say `ERR Server
 * full` and close with 1013, so that a browser, which cannot read an HTTP
 * refusal of an upgrade, can tell the user), or undefined to accept it.
 */
export type UpgradeGuard = (req: RequestHead, remote: string) => Response | "server_full" | undefined;

/** A check that answers a refusal response or undefined (the Host check). */
export type RequestGuard = (req: RequestHead, remote: string) => Response | undefined;

/** Why a request is refused before a session exists (the `reason` label of `wirechat_connections_refused_total`). */
export type GuardRefusal = Refusal | "origin" | "host" | "shutting_down";

function plain(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...headers },
  });
}

function refuser(ctx: ServerContext) {
  return (reason: GuardRefusal, remote: string) => {
    ctx.metrics.inc("wirechat_connections_refused_total", 1, { reason });
    log.warn("Refused a connection from {remote}: {reason}", { remote, reason });
  };
}

/**
 * Creates the Host check for `ctx` (see `allowed_hosts.ts`): a 421 response
 * for a request naming a host this server does not answer to, else undefined.
 * Every HTTP route runs it: a rebound name could otherwise read `/metrics`.
 */
export function createHostGuard(ctx: ServerContext): RequestGuard {
  let list = hostLists.get(ctx);
  if (list === undefined) hostLists.set(ctx, list = hostListFor(ctx));
  const refused = refuser(ctx);
  return (req, remote) => {
    if (hostAllowed(requestHost(req), list)) return undefined;
    refused("host", remote);
    return plain(421, "Misdirected request: this server does not answer to that Host name (see --allowed-hosts)\n");
  };
}

/** One allow-list per server: the machine's names are read (and a problem reported) once. */
const hostLists = new WeakMap<ServerContext, HostAllowList>();

function hostListFor(ctx: ServerContext): HostAllowList {
  return createHostAllowList(ctx.config.host, parseList(ctx.config.allowedHosts), () => {
    const machine = machineNames();
    if (machine.problem !== undefined) {
      log.warn("Host check: {problem}; only localhost, loopback and --allowed-hosts names are served", {
        problem: machine.problem,
      });
    }
    return machine;
  });
}

/** Creates the guard for `ctx` (sharing `hostGuard` when given); call it for every upgrade request. */
export function createUpgradeGuard(ctx: ServerContext, hostGuard: RequestGuard = createHostGuard(ctx)): UpgradeGuard {
  const allowed = parseList(ctx.config.allowedOrigins);
  const retryAfter = String(Math.max(1, Math.ceil(60 / Math.max(ctx.config.connectsPerMinute, 1))));
  const refused = refuser(ctx);
  return (req, remote) => {
    if (ctx.shuttingDown) {
      refused("shutting_down", remote);
      return plain(503, "Server shutting down\n");
    }
    const misdirected = hostGuard(req, remote);
    if (misdirected) return misdirected;
    if (!originAllowed(req, allowed)) {
      refused("origin", remote);
      return plain(403, "Origin not allowed\n");
    }
    const reason = ctx.admission.check(addressOf(remote), ctx.admission.total());
    if (reason === undefined) return undefined;
    refused(reason, remote);
    if (reason === "connect_rate") return plain(429, "Too many connections\n", { "retry-after": retryAfter });
    return "server_full";
  };
}
