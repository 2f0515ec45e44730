/**
 * Wire dialects: a pure codec (`decode` a frame into a raw command, `encode`
 * an event into a frame) plus an explicit policy (auto-join, close after an
 * error, replay or not). The session does everything else, the same way for
 * every dialect: it validates what `decode` returns, runs the state machine
 * and applies the policy. Dialects hold no module-global state: each server
 * creates its own set (`server/dialects/catalog.ts`), so a cache that lets a
 * broadcast be encoded once lives and dies with its server.
 *
 * @module
 */
import {
  type ClientCommand,
  decodeClientLine,
  type ErrorCode,
  formatLine,
  type ParseOptions,
  type ServerEvent,
} from "../../protocol/mod.ts";

/** What `encode` may know about the connection it encodes for. */
export interface EncodeView {
  /** The member's nick as the room has it now (already updated by a join or rename being delivered). */
  readonly self: string | undefined;
}

/** A nick a dialect joins under on its own, without a `NICK` from the client. */
export interface AutoJoin {
  readonly nick: string;
  /** Called once the connection has ended (the dialect forgets the identity). */
  forget?(): void;
}

/** How a dialect's connections behave beyond the codec. */
export interface DialectPolicy {
  /** Joins right after the greeting under a name the dialect picks (wschat, RiftChat). */
  autoJoin?(): AutoJoin;
  /** Closes the connection after every `ERR`, with the close code and reason for it (wschat). */
  closeAfterError?(code: ErrorCode): readonly [number, string];
  /** Replays the history to a joiner (false: the seed says joiners get none). */
  readonly replay: boolean;
  /** A binary frame gets an error event before the 1003 close. */
  readonly binaryError: boolean;
  /**
   * `declared`: the client receives extension lines only for the capabilities it declared (`CAP`, or
   * `wirechat.cap.*` subprotocol offers); `all`: the dialect shows whatever its encoder knows.
   */
  readonly capabilities: "declared" | "all";
}

/** One wire format over a frame transport. */
export interface Dialect {
  /** For logs, metrics and `Peer.kind`. */
  readonly name: string;
  /** True when several encoded events may share one frame, joined by `\n`. */
  readonly batch: boolean;
  /**
   * One inbound frame (or TCP line) as a raw command: syntax only, the
   * session validates it. Undefined: a frame the dialect ignores (wschat's
   * empty message).
   *
   * @throws {ProtocolError} for a frame that is not a command.
   */
  decode(frame: string, limits: ParseOptions): ClientCommand | undefined;
  /** The frame text for an event, or undefined when this dialect does not show it. No side effects. */
  encode(event: ServerEvent, view: EncodeView): string | undefined;
  readonly policy: DialectPolicy;
}

/** The wire contract's line dialect; `batch` for `wirechat.batch` clients. */
export interface LineDialects {
  readonly line: Dialect;
  readonly batch: Dialect;
}

/**
 * Creates the line dialects of one server. A broadcast hands the same event
 * to every member in a row, so the last event's line is remembered: each
 * event is formatted once however many peers receive it.
 */
export function createLineDialects(): LineDialects {
  const lineCache = new WeakMap<ServerEvent, string>();
  let lastEvent: ServerEvent | undefined;
  let lastLine = "";
  function lineOf(event: ServerEvent): string {
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
  const policy: DialectPolicy = { replay: true, binaryError: false, capabilities: "declared" };
  const make = (batch: boolean): Dialect => ({
    name: batch ? "line+batch" : "line",
    batch,
    decode: decodeClientLine,
    encode: lineOf,
    policy,
  });
  return { line: make(false), batch: make(true) };
}
