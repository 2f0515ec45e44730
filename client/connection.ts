/**
 * One Wirechat connection as a client sees it: connect, join with a
 * nickname, parse every server line, send commands, and reconnect after an
 * unexpected drop without showing any replayed message twice.
 *
 * Shared by the terminal and the browser client, so it uses only the
 * standard `WebSocket` API and `protocol/` — no `Deno.*`. Timers and the
 * random source are injectable, so backoff is testable without a clock.
 *
 * @example
 * ```ts ignore
 * import { createConnection } from "./connection.ts";
 * const conn = createConnection({
 *   url: "ws://127.0.0.1:12345/",
 *   onLine: (info) => console.log(info.line),
 *   onStatus: (s) => console.error(`[${s.status}]`),
 * });
 * await conn.join("alice"); // rejects with JoinRefusedError or ConnectError
 * conn.send({ type: "msg", text: "hello" });
 * await conn.quit();
 * ```
 *
 * @module
 */
import {
  BATCH_SUBPROTOCOL,
  type Capability,
  capabilitySubprotocols,
  type ClientCommand,
  ERROR_TEXT,
  type ErrorCode,
  formatClientCommand,
  nickKey,
  parseServerLine,
  type ServerEvent,
  stripTerminator,
  type UnknownLine,
  validateNick,
} from "../protocol/mod.ts";

/** Where the connection is in its life. */
export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting" | "closed";

/** A status change, reported through {@linkcode ConnectionOptions.onStatus}. */
export type StatusChange =
  | { status: "connecting" }
  | { status: "connected"; nick: string; reconnected: boolean }
  /** Waiting `delayMs` before attempt number `attempt` (1-based); `reason` says why. */
  | { status: "reconnecting"; attempt: number; delayMs: number; reason: string }
  /** Final. `error` is set when the end was not asked for (QUIT or close()). */
  | { status: "closed"; error?: string };

/** One received line, after de-duplication, with what it means. */
export interface LineInfo {
  /** The raw line, exactly as received (no terminator). */
  line: string;
  /** The parsed event (`unknown` for lines the codec does not recognise). */
  event: ServerEvent | UnknownLine;
  /**
   * Inside a replay block: `"join"` for the replay sent after (re)joining,
   * `"history"` for an answer to `HISTORY`. Undefined for live lines. The
   * `replay_start`/`replay_end` markers carry it too.
   */
  replay?: "join" | "history";
  /** True for lines of a connection made by a reconnect (greeting, join, replay). */
  reconnected: boolean;
  /** On a join `replay_end`: how many replayed messages were skipped as already shown. */
  skipped?: number;
}

/** Timer functions; defaults to the global `setTimeout`/`clearTimeout`. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Exponential backoff with jitter between reconnect attempts. */
export interface BackoffOptions {
  /** Delay before the first attempt, in ms. */
  initialMs: number;
  /** Upper bound of any delay, in ms. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
}

/** Default backoff: 0.5 s, doubling, at most 15 s. */
export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = { initialMs: 500, maxMs: 15_000, factor: 2 };

/** How long a join may take (socket open, greeting, NICK answered), in ms. */
export const DEFAULT_JOIN_TIMEOUT_MS = 10_000;

/** How long {@linkcode Connection.quit} waits for the server to close, in ms. */
export const QUIT_TIMEOUT_MS = 2_000;

/** Most recent public messages remembered for de-duplicating a replay. */
export const DEDUPE_MEMORY = 10_000;

/**
 * Refusals of our nickname while rejoining tolerated before giving up: after
 * a silent network drop the server may hold the old session (a ghost) until
 * its idle timeout (60 s by default); with the default backoff ten attempts
 * span about 90 s.
 */
export const MAX_REJOIN_REFUSALS = 10;

/** Close codes after which no reconnect is tried: a kick or other moderation (4000–4999). */
export function isFinalCloseCode(code: number): boolean {
  return code >= 4000 && code <= 4999;
}

/** Options of {@linkcode createConnection}. */
export interface ConnectionOptions {
  /** `ws://` or `wss://` URL of the chat. */
  url: string;
  /** Called for every received line except replayed duplicates. */
  onLine?: (info: LineInfo) => void;
  /** Called on every status change. */
  onStatus?: (change: StatusChange) => void;
  /** Reconnect after an unexpected drop (default true). */
  reconnect?: boolean;
  /** Give up after this many failed reconnect attempts in a row (default: never). */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  joinTimeoutMs?: number;
  /** Creates the socket; default `new WebSocket(url, protocols)`. The terminal passes a custom TLS client here. */
  createSocket?: (url: string, protocols: string[]) => WebSocket;
  timers?: Timers;
  /** Random source in [0, 1) for jitter (default `Math.random`). */
  random?: () => number;
  /**
   * The extension lines this client shows (default {@linkcode CLIENT_CAPABILITIES}), declared by offering
   * `wirechat.cap.<name>` subprotocols: servers that do not know them ignore them.
   */
  capabilities?: readonly Capability[];
}

/** What the terminal and browser clients show beyond the legacy lines: typing notices and the copy of own PMs. */
export const CLIENT_CAPABILITIES: readonly Capability[] = ["pm", "typing"];

/** The join was refused by the server (or the nickname is invalid locally); no reconnect follows. */
export class JoinRefusedError extends Error {
  /** `invalid_nick`, `nick_in_use` or `expected_nick`. */
  readonly code: ErrorCode;
  constructor(code: ErrorCode) {
    super(ERROR_TEXT[code]());
    this.name = "JoinRefusedError";
    this.code = code;
  }
}

/** The server could not be reached, or closed before the join completed. */
export class ConnectError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectError";
  }
}

/** A live connection handle. */
export interface Connection {
  /** Current state. */
  readonly state: ConnectionState;
  /** The nickname we joined with (follows our own renames). */
  readonly nick: string | undefined;
  /**
   * Connects and joins as `nick`. Resolves once `SYS <nick> joined the chat!`
   * arrived. Rejects with {@linkcode JoinRefusedError} on a nickname refusal
   * (the connection is then `idle` again and `join` may be called with
   * another nick) or {@linkcode ConnectError} when the server is unreachable.
   */
  join(nick: string): Promise<void>;
  /** Sends a command; false when not connected (nothing is queued). */
  send(cmd: ClientCommand): boolean;
  /** Sends QUIT and resolves once the server closed (or after {@linkcode QUIT_TIMEOUT_MS}). */
  quit(): Promise<void>;
  /** Closes without QUIT and stops reconnecting. */
  close(): void;
  /** Resolves when the state becomes `closed`. */
  readonly closed: Promise<void>;
}

/**
 * The delay before reconnect attempt `attempt` (1-based): exponential,
 * capped, with "equal jitter" (half fixed, half random) so that many clients
 * dropped at once do not return in lockstep.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./connection.ts";
 * const o = { initialMs: 100, maxMs: 1000, factor: 2 };
 * if (backoffDelay(1, o, () => 0) !== 50) throw new Error();
 * if (backoffDelay(3, o, () => 0.999999) >= 400) throw new Error();
 * if (backoffDelay(10, o, () => 0) !== 500) throw new Error();
 * ```
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number): number {
  const base = Math.min(o.maxMs, o.initialMs * o.factor ** Math.max(0, attempt - 1));
  return Math.floor(base / 2 + random() * (base / 2));
}

/**
 * A bounded multiset of lines already shown, to skip replayed duplicates.
 * A replay block may legitimately hold two equal lines; each shown copy
 * cancels exactly one replayed copy.
 */
export function createSeenLines(capacity = DEDUPE_MEMORY): {
  add(line: string): void;
  /** Starts a replay block: later `isDuplicate` calls consume shown copies. */
  beginReplay(): void;
  isDuplicate(line: string): boolean;
} {
  const counts = new Map<string, number>();
  const order: string[] = [];
  let head = 0;
  let used = new Map<string, number>();
  return {
    add(line) {
      counts.set(line, (counts.get(line) ?? 0) + 1);
      order.push(line);
      if (order.length - head > capacity) {
        const old = order[head++];
        const n = (counts.get(old) ?? 1) - 1;
        if (n > 0) counts.set(old, n);
        else counts.delete(old);
        if (head > capacity) {
          order.splice(0, head);
          head = 0;
        }
      }
    },
    beginReplay() {
      used = new Map();
    },
    isDuplicate(line) {
      const u = used.get(line) ?? 0;
      if (u >= (counts.get(line) ?? 0)) return false;
      used.set(line, u + 1);
      return true;
    },
  };
}

const NICK_REFUSALS: ReadonlySet<ErrorCode> = new Set(["invalid_nick", "nick_in_use", "expected_nick"]);

/** Creates a connection; nothing happens until {@linkcode Connection.join}. */
export function createConnection(options: ConnectionOptions): Connection {
  const timers: Timers = options.timers ?? {
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id as number),
  };
  const random = options.random ?? Math.random;
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...options.backoff };
  const joinTimeoutMs = options.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS;
  const reconnectEnabled = options.reconnect ?? true;
  const maxAttempts = options.maxAttempts ?? Infinity;
  const createSocket = options.createSocket ?? ((url, protocols) => new WebSocket(url, protocols));
  const protocols = [BATCH_SUBPROTOCOL, ...capabilitySubprotocols(options.capabilities ?? CLIENT_CAPABILITIES)];
  const seen = createSeenLines();
  const closedSignal = Promise.withResolvers<void>();

  let state: ConnectionState = "idle";
  let nick: string | undefined;
  let ws: WebSocket | undefined;
  let attempt = 0;
  let rejoinRefusals = 0;
  let everJoined = false;
  let retryTimer: unknown;
  let quitting = false;
  let quitDone: (() => void) | undefined;

  function setStatus(change: StatusChange): void {
    state = change.status;
    options.onStatus?.(change);
    if (change.status === "closed") closedSignal.resolve();
  }

  function finish(error?: string): void {
    if (state === "closed") return;
    if (retryTimer !== undefined) timers.clearTimeout(retryTimer);
    retryTimer = undefined;
    setStatus(error === undefined ? { status: "closed" } : { status: "closed", error });
  }

  function scheduleReconnect(reason: string): void {
    if (!reconnectEnabled || quitting || state === "closed") return finish(reason);
    attempt++;
    if (attempt > maxAttempts) return finish(`${reason}; gave up after ${maxAttempts} attempts`);
    const delayMs = backoffDelay(attempt, backoff, random);
    setStatus({ status: "reconnecting", attempt, delayMs, reason });
    retryTimer = timers.setTimeout(() => {
      retryTimer = undefined;
      if (state === "closed") return;
      open(true).then(
        () => {},
        (err) => {
          if (state === "closed") return;
          if (err instanceof JoinRefusedError && err.code === "nick_in_use" && ++rejoinRefusals < MAX_REJOIN_REFUSALS) {
            return scheduleReconnect("nickname still held by the old session");
          }
          if (err instanceof JoinRefusedError) return finish(`rejoin refused: ${err.message}`);
          scheduleReconnect(err instanceof Error ? err.message : String(err));
        },
      );
    }, delayMs);
  }

  /** Opens one socket and joins; settles when joined or when this attempt failed. */
  function open(reconnected: boolean): Promise<void> {
    const wanted = nick!;
    const result = Promise.withResolvers<void>();
    let joined = false;
    let settled = false;
    let refusal: ErrorCode | undefined;
    let lastError: string | undefined;
    let replay: "join" | "history" | undefined;
    let skipped = 0;
    let joinReplayNext = false;
    const socket = createSocket(options.url, protocols);
    ws = socket;
    const joinTimer = timers.setTimeout(() => {
      fail(new ConnectError(`no answer from ${options.url} within ${joinTimeoutMs / 1000} s`));
      socket.close();
    }, joinTimeoutMs);

    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      timers.clearTimeout(joinTimer);
      result.reject(err);
    }

    function deliver(line: string): void {
      const event = parseServerLine(line);
      const isJoinReplayStart = joinReplayNext && event.type === "replay_start";
      if (joined) joinReplayNext = false;
      const info: LineInfo = { line, event, reconnected };
      if (event.type === "replay_start") {
        replay = isJoinReplayStart ? "join" : "history";
        skipped = 0;
        if (replay === "join") seen.beginReplay();
        info.replay = replay;
      } else if (event.type === "replay_end" && replay) {
        info.replay = replay;
        if (replay === "join") info.skipped = skipped;
        replay = undefined;
      } else if (replay) {
        info.replay = replay;
        if ((event.type === "msg" || event.type === "img") && replay === "join") {
          if (seen.isDuplicate(line)) {
            skipped++;
            return;
          }
          seen.add(line);
        }
      } else if (event.type === "msg" || event.type === "img") {
        seen.add(line);
      }

      if (!joined) {
        if (event.type === "prompt") socket.send(formatClientCommand({ type: "nick", nick: wanted }));
        else if (event.type === "error") {
          if (NICK_REFUSALS.has(event.code)) refusal = event.code;
          else lastError = ERROR_TEXT[event.code](event.detail);
        } else if (event.type === "join" && nickKey(event.nick) === nickKey(wanted)) {
          joined = true;
          joinReplayNext = true;
          nick = event.nick;
          everJoined = true;
          attempt = 0;
          rejoinRefusals = 0;
          settled = true;
          timers.clearTimeout(joinTimer);
          options.onLine?.(info);
          setStatus({ status: "connected", nick: event.nick, reconnected });
          result.resolve();
          return;
        }
      } else if (event.type === "rename" && nick !== undefined && nickKey(event.from) === nickKey(nick)) {
        nick = event.to;
      }
      options.onLine?.(info);
    }

    socket.onmessage = (e: MessageEvent) => {
      if (ws !== socket || typeof e.data !== "string") return;
      if (socket.protocol === BATCH_SUBPROTOCOL) {
        for (const line of e.data.split("\n")) deliver(line);
      } else deliver(stripTerminator(e.data));
    };
    socket.onerror = (e: Event) => {
      const message = (e as ErrorEvent).message;
      if (message) lastError = message;
    };
    socket.onclose = (e: CloseEvent) => {
      if (ws !== socket) return;
      ws = undefined;
      timers.clearTimeout(joinTimer);
      if (quitting) {
        fail(new ConnectError("connection closed before the join completed"));
        quitDone?.();
        return finish();
      }
      if (!joined) {
        if (refusal) return fail(new JoinRefusedError(refusal));
        const why = lastError ?? (e.reason || `closed with code ${e.code}`);
        return fail(new ConnectError(why));
      }
      if (state === "closed") return;
      const reason = e.reason ? `server closed the connection (${e.reason})` : "connection lost";
      if (isFinalCloseCode(e.code)) return finish(reason);
      scheduleReconnect(reason);
    };
    return result.promise;
  }

  const conn: Connection = {
    get state() {
      return state;
    },
    get nick() {
      return nick;
    },
    closed: closedSignal.promise,
    async join(wantedNick) {
      if (state !== "idle") throw new Error(`join: connection is ${state}, not idle`);
      const valid = validateNick(wantedNick);
      if (valid === undefined) throw new JoinRefusedError("invalid_nick");
      nick = valid;
      setStatus({ status: "connecting" });
      try {
        await open(false);
      } catch (err) {
        if ((state as ConnectionState) === "connecting") {
          if (err instanceof JoinRefusedError && !everJoined) state = "idle";
          else finish(err instanceof Error ? err.message : String(err));
        }
        throw err;
      }
    },
    send(cmd) {
      if (state !== "connected" || !ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(formatClientCommand(cmd));
      return true;
    },
    quit() {
      if (state === "closed") return Promise.resolve();
      quitting = true;
      const socket = ws;
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        socket?.close();
        finish();
        return Promise.resolve();
      }
      const done = Promise.withResolvers<void>();
      quitDone = done.resolve;
      socket.send(formatClientCommand({ type: "quit" }));
      const timer = timers.setTimeout(() => socket.close(), QUIT_TIMEOUT_MS);
      return done.promise.then(() => timers.clearTimeout(timer));
    },
    close() {
      quitting = true;
      const socket = ws;
      if (socket && socket.readyState !== WebSocket.CLOSED) {
        quitDone = undefined;
        socket.close();
      } else finish();
    },
  };
  return conn;
}
