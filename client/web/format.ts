/**
 * Small formatting helpers of the browser client. Pure: no DOM.
 *
 * @module
 */

/** The page title without unread messages. */
export const BASE_TITLE = "Wirechat";

/**
 * The tab title: the unread count first while there is any, then how many
 * of those mention the user (or are private messages to them).
 *
 * @example
 * ```ts
 * import { titleFor } from "./format.ts";
 * if (titleFor(0) !== "Wirechat" || titleFor(3) !== "(3) Wirechat") throw new Error();
 * if (titleFor(3, 1) !== "(3 · @1) Wirechat") throw new Error();
 * ```
 */
export function titleFor(unread: number, mentions = 0, base = BASE_TITLE): string {
  if (unread <= 0) return base;
  return mentions > 0 ? `(${unread} · @${mentions}) ${base}` : `(${unread}) ${base}`;
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

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The local calendar day of a contract timestamp (`YYYY-M-D`), or undefined
 * when it is not a date. Two lines on one day have the same key.
 *
 * @example
 * ```ts
 * import { dayKey } from "./format.ts";
 * if (dayKey("nonsense") !== undefined) throw new Error();
 * if (dayKey("2026-11-20T10:00:00Z") === undefined) throw new Error();
 * ```
 */
export function dayKey(ts: string): string | undefined {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return undefined;
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/**
 * The label of a day divider, in local time: "Today", "Yesterday", else
 * "Fri 20 Nov" (with the year when it is not this year's).
 *
 * @example
 * ```ts
 * import { dayLabel } from "./format.ts";
 * const now = new Date(2026, 10, 26, 9, 0);
 * if (dayLabel(new Date(2026, 10, 26, 0, 1).toISOString(), now) !== "Today") throw new Error();
 * if (dayLabel(new Date(2026, 10, 25, 23, 59).toISOString(), now) !== "Yesterday") throw new Error();
 * if (dayLabel(new Date(2026, 10, 20, 10, 0).toISOString(), now) !== "Fri 20 Nov") throw new Error();
 * if (dayLabel(new Date(2025, 11, 31, 10, 0).toISOString(), now) !== "Wed 31 Dec 2025") throw new Error();
 * ```
 */
export function dayLabel(ts: string, now: Date): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ts;
  const key = dayKey(ts);
  if (key === dayKey(now.toISOString())) return "Today";
  const yesterday = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1, 12);
  if (key === dayKey(yesterday.toISOString())) return "Yesterday";
  const label = `${WEEKDAYS[d.getDay()]} ${d.getDate()} ${MONTHS[d.getMonth()]}`;
  return d.getFullYear() === now.getFullYear() ? label : `${label} ${d.getFullYear()}`;
}
