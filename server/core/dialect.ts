/**
 * Wire dialects: how events become frames and frames become commands. The
 * room and sessions never see a wire format; a transport (WebSocket, TCP)
 * carries frames and a dialect translates them. The line protocol is the
 * default dialect; others (JSON, the seeds' formats) plug in here.
 *
 * @module
 */
import { formatLine, type ServerEvent } from "../../protocol/mod.ts";
import type { Peer } from "./peer.ts";
import type { Session } from "./session.ts";

/** One wire format over a frame transport. */
export interface Dialect {
  /** For logs, metrics and `Peer.kind`. */
  readonly name: string;
  /** True when several encoded events may share one frame, joined by `\n`. */
  readonly batch: boolean;
  /** The frame text for an event, or undefined when this dialect does not show it. */
  encode(event: ServerEvent): string | undefined;
  /**
   * Called once the connection is open (the line dialect sends the greeting).
   * `peer` lets a dialect close the connection its own way (wschat closes
   * after every error).
   */
  open(session: Session, peer: Peer): void;
  /** One inbound text frame (or TCP line) for the session. */
  receive(frame: string, session: Session, peer: Peer): void;
  /** An inbound binary frame; without this hook the transport closes with 1003. */
  binary?(session: Session, peer: Peer): void;
}

const lineCache = new WeakMap<ServerEvent, string>();
// A broadcast hands the same event to every member in a row: remember the last one.
let lastEvent: ServerEvent | undefined;
let lastLine = "";

/** The line for an event, formatted once however many peers receive it. */
export function lineOf(event: ServerEvent): string {
  if (event === lastEvent) return lastLine;
  let line = lineCache.get(event);
  if (line === undefined) {
    line = formatLine(event);
    lineCache.set(event, line);
  }
  lastEvent = event;
  lastLine = line;
  return line;
}

/** The wire contract's line dialect; `batch` for `wirechat.batch` clients. */
export function lineDialect(batch = false): Dialect {
  return {
    name: batch ? "line+batch" : "line",
    batch,
    encode: lineOf,
    open: (session) => session.open(),
    receive: (frame, session) => session.line(frame),
  };
}
