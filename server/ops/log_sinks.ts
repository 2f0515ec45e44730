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

/** Operational log records are buffered up to this many characters… */
export const LOG_BUFFER_BYTES = 16 * 1024;
/** …or this many milliseconds, whichever comes first, then written to the daily file. */
export const LOG_FLUSH_MS = 250;

/** Writes each record synchronously to stderr. */
export function stderrSink(): Sink {
  return (record) => {
    try {
      Deno.stderr.writeSync(encoder.encode(formatter(record)));
    } catch { /* stderr closed: nothing better to do */ }
  };
}

/** A daily operational log file in `dir`. */
export function dailyFileSink(dir: string): Sink & AsyncDisposable {
  Deno.mkdirSync(dir, { recursive: true });
  return getTimeRotatingFileSink({
    directory: dir,
    interval: "daily",
    filename: (date) => `${date.toISOString().slice(0, 10)}-server.log`,
    formatter,
    // Records are written (not fsync'd) within LOG_FLUSH_MS; the fsync runs off the event loop. With
    // bufferSize 0 every record cost an fsync on the event loop: 1 000 clients joining took seconds.
    nonBlocking: true,
    bufferSize: LOG_BUFFER_BYTES,
    flushInterval: LOG_FLUSH_MS,
  }) as unknown as Sink & AsyncDisposable; // the first overload (Disposable) wins although nonBlocking is set
}
