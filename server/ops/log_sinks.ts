/**
 * LogTape sinks for operational logs: stderr, and a daily file
 * `<dir>/<YYYY-MM-DD>-server.log` beside the message log, named and rotated
 * by the UTC date of each record (like the message log).
 *
 * The file sink never lets a failure escape: an open, write or close that
 * fails (the folder removed, a file where the folder was, a full disk) is
 * counted, reported once per failure streak on stderr, and the server keeps
 * serving; the records of a failed write are dropped (stderr has them).
 * Before each write the folder is created again if it was removed, and the
 * file is opened for that write only, so a removed file or folder is
 * recreated instead of written into the void.
 *
 * @module
 */
import { configure, getTextFormatter, type LogRecord, type Sink } from "@logtape/logtape";

const formatter = getTextFormatter({
  timestamp: "date-time-timezone",
  value: (v) => (typeof v === "string" ? v : Deno.inspect(v)),
});
const encoder = new TextEncoder();

/** Operational log records are buffered up to this many characters… */
export const LOG_BUFFER_BYTES = 16 * 1024;
/** …or this many milliseconds, whichever comes first, then written to the daily file. */
export const LOG_FLUSH_MS = 250;
/**
 * Most characters waiting while a write is in flight (a slow disk); records
 * beyond it are dropped and counted rather than held in memory.
 */
export const LOG_MAX_PENDING_BYTES = 64 * LOG_BUFFER_BYTES;

const DAY_MS = 86_400_000;

function writeAllSync(text: string): void {
  try {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length;) off += Deno.stderr.writeSync(bytes.subarray(off));
  } catch { /* stderr closed: nothing better to do */ }
}

/**
 * Writes records to stderr: warnings and errors synchronously, at once (with
 * whatever was buffered before them, in order); info and debug records at the
 * end of the event-loop turn, one write for all of them. A join storm logs a
 * few records per connection, and one write system call per record was a
 * tenth of the server's time during it. Buffered records are written before
 * the process exits normally (`unload`).
 */
export function stderrSink(): Sink {
  let buffered = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (buffered === "") return;
    const text = buffered;
    buffered = "";
    writeAllSync(text);
  };
  addEventListener("unload", flush);
  return (record) => {
    buffered += formatter(record);
    if (record.level === "warning" || record.level === "error" || record.level === "fatal") flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}

function writeStderr(line: string): void {
  writeAllSync(line + "\n");
}

/** Options of {@linkcode dailyFileSink}. */
export interface DailyFileSinkOptions {
  /** Where a failure streak's start and end are reported (default: a line on stderr). */
  report?: (line: string) => void;
}

/** The daily operational log file sink. */
export interface DailyFileSink extends AsyncDisposable {
  (record: LogRecord): void;
  /** Writes everything buffered now; resolves once written or failed, never rejects. */
  flush(): Promise<void>;
  /** Failed writes so far (each an open, write or close that failed). */
  failures(): number;
  /** Records dropped so far (in a failed write, or beyond {@linkcode LOG_MAX_PENDING_BYTES}). */
  dropped(): number;
}

/** The UTC date (`YYYY-MM-DD`) of a millisecond timestamp. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

/**
 * A daily operational log file in `dir`, `<YYYY-MM-DD>-server.log` by the
 * UTC date of each record's timestamp. Records are formatted on the caller's
 * turn and buffered; the file is written asynchronously (off the event loop)
 * once {@linkcode LOG_BUFFER_BYTES} are waiting or {@linkcode LOG_FLUSH_MS}
 * after the first one. The record's timestamp is the clock seam: a test
 * crosses midnight by logging records stamped on either side of it.
 */
export function dailyFileSink(dir: string, options: DailyFileSinkOptions = {}): DailyFileSink {
  const report = options.report ?? writeStderr;
  /** Formatted lines waiting, by UTC date. */
  let pending = new Map<string, string[]>();
  let pendingBytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;
  let failures = 0;
  let dropped = 0;
  /** Failures and drops in the current streak (0: the last write succeeded). */
  let streakFailures = 0;
  let streakDropped = 0;
  let dayStart = NaN;
  let day = "";

  function dayOf(ms: number): string {
    if (!(ms >= dayStart && ms < dayStart + DAY_MS)) {
      dayStart = Math.floor(ms / DAY_MS) * DAY_MS;
      day = utcDay(dayStart);
    }
    return day;
  }

  function drop(records: number, why: string) {
    dropped += records;
    if (streakFailures === 0 && streakDropped === 0) {
      report(
        `wirechat: cannot write the operational log in ${
          JSON.stringify(dir)
        }: ${why}; the server keeps running and logs to stderr until it can (failures are counted)`,
      );
    }
    streakDropped += records;
  }

  async function writeDay(date: string, lines: string[]): Promise<void> {
    const path = `${dir}/${date}-server.log`;
    let file: Deno.FsFile | undefined;
    try {
      await Deno.mkdir(dir, { recursive: true });
      file = await Deno.open(path, { append: true, create: true });
      await writeAll(file, encoder.encode(lines.join("")));
      const f = file;
      file = undefined;
      f.close();
    } catch (err) {
      try {
        file?.close();
      } catch { /* already failing */ }
      failures++;
      drop(lines.length, `${path}: ${err instanceof Error ? err.message : String(err)}`);
      streakFailures++;
      return;
    }
    if (streakFailures > 0 || streakDropped > 0) {
      report(
        `wirechat: the operational log is written again (${path}) after ${streakFailures} failed writes; ${streakDropped} records were not written to it`,
      );
      streakFailures = 0;
      streakDropped = 0;
    }
  }

  async function drain(): Promise<void> {
    while (pending.size > 0) {
      const batch = pending;
      pending = new Map();
      pendingBytes = 0;
      for (const [date, lines] of batch) await writeDay(date, lines);
    }
  }

  function schedule() {
    if (timer === undefined && writing === undefined) timer = setTimeout(() => void flush(), LOG_FLUSH_MS);
  }

  function flush(): Promise<void> {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    // Records that arrive while a write is in flight are written by its loop.
    writing ??= drain().finally(() => {
      writing = undefined;
      if (pending.size > 0) schedule();
    });
    return writing;
  }

  const sink = (record: LogRecord) => {
    if (closed) return;
    let line: string;
    try {
      line = formatter(record);
    } catch (err) {
      drop(1, `a record could not be formatted (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    if (pendingBytes + line.length > LOG_MAX_PENDING_BYTES) {
      drop(1, `more than ${LOG_MAX_PENDING_BYTES} characters wait for a write in flight`);
      return;
    }
    const date = dayOf(record.timestamp);
    const lines = pending.get(date);
    if (lines) lines.push(line);
    else pending.set(date, [line]);
    pendingBytes += line.length;
    if (pendingBytes >= LOG_BUFFER_BYTES) void flush();
    else schedule();
  };

  return Object.assign(sink, {
    flush,
    failures: () => failures,
    dropped: () => dropped,
    async [Symbol.asyncDispose]() {
      await flush();
      closed = true;
    },
  });
}

/**
 * Configures LogTape for `wirechat serve`: `wirechat.*` at info and above to
 * stderr and the daily file in `dir`, LogTape's own warnings to stderr.
 * Returns the file sink (its failure counts).
 */
export async function configureServerLogging(dir: string, options: DailyFileSinkOptions = {}): Promise<DailyFileSink> {
  const file = dailyFileSink(dir, options);
  await configure({
    sinks: { stderr: stderrSink(), file },
    loggers: [
      { category: ["wirechat"], lowestLevel: "info", sinks: ["stderr", "file"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
  return file;
}
