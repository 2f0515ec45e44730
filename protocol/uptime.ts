/**
 * The uptime format of the original Wirechat's `UPTIME` and `STATS`.
 *
 * @module
 */

/**
 * Formats a duration: `Ss` under a minute, `Zm Ss` under an hour, `Yh Zm`
 * under a day, then `Xd Yh Zm` (whole units, rounded down).
 *
 * @example
 * ```ts
 * import { formatUptime } from "./uptime.ts";
 * if (formatUptime(59_999) !== "59s" || formatUptime(3_661_000) !== "1h 1m") throw new Error();
 * ```
 */
export function formatUptime(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600) % 24;
  const d = Math.floor(total / 86_400);
  if (total < 60) return `${s}s`;
  if (total < 3600) return `${m}m ${s}s`;
  if (total < 86_400) return `${h}h ${m}m`;
  return `${d}d ${h}h ${m}m`;
}
