/**
 * Who may read the operational numbers (`/metrics`, the counts in
 * `/healthz`) on the chat port: a trusted peer (by default any loopback
 * address: the host's own Prometheus or `wirechat healthcheck`), or a request
 * carrying the configured bearer token. A request relayed by a proxy (it
 * carries `Forwarded`, `X-Forwarded-For` or `X-Real-IP`) is never trusted by
 * its address: behind nginx on the same host every visitor comes from
 * loopback.
 *
 * @module
 */
import { loadSecret, secretsEqual } from "./secret.ts";

/** The `--metrics-peers` item that stands for every loopback address. */
export const LOOPBACK_PEERS = "loopback";
/** Default of `--metrics-peers`: loopback only. */
export const DEFAULT_METRICS_PEERS = LOOPBACK_PEERS;
/** Headers a reverse proxy adds; their presence means the peer address is the proxy's, not the client's. */
export const FORWARDING_HEADERS: readonly string[] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/**
 * True for loopback addresses: `127.0.0.0/8`, `::1` and IPv4-mapped
 * `::ffff:127.x.x.x`.
 *
 * @example
 * ```ts
 * import { isLoopback } from "./metrics_access.ts";
 * if (!isLoopback("127.0.0.1") || !isLoopback("::1") || !isLoopback("::ffff:127.1.2.3")) throw new Error();
 * if (isLoopback("10.0.0.1") || isLoopback("::2") || isLoopback("127.example")) throw new Error();
 * ```
 */
export function isLoopback(address: string): boolean {
  const a = address.toLowerCase();
  const v4 = a.startsWith("::ffff:") ? a.slice(7) : a;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4)) return true;
  return a === "::1" || a === "0:0:0:0:0:0:0:1";
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.7`, how a dual-stack listener reports IPv4 peers) as plain IPv4. */
function unmapped(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

/**
 * True when a peer at `address` (no port) is trusted by the `--metrics-peers`
 * items `trusted` (`loopback`, or exact addresses; IPv4-mapped IPv6 peers
 * match their IPv4 address). A pure function of the
 * address: the part of the decision tests cannot reach over a real socket,
 * which on this machine always comes from loopback.
 *
 * @example
 * ```ts
 * import { peerTrusted } from "./metrics_access.ts";
 * if (!peerTrusted("127.0.0.1", ["loopback"]) || peerTrusted("10.0.0.7", ["loopback"])) throw new Error();
 * if (!peerTrusted("10.0.0.7", ["loopback", "10.0.0.7"]) || peerTrusted("127.0.0.1", [])) throw new Error();
 * if (!peerTrusted("::ffff:10.0.0.7", ["10.0.0.7"])) throw new Error("mapped");
 * ```
 */
export function peerTrusted(address: string, trusted: readonly string[]): boolean {
  const peer = unmapped(address);
  return trusted.some((t) => t === LOOPBACK_PEERS ? isLoopback(peer) : unmapped(t) === peer);
}

/** How a request may see the numbers: granted (and why), or refused (and why). */
export type MetricsAccess = "peer" | "token" | "no_token" | "bad_token";

/** Settings of {@linkcode createMetricsAccess}. */
export interface MetricsAccessOptions {
  /** `--metrics-peers` items. */
  trusted: readonly string[];
  /** The bearer token; undefined or empty: none configured. */
  token: string | undefined;
}

/**
 * Creates the decision for a request from `address` (no port). The token is
 * compared in constant time (as SHA-256 digests, so its length does not leak
 * either).
 */
export function createMetricsAccess(options: MetricsAccessOptions): (req: Request, address: string) => MetricsAccess {
  const expected = options.token || undefined;
  return (req, address) => {
    const auth = req.headers.get("authorization");
    const bearer = auth === null ? undefined : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(auth)?.[1];
    if (auth !== null) {
      if (expected !== undefined && bearer !== undefined && secretsEqual(bearer, expected)) return "token";
      return "bad_token";
    }
    const proxied = FORWARDING_HEADERS.some((h) => req.headers.has(h));
    return !proxied && peerTrusted(address, options.trusted) ? "peer" : "no_token";
  };
}

/**
 * The token from `WIRECHAT_METRICS_TOKEN` (`token`) or the first line of
 * `--metrics-token-file` (`file`); undefined when neither is set.
 *
 * @throws {StartupError} `metrics_token` when both are set, or the file cannot be read or is empty.
 */
export function loadMetricsToken(token: string | undefined, file: string | undefined): string | undefined {
  return loadSecret(token, file, {
    envVar: "WIRECHAT_METRICS_TOKEN",
    fileFlag: "--metrics-token-file",
    code: "metrics_token",
  });
}
