/**
 * The message log: daily files `<dir>/<YYYY-MM-DD>-messages.txt` (UTC date of
 * the message), one `[<ts>] <nick>: <text>` line per public message, and
 * `[<ts>] IMG <nick> <url>` per shared image (a message line never looks
 * like it: its first word ends with `:`). It is the canonical history: the
 * replay after a restart is read back from it.
 *
 * Only `\n` ends a line, and the text rules refuse every control character,
 * so no accepted text can break one. A text holding U+2028 LINE SEPARATOR or
 * U+2029 PARAGRAPH SEPARATOR (which many tools, e.g. Python's `splitlines`,
 * take for line breaks) is written escaped, on a line marked by a leading
 * `~`: `~[<ts>] <nick>: <escaped text>`, where `\` is `\\`, U+2028 is
 * `\u2028` and U+2029 is `\u2029`. Every other line is written as is, so
 * files from before this rule read the same.
 *
 * Writes are synchronous and batched: the room queues lines, and the
 * outbound scheduler calls `flush()` right before any client is sent them,
 * so a message anyone received is already in the file (a `kill -9` loses
 * nothing that was broadcast). A torn last line from a crash is cut off when
 * the file is next opened for writing and skipped when reading.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { ChatMessage } from "../../protocol/mod.ts";
import type { MessageStore } from "./history.ts";

const FILE_RE = /^(\d{4}-\d{2}-\d{2})-messages\.txt$/;
const CHUNK = 64 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options for {@linkcode createFileStore}. */
export interface FileStoreOptions {
  /** The log folder; created if missing. */
  dir: string;
  /** Told about every failed write (disk full, folder removed). */
  onError?: (error: Error) => void;
  /**
   * Longest message text in code points (the server's `--max-line`): a log
   * line holding a longer one is skipped when the log is read back, without
   * being held in memory whole (see {@linkcode logLineBound}).
   */
  maxLine?: number;
  /** Told how many lines one load skipped for their length (when any were). */
  onSkipped?: (count: number) => void;
}

/**
 * The most UTF-8 bytes a log line can take when its text has at most
 * `maxLine` code points: the text (6 bytes per code point at most, an
 * escaped U+2028), the timestamp, the nickname and the separators.
 *
 * @example
 * ```ts
 * import { logLineBound } from "./message_log.ts";
 * if (logLineBound(2048) !== 2048 * 6 + 256) throw new Error("text plus a fixed allowance");
 * ```
 */
export function logLineBound(maxLine: number): number {
  return maxLine * 6 + 256;
}

/** Leads a line whose text is escaped (see the module doc). */
export const ESCAPED_LINE_MARK = "~";

const NEEDS_ESCAPE = /[\u2028\u2029]/;
const ESCAPE = /[\\\u2028\u2029]/g;

function escapeText(text: string): string {
  return text.replace(ESCAPE, (c) => (c === "\\" ? "\\\\" : c === "\u2028" ? "\\u2028" : "\\u2029"));
}

/** The text of an escaped line; undefined when an escape is not one the writer makes. */
function unescapeText(escaped: string): string | undefined {
  let out = "";
  let from = 0;
  for (let at = escaped.indexOf("\\"); at >= 0; at = escaped.indexOf("\\", from)) {
    out += escaped.slice(from, at);
    if (escaped[at + 1] === "\\") {
      out += "\\";
      from = at + 2;
    } else if (escaped.startsWith("u2028", at + 1) || escaped.startsWith("u2029", at + 1)) {
      out += escaped[at + 5] === "8" ? "\u2028" : "\u2029";
      from = at + 6;
    } else return undefined;
  }
  return out + escaped.slice(from);
}

/** The file name of the day that `ts` falls on. */
export function messageFileName(ts: string): string {
  return `${ts.slice(0, 10)}-messages.txt`;
}

/**
 * Parses one log line; undefined when it is not a whole message line.
 *
 * No regular expression: `.` would not match U+2028/U+2029 (once the cause
 * of messages vanishing from the replay). The text is everything after the
 * first `: ` that ends the nickname (a nickname holds no whitespace), taken
 * as is, or unescaped on a `~` line (see the module doc).
 */
export function parseLogLine(line: string): ChatMessage | undefined {
  if (line.startsWith(`${ESCAPED_LINE_MARK}[`)) {
    const m = parseLogLine(line.slice(ESCAPED_LINE_MARK.length));
    const text = m && unescapeText(m.text);
    return m && text !== undefined ? { ...m, text } : undefined;
  }
  if (!line.startsWith("[")) return undefined;
  const close = line.indexOf("]");
  if (close < 2 || line[close + 1] !== " ") return undefined;
  const ts = line.slice(1, close);
  if (line.startsWith(IMG_MARK, close + 2)) return parseImageRecord(ts, line.slice(close + 2 + IMG_MARK.length));
  const space = line.indexOf(" ", close + 2);
  if (space < close + 4 || line[space - 1] !== ":") return undefined;
  const nick = line.slice(close + 2, space - 1);
  if (/\s/u.test(nick) || Number.isNaN(Date.parse(ts))) return undefined;
  return { ts, nick, text: line.slice(space + 1) };
}

/** What follows `[<ts>] ` in an image record. */
const IMG_MARK = "IMG ";

/** `<nick> <url>` of an image record (neither holds whitespace). */
function parseImageRecord(ts: string, rest: string): ChatMessage | undefined {
  const space = rest.indexOf(" ");
  if (space < 1) return undefined;
  const nick = rest.slice(0, space);
  const url = rest.slice(space + 1);
  if (url === "" || /\s/u.test(url) || Number.isNaN(Date.parse(ts))) return undefined;
  return { ts, nick, text: url, kind: "img" };
}

/** Formats a message as one log line, with its newline (escaped when the text holds U+2028 or U+2029). */
export function formatLogLine(m: ChatMessage): string {
  // An image's URL holds no whitespace (U+2028/U+2029 included): never escaped.
  if (m.kind === "img") return `[${m.ts}] ${IMG_MARK}${m.nick} ${m.text}\n`;
  if (!NEEDS_ESCAPE.test(m.text)) return `[${m.ts}] ${m.nick}: ${m.text}\n`;
  return `${ESCAPED_LINE_MARK}[${m.ts}] ${m.nick}: ${escapeText(m.text)}\n`;
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array) {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/**
 * The newest `limit` whole lines of a file, oldest first, reading from the
 * end. A line longer than `maxBytes` is skipped (counted in `skipped`) and
 * never held whole: reading backwards, its pieces are dropped as soon as they
 * pass the bound.
 */
function tailLines(path: string, limit: number, maxBytes: number): { lines: string[]; skipped: number } {
  const file = Deno.openSync(path, { read: true });
  const lines: string[] = []; // newest first
  let skipped = 0;
  /** Pieces of the line being read, in file order, and their length; `tooLong` once it passed the bound. */
  let pieces: Uint8Array[] = [];
  let pieceBytes = 0;
  let tooLong = false;
  /** False until the last newline of the file is seen: what follows it is a torn line (or nothing). */
  let inLine = false;
  function endLine() {
    if (inLine) {
      if (tooLong) skipped++;
      else lines.push(decoder.decode(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces)));
    }
    inLine = true;
    pieces = [];
    pieceBytes = 0;
    tooLong = false;
  }
  function addPiece(piece: Uint8Array) {
    if (tooLong || piece.length === 0) return;
    pieceBytes += piece.length;
    if (pieceBytes > maxBytes) {
      tooLong = true;
      pieces = [];
    } else pieces.unshift(piece);
  }
  try {
    let pos = file.statSync().size;
    while (pos > 0 && lines.length < limit) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = new Uint8Array(len);
      file.seekSync(pos, Deno.SeekMode.Start);
      let got = 0;
      while (got < len) got += file.readSync(buf.subarray(got)) ?? len;
      let end = len;
      for (let i = len - 1; i >= 0 && lines.length < limit; i--) {
        if (buf[i] !== 0x0a) continue;
        addPiece(buf.subarray(i + 1, end));
        endLine();
        end = i;
      }
      if (lines.length < limit) addPiece(buf.subarray(0, end));
    }
    if (pos === 0 && lines.length < limit && (pieceBytes > 0 || tooLong)) endLine(); // the file's first line
    return { lines: lines.reverse(), skipped };
  } finally {
    file.close();
  }
}

/** Cuts a torn last line off `path`, so appends start on a fresh line. */
function repairTail(path: string) {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { read: true, write: true });
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    const size = file.statSync().size;
    if (size === 0) return;
    let pos = size;
    const buf = new Uint8Array(CHUNK);
    while (pos > 0) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      file.seekSync(pos, Deno.SeekMode.Start);
      const n = file.readSync(buf.subarray(0, len)) ?? 0;
      const nl = buf.subarray(0, n).lastIndexOf(0x0a);
      if (pos + n === size && nl === n - 1) return; // ends with a newline
      if (nl >= 0) {
        file.truncateSync(pos + nl + 1);
        return;
      }
    }
    file.truncateSync(0);
  } finally {
    file.close();
  }
}

/** Creates the daily-file message store. */
export function createFileStore(options: FileStoreOptions): MessageStore {
  const { dir, maxLine } = options;
  const maxBytes = maxLine === undefined ? Number.MAX_SAFE_INTEGER : logLineBound(maxLine);
  Deno.mkdirSync(dir, { recursive: true });
  let pending: ChatMessage[] = [];
  let current: { name: string; file: Deno.FsFile } | undefined;

  function open(name: string): Deno.FsFile {
    // A file whose last link is gone (the folder was removed) would swallow every write: reopen.
    if (current?.name === name && current.file.statSync().nlink !== 0) return current.file;
    current?.file.close();
    current = undefined;
    Deno.mkdirSync(dir, { recursive: true });
    const path = `${dir}/${name}`;
    repairTail(path);
    const file = Deno.openSync(path, { append: true, create: true });
    current = { name, file };
    return file;
  }

  function drop() {
    try {
      current?.file.close();
    } catch { /* already closed */ }
    current = undefined;
  }

  return {
    load(limit) {
      if (limit <= 0) return [];
      let names: string[];
      try {
        names = [...Deno.readDirSync(dir)]
          .filter((e) => e.isFile && FILE_RE.test(e.name))
          .map((e) => e.name)
          .sort()
          .reverse();
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return [];
        throw err;
      }
      const out: ChatMessage[][] = [];
      let count = 0;
      let skipped = 0;
      for (const name of names) {
        const tail = tailLines(`${dir}/${name}`, limit - count, maxBytes);
        skipped += tail.skipped;
        const messages: ChatMessage[] = [];
        for (const line of tail.lines) {
          const message = parseLogLine(line);
          if (message === undefined) continue;
          // A text over the line limit (in code points) is skipped like one over the byte bound.
          if (maxLine !== undefined && message.text.length > maxLine && [...message.text].length > maxLine) {
            skipped++;
          } else messages.push(message);
        }
        out.push(messages);
        count += messages.length;
        if (count >= limit) break;
      }
      if (skipped > 0) options.onSkipped?.(skipped);
      return out.reverse().flat().slice(-limit);
    },
    append(message) {
      pending.push(message);
    },
    flush() {
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      let start = 0;
      while (start < batch.length) {
        const name = messageFileName(batch[start].ts);
        let end = start + 1;
        while (end < batch.length && messageFileName(batch[end].ts) === name) end++;
        const text = batch.slice(start, end).map(formatLogLine).join("");
        try {
          writeAll(open(name), encoder.encode(text));
        } catch (err) {
          drop();
          options.onError?.(err instanceof Error ? err : new Error(String(err)));
        }
        start = end;
      }
    },
    close() {
      this.flush();
      drop();
    },
  };
}
