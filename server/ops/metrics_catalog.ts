/**
 * The server's metric names and help texts in one place, so `/metrics` lists
 * every counter from the start (at 0) and operators can rely on the names.
 *
 * @module
 */
import type { Metrics } from "./metrics.ts";

/** Counters and their help texts. */
export const SERVER_COUNTERS: Readonly<Record<string, string>> = {
  wirechat_connections_total: "Connections accepted, by transport kind",
  wirechat_connections_refused_total:
    "Connection attempts refused before a session, by reason (server_full, address_full, connect_rate, origin, host, shutting_down, handshakes_full, header_timeout; host also counts other HTTP requests refused for their Host)",
  wirechat_messages_total: "Public chat messages broadcast",
  wirechat_frames_in_total: "Frames (WebSocket) or lines (TCP) received",
  wirechat_bytes_in_total: "Bytes received in frames or lines (WebSocket: UTF-16 code units of the text)",
  wirechat_lines_out_total: "Lines sent to clients",
  wirechat_bytes_out_total: "Bytes written to clients (wire bytes, WebSocket frame headers included)",
  wirechat_errors_total: "ERR replies and protocol-level closes, by code (rate_limited counts refused flood lines)",
  wirechat_slow_consumer_disconnects_total: "Clients disconnected for not reading their output",
  wirechat_close_timeouts_total: "Connections dropped because their close handshake (or FIN) did not complete in time",
  wirechat_log_lines_skipped_total: "Message log lines skipped on load because they are longer than the line limit",
  wirechat_log_write_failures_total: "Message log writes that failed",
};

/** The process memory gauges: name, help, and the field of `Deno.memoryUsage()` each shows. */
const MEMORY_GAUGES: readonly (readonly [string, string, keyof Deno.MemoryUsage])[] = [
  ["wirechat_process_resident_memory_bytes", "Resident set size of the server process", "rss"],
  [
    "wirechat_process_heap_used_bytes",
    "JavaScript heap in use (live objects and garbage not yet collected)",
    "heapUsed",
  ],
  ["wirechat_process_heap_total_bytes", "JavaScript heap reserved by the engine", "heapTotal"],
  [
    "wirechat_process_external_memory_bytes",
    "Memory outside the JavaScript heap held by JavaScript objects (buffers)",
    "external",
  ],
];

/** Describes every server counter and adds the process memory gauges. */
export function describeServerMetrics(metrics: Metrics): void {
  for (const [name, help] of Object.entries(SERVER_COUNTERS)) metrics.describe(name, help);
  for (const [name, help, field] of MEMORY_GAUGES) metrics.gauge(name, help, () => Deno.memoryUsage()[field]);
}
