/**
 * The start-up banner: where to point a browser, a WebSocket client, the
 * terminal client and line tools, and where the logs go. Printed by
 * `main.ts` once the server listens (the operational log keeps its own
 * "Listening on …" line for scripts).
 *
 * @module
 */

/** What the banner describes. */
export interface BannerInfo {
  version: string;
  tls: boolean;
  /** The bound HTTP/WebSocket address. */
  addr: { hostname: string; port: number };
  tcpAddr?: { hostname: string; port: number };
  riftchatAddr?: { hostname: string; port: number };
  /** The log folder, absolute. */
  logDir: string;
  /** A compiled executable (`wirechat client`) rather than a source tree (`deno task client`). */
  standalone: boolean;
  /** Shared through Redis, when given. */
  redis?: string;
}

const ANY = new Set(["0.0.0.0", "::", "[::]"]);

/** The host to put in a URL for a bound address: loopback for "every interface", brackets for IPv6. */
export function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::" || hostname === "[::]") return "[::1]";
  return hostname.includes(":") && !hostname.startsWith("[") ? `[${hostname}]` : hostname;
}

/**
 * The banner lines.
 *
 * @example
 * ```ts
 * import { startupBanner } from "./banner.ts";
 * const lines = startupBanner({
 *   version: "0.1.0", tls: false, addr: { hostname: "127.0.0.1", port: 12345 }, logDir: "/srv/logs", standalone: false,
 * });
 * if (!lines.some((l) => l.includes("http://127.0.0.1:12345/"))) throw new Error(lines.join("\n"));
 * ```
 */
export function startupBanner(info: BannerInfo): string[] {
  const host = urlHost(info.addr.hostname);
  const page = `${info.tls ? "https" : "http"}://${host}:${info.addr.port}/`;
  const ws = `${info.tls ? "wss" : "ws"}://${host}:${info.addr.port}/`;
  const client = info.standalone ? "wirechat client" : "deno task client";
  const lines = [
    `Wirechat ${info.version} is running${ANY.has(info.addr.hostname) ? " on every network interface" : ""}.`,
    `  Chat page:        ${page}`,
    `  WebSocket:        ${ws}`,
    `  Terminal client:  ${client} --url ${ws}${info.tls ? " (add --ca <file> for a self-signed certificate)" : ""}`,
  ];
  if (info.tcpAddr) {
    const h = urlHost(info.tcpAddr.hostname);
    lines.push(
      `  Plain TCP lines:  ${h}:${info.tcpAddr.port} (e.g. nc ${h.replace(/^\[|\]$/g, "")} ${info.tcpAddr.port})`,
    );
  }
  if (info.riftchatAddr) {
    lines.push(`  RiftChat clients: ${urlHost(info.riftchatAddr.hostname)}:${info.riftchatAddr.port}`);
  }
  if (info.redis) lines.push(`  Shared room:      through Redis at ${info.redis}`);
  lines.push(
    `  Health, metrics:  ${page}healthz, ${page}metrics`,
    `  Logs:             ${info.logDir}/ (YYYY-MM-DD-messages.txt: the chat; YYYY-MM-DD-server.log: this log, also on stderr)`,
    "Stop with Ctrl-C (or SIGTERM).",
  );
  return lines;
}
