/**
 * Pipe mode (stdin is not a terminal): every input line is sent, every
 * received line is printed as it came, one per line; at the end of input the
 * client sends QUIT and exits 0 once the server closed. No reconnect: a
 * script should see a drop (exit 1) rather than a silent gap.
 *
 * @module
 */
import { HARD_FRAME_CAP, neutralize } from "../../protocol/mod.ts";
import { type Connection, createConnection } from "../connection.ts";
import { closedSentence, describeFailure } from "./errors.ts";
import { parseInput } from "./input.ts";
import { createPacer } from "./pacer.ts";

/** Longest input line accepted, in UTF-16 code units; longer lines are skipped with a note on stderr. */
export const MAX_PIPE_LINE = HARD_FRAME_CAP;

/** One input line, or the note that a line was too long. */
export type InputLine = { line: string } | { tooLong: number };

/** Reads lines from a byte stream; `cancel` ends a pending `next` (with undefined). */
export interface LineReader {
  /** The next line, or undefined at the end of the input. */
  next(): Promise<InputLine | undefined>;
  cancel(): Promise<void>;
}

/**
 * Splits a byte stream into lines (`\n`, an optional `\r` before it is
 * dropped; a last line without `\n` counts). A line longer than `max` is
 * reported instead of buffered without bound.
 */
export function createLineReader(input: ReadableStream<Uint8Array>, max = MAX_PIPE_LINE): LineReader {
  const reader = input.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  let skipping = 0; // length so far of an over-long line being skipped
  let ended = false;
  const ready: InputLine[] = [];

  function take(): void {
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (skipping) {
        ready.push({ tooLong: skipping + line.length });
        skipping = 0;
      } else if (line.length > max) ready.push({ tooLong: line.length });
      else ready.push({ line });
    }
    if (buf.length > max) {
      skipping += buf.length;
      buf = "";
    }
  }

  return {
    async next() {
      while (ready.length === 0 && !ended) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) {
          ended = true;
          const last = buf.replace(/\r$/, "");
          if (skipping) ready.push({ tooLong: skipping + buf.length });
          else if (last !== "") ready.push({ line: last });
          buf = "";
        } else {
          buf += value;
          take();
        }
      }
      return ready.shift();
    },
    async cancel() {
      ended = true;
      await reader.cancel().catch(() => {});
    },
  };
}

/** What pipe mode runs with. */
export interface PipeOptions {
  url: string;
  nick: string;
  input: ReadableStream<Uint8Array>;
  /** Prints one received line (no terminator); false when output is gone (a closed pipe). */
  out: (line: string) => boolean;
  /** Prints one diagnostic sentence to stderr. */
  err: (sentence: string) => void;
  /** Neutralise control characters in printed lines (stdout is a terminal). */
  neutralizeOutput?: boolean;
  createSocket?: (url: string, protocols: string[]) => WebSocket;
}

/** Runs pipe mode; resolves to the exit code. */
export async function runPipe(o: PipeOptions): Promise<number> {
  let outputGone = false;
  let closeError: string | undefined;
  let conn: Connection | undefined = undefined;
  conn = createConnection({
    url: o.url,
    reconnect: false,
    createSocket: o.createSocket,
    onLine(info) {
      if (outputGone) return;
      if (!o.out(o.neutralizeOutput ? neutralize(info.line) : info.line)) {
        outputGone = true;
        void conn?.quit();
      }
    },
    onStatus(s) {
      if (s.status === "closed") closeError = s.error;
    },
  });
  try {
    await conn.join(o.nick);
  } catch (err) {
    o.err(describeFailure(o.url, err));
    return 1;
  }
  const pace = createPacer();
  const lines = createLineReader(o.input);
  const closed = conn.closed.then(() => undefined);
  let lineNo = 0;
  try {
    for (;;) {
      const item = await Promise.race([lines.next(), closed]);
      if (item === undefined || conn.state !== "connected") break;
      lineNo++;
      if ("tooLong" in item) {
        o.err(`Input line ${lineNo} skipped: ${item.tooLong} characters is over the limit of ${MAX_PIPE_LINE}.`);
        continue;
      }
      const action = parseInput(item.line);
      if (action.kind === "none") continue;
      if (action.kind === "hint") {
        o.err(`Input line ${lineNo} not sent: ${action.text}`);
        continue;
      }
      if (action.kind === "quit") break;
      await pace();
      if (conn.state !== "connected") break;
      conn.send(action.kind === "help" ? { type: "help" } : action.cmd);
    }
  } finally {
    await lines.cancel();
  }
  if (conn.state === "connected") {
    await conn.quit();
    return 0;
  }
  await conn.closed;
  if (outputGone || closeError === undefined) return 0;
  o.err(closedSentence(closeError));
  return 1;
}
