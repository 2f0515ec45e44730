/**
 * Serves the embedded browser client (`server/ops/web_assets.gen.ts`, built by
 * `deno task build:web`) with a strict Content-Security-Policy: scripts,
 * styles and images only from this origin, and WebSocket connections only
 * to this host. No file is read from disk, so a compiled binary carries the
 * client.
 *
 * @module
 */
import { WEB_ASSETS, type WebAsset } from "./web_assets.gen.ts";

/** A `Host` header we are willing to repeat inside the CSP (no `;`, spaces or quotes). */
const SAFE_HOST = /^[A-Za-z0-9.\-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * The Content-Security-Policy for the page served at `host`: only its own
 * origin, plus `ws:`/`wss:` to the same host for the chat socket.
 *
 * @example
 * ```ts
 * import { contentSecurityPolicy } from "./static.ts";
 * const csp = contentSecurityPolicy("127.0.0.1:12345");
 * if (!csp.includes("connect-src 'self' ws://127.0.0.1:12345 wss://127.0.0.1:12345")) throw new Error(csp);
 * if (contentSecurityPolicy("evil; script-src *").includes("evil")) throw new Error("host not checked");
 * ```
 */
export function contentSecurityPolicy(host: string | null): string {
  const sockets = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${sockets}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const byteLengths = new Map<string, number>();

/** UTF-8 length of an embedded body (for `HEAD`), computed once. */
function byteLength(asset: WebAsset): number {
  let n = byteLengths.get(asset.etag);
  if (n === undefined) {
    n = new TextEncoder().encode(asset.body).length;
    byteLengths.set(asset.etag, n);
  }
  return n;
}

/** The embedded file for a URL path, if there is one. */
export function webAsset(pathname: string): WebAsset | undefined {
  return Object.hasOwn(WEB_ASSETS, pathname) ? WEB_ASSETS[pathname] : undefined;
}

/**
 * Answers a GET/HEAD for an embedded file, or returns undefined when the path
 * is not one (the caller answers 404). `securityHeaders` are added to every
 * response.
 */
export function serveWebAsset(
  req: Request,
  pathname: string,
  securityHeaders: Record<string, string>,
): Response | undefined {
  const asset = webAsset(pathname);
  if (!asset) return undefined;
  const headers: Record<string, string> = {
    ...securityHeaders,
    "content-type": asset.type,
    "content-security-policy": contentSecurityPolicy(req.headers.get("host")),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
    "etag": asset.etag,
  };
  const match = req.headers.get("if-none-match");
  if (match && match.split(",").some((t) => t.trim() === asset.etag)) {
    return new Response(null, { status: 304, headers });
  }
  if (req.method === "HEAD") {
    return new Response(null, { status: 200, headers: { ...headers, "content-length": String(byteLength(asset)) } });
  }
  return new Response(asset.body, { status: 200, headers });
}
