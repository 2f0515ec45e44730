/**
 * The Origin check for WebSocket upgrades. Browsers always send `Origin`;
 * a page from another site must not be able to open a chat connection with
 * the visitor's network position (cross-site WebSocket hijacking). Clients
 * that are not browsers send no `Origin` and are let through. The own-origin
 * default trusts the `Host` header, so the Host allow-list
 * (`allowed_hosts.ts`) runs first: without it a rebound name passes both.
 *
 * @module
 */
import type { RequestHead } from "./http_listener.ts";

function normalize(origin: string): string | undefined {
  if (origin === "null") return "null";
  try {
    return new URL(origin).origin;
  } catch {
    return undefined;
  }
}

/**
 * True when `req` may upgrade. `allowed` lists origins (`https://chat.example`)
 * or `*`; empty means the server's own origin only: `http://` or `https://`
 * followed by the request's `Host` header.
 *
 * @example
 * ```ts
 * import { originAllowed } from "./origin.ts";
 * const req = (origin?: string) =>
 *   new Request("http://chat.example/", { headers: origin ? { host: "chat.example", origin } : { host: "chat.example" } });
 * if (!originAllowed(req(), [])) throw new Error("no Origin must pass");
 * if (!originAllowed(req("https://chat.example"), [])) throw new Error("own origin must pass");
 * if (originAllowed(req("https://evil.example"), [])) throw new Error("other origin must fail");
 * ```
 */
export function originAllowed(req: RequestHead, allowed: readonly string[]): boolean {
  const raw = req.headers.get("origin");
  if (raw === null) return true;
  if (allowed.includes("*")) return true;
  const origin = normalize(raw.trim());
  if (origin === undefined) return false;
  if (allowed.length > 0) return allowed.some((a) => normalize(a) === origin);
  const host = req.headers.get("host");
  if (!host) return false;
  return origin === normalize(`http://${host}`) || origin === normalize(`https://${host}`);
}
