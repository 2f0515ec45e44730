/**
 * LogTape sinks for operational logs: stderr, and a daily file
 * `<dir>/<YYYY-MM-DD>-server.log` beside the message log.
 *
 * @module
 */
import { getTimeRotatingFileSink } from "@logtape/file";
import { getTextFormatter, type Sink } from "@logtape/logtape";

const formatter = getTextFormatter({
  timestamp: "date-time-timezone",
  value: (v) => (typeof v === "string" ? v : Deno.inspect(v)),
});
const encoder = new TextEncoder();

/** Writes each record synchronously to stderr. */
export function stderrSink(): Sink {
  return (record) => {
    try {
      Deno.stderr.writeSync(encoder.encode(formatter(record)));
    } catch { /* stderr closed: nothing better to do */ }
  };
}

/** A daily operational log file in `dir`. */
export function dailyFileSink(dir: string): Sink & Disposable {
  Deno.mkdirSync(dir, { recursive: true });
  return getTimeRotatingFileSink({
    directory: dir,
    interval: "daily",
    filename: (date) => `${date.toISOString().slice(0, 10)}-server.log`,
    formatter,
    bufferSize: 0,
  });
}
