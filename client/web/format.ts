/**
 * Small formatting helpers of the browser client. Pure: no DOM.
 *
 * @module
 */

/** The page title without unread messages. */
export const BASE_TITLE = "Wirechat";

/**
 * The tab title: the unread count first while there is any.
 *
 * @example
 * ```ts
 * import { titleFor } from "./format.ts";
 * if (titleFor(0) !== "Wirechat" || titleFor(3) !== "(3) Wirechat") throw new Error();
 * ```
 */
export function titleFor(unread: number, base = BASE_TITLE): string {
  return unread > 0 ? `(${unread}) ${base}` : base;
}

/**
 * Local `HH:MM` for a contract timestamp; the raw text when it is not a date.
 *
 * @example
 * ```ts
 * import { localTime } from "./format.ts";
 * if (!/^\d\d:\d\d$/.test(localTime("2026-11-22T03:11:07.123Z"))) throw new Error();
 * ```
 */
export function localTime(ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  return `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * The WebSocket URL for a page location: `wss:` when the page came over
 * https, the same host and port, path `/`.
 *
 * @example
 * ```ts
 * import { socketUrlFor } from "./format.ts";
 * if (socketUrlFor({ protocol: "https:", host: "chat.example:8443" }) !== "wss://chat.example:8443/") throw new Error();
 * if (socketUrlFor({ protocol: "http:", host: "127.0.0.1:12345" }) !== "ws://127.0.0.1:12345/") throw new Error();
 * ```
 */
export function socketUrlFor(location: { protocol: string; host: string }): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/`;
}
