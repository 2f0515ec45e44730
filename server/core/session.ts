/**
 * The connection core, the same for every transport and dialect: a frame
 * is decoded by the dialect's pure codec, validated once
 * (`validateCommand`: the same nick, text and size rules whatever the
 * dialect), checked against the pre-join rule of its command-table entry and
 * handed to its handler (`commands.ts`), which talks to the room. The state
 * machine: greeting → joining → joined; the dialect's policy adds an
 * auto-join, a close after each error and whether a joiner gets the replay.
 *
 * Lines are handled strictly in order; when the room answers later (a Redis
 * bus), the following lines wait. A line accepted before the connection
 * closed is still applied; the member leaves once the last one has been.
 *
 * Transports use five calls: {@linkcode Session.open},
 * {@linkcode Session.receive}, {@linkcode Session.binary},
 * {@linkcode Session.closed} and {@linkcode Session.encode} (plus
 * {@linkcode Session.refuse} for what the transport itself found wrong).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  capabilitiesOffered,
  type Capability,
  capabilityNeeded,
  type ClientCommand,
  CloseCode,
  COMMAND_SPEC,
  DEFAULT_MAX_LINE,
  type ParseOptions,
  ProtocolError,
  type ServerEvent,
  validateCommand,
  VERSION,
} from "../../protocol/mod.ts";
import type { AdminVerdict } from "./admin_auth.ts";
import type { Maybe } from "./bus.ts";
import { COMMAND_HANDLERS, type CommandContext, type Handler } from "./commands.ts";
import { type AutoJoin, createLineDialects, type Dialect, type EncodeView } from "./dialect.ts";
import { addressOf } from "./limits.ts";
import { createModeration, type Moderation } from "./moderation.ts";
import type { Peer } from "./peer.ts";
import {
  createTokenBucket,
  DEFAULT_RATE_BURST,
  DEFAULT_RATE_PER_SECOND,
  FLOOD_CLOSE_AFTER,
  type RateLimit,
} from "./rate_limit.ts";
import type { Outcome, Room } from "./room.ts";

const log = getLogger(["wirechat", "session"]);

/** Options for {@linkcode createSession}. */
export interface SessionOptions {
  room: Room;
  peer: Peer;
  /** The wire format (default: the line protocol). */
  dialect?: Dialect;
  /** Longest line in code points. */
  maxLine?: number;
  /** Flood control; `perSecond: 0` turns it off. */
  rateLimit?: RateLimit;
  /** Monotonic millisecond clock for flood control (default `performance.now`); injected in tests. */
  now?: () => number;
  /** Called for every refusal (metrics). */
  onError?: (code: ProtocolError["code"]) => void;
  /** The server's moderation (default: no admin token, no forbidden words). */
  moderation?: Moderation;
  /** Called when the session ends (after its leave notice). */
  onClose?: () => void;
  /** Called once the member has joined (the registration deadline no longer applies). */
  onJoined?: () => void;
  /** The WebSocket subprotocols the client offered (`wirechat.cap.*` declare capabilities). */
  protocols?: readonly string[];
  /** Milliseconds since the server started (`UPTIME`, `STATS`; default: since this session was created). */
  uptimeMs?: () => number;
}

/** What a transport drives. */
export interface Session {
  /** Sends the greeting (and joins, when the dialect joins on its own). */
  open(): void;
  /** One inbound text frame or TCP line; rate limited. */
  receive(text: string): void;
  /** One inbound binary frame: refused, and the connection closed with 1003. */
  binary(): void;
  /** Refuses something the transport found wrong (e.g. invalid UTF-8); rate limited like a line. */
  refuse(error: ProtocolError): void;
  /** The transport closed, for whatever reason. Idempotent. */
  closed(): void;
  /** The frame text of an event for this connection, or undefined when its dialect does not show it. */
  encode(event: ServerEvent): string | undefined;
  /** The member's nick once joined. */
  readonly nick: string | undefined;
}

/** Creates a session for one connection. */
export function createSession(options: SessionOptions): Session {
  const { room, peer } = options;
  const dialect = options.dialect ?? createLineDialects().line;
  const { policy } = dialect;
  const limits: ParseOptions = { maxLine: options.maxLine ?? DEFAULT_MAX_LINE };
  const now = options.now ?? (() => performance.now());
  const bucket = createTokenBucket(
    options.rateLimit ?? { burst: DEFAULT_RATE_BURST, perSecond: DEFAULT_RATE_PER_SECOND },
    now,
  );
  let state: "greeting" | "joining" | "joined" = "greeting";
  let nick: string | undefined;
  let autoJoined: AutoJoin | undefined;
  let refusedInARow = 0;
  const moderation = options.moderation ?? createModeration();
  let operator = false;
  let adminCheck: ((attempt: string) => AdminVerdict) | undefined;
  /** No more input is accepted (the session or the transport is closing). */
  let closing = false;
  /** A command decided to end the connection: the lines after it are not applied. */
  let stopped = false;
  /** The transport has closed; the session finishes once the lines before it are applied. */
  let ended = false;
  let finished = false;
  let busy: Promise<void> | undefined;
  const backlog: (() => Maybe<void>)[] = [];
  const created = performance.now();
  const uptimeMs = options.uptimeMs ?? (() => performance.now() - created);
  /** Declared capabilities; only consulted when the dialect's policy is `declared` (no Set until one is declared). */
  const offeredCaps = capabilitiesOffered(options.protocols ?? []);
  let capabilities: Set<Capability> | undefined = offeredCaps.length > 0 ? new Set(offeredCaps) : undefined;
  const filtered = policy.capabilities === "declared";
  const view: EncodeView = {
    get self() {
      return room.nickOf(peer);
    },
  };

  function send(error: ProtocolError) {
    options.onError?.(error.code);
    peer.send({ type: "error", code: error.code, detail: error.detail });
  }

  /** Answers `error`; the dialect's policy may close after it. */
  function fail(error: ProtocolError) {
    send(error);
    const after = policy.closeAfterError?.(error.code);
    if (after) close(after[0], after[1]);
  }

  /** Closes the connection; `stop`: the lines after this point are not applied. */
  function close(code: number, reason: string, stop = true) {
    if (stop) stopped = true;
    if (closing) return;
    closing = true;
    peer.close(code, reason);
  }

  /** The member leaves; runs once the transport has closed and no line is left to apply. */
  function finish() {
    if (finished) return;
    finished = true;
    stopped = true;
    room.leave(peer);
    autoJoined?.forget?.();
    if (nick) log.info("{nick} disconnected ({remote})", { nick, remote: peer.remote });
    options.onClose?.();
  }

  /** Runs `step` now, or after the command in flight finishes. */
  function serialize(step: () => Maybe<void>) {
    if (busy) {
      backlog.push(step);
      return;
    }
    if (stopped) return;
    const result = step();
    if (result instanceof Promise) {
      busy = result.catch((err) => {
        log.error("Command failed on {remote}: {error}", { remote: peer.remote, error: String(err) });
        fail(err instanceof ProtocolError ? err : new ProtocolError("unavailable"));
      }).finally(() => {
        busy = undefined;
        for (const next of backlog.splice(0)) serialize(next);
        if (ended && !busy) finish();
      });
    }
  }

  function settle(outcome: Outcome, onOk?: () => void, onError: (e: ProtocolError) => void = fail): Maybe<void> {
    const done = (err: ProtocolError | undefined) => {
      if (err) onError(err);
      else onOk?.();
    };
    return outcome instanceof Promise ? outcome.then(done) : done(outcome);
  }

  function join(wanted: string): Maybe<void> {
    state = "joining";
    return settle(room.join(peer, wanted, { replay: policy.replay }), () => {
      state = "joined";
      nick = wanted;
      options.onJoined?.();
      log.info("{nick} joined from {remote} ({kind})", { nick, remote: peer.remote, kind: peer.kind });
    }, (err) => {
      state = "greeting";
      send(err);
      close(CloseCode.NORMAL, err.text);
    });
  }

  /**
   * What a command handler sees. Made per command, not kept per connection: a joined idle member holds none of
   * its closures (they read and write the session's own state, so nothing is lost between commands).
   */
  const commandContext = (): CommandContext => ({
    room,
    peer,
    get nick() {
      return nick;
    },
    join,
    renamed(to) {
      log.info("{old} is now {nick}", { old: nick, nick: to });
      nick = to;
    },
    settle: (outcome, onOk) => settle(outcome, onOk),
    reply: (event) => peer.send(event),
    close: (code, reason) => close(code, reason),
    moderation,
    get operator() {
      return operator;
    },
    tryAdmin(token) {
      // Failures count per client: behind a reverse proxy, the address it names (or one guesser locks out everyone).
      adminCheck ??= moderation.gate.forConnection(moderation.banAddress(peer) ?? addressOf(peer.remote));
      const verdict = adminCheck(token);
      if (verdict === "granted") operator = true;
      return verdict;
    },
    declare(caps) {
      capabilities ??= new Set();
      for (const cap of caps) capabilities.add(cap);
      return [...capabilities].sort();
    },
    uptimeMs,
  });

  /** Refuses `cmd` by the operator's rules (forbidden words, bans): true when it was; a join is then closed. */
  function refusedByModeration(cmd: ClientCommand): boolean {
    const refused = moderation.screen(cmd, peer);
    if (!refused) return false;
    if (state !== "greeting") fail(refused);
    else {
      send(refused);
      close(CloseCode.NORMAL, refused.text);
    }
    return true;
  }

  function dispatch(cmd: ClientCommand): Maybe<void> {
    if (state === "greeting" && !COMMAND_SPEC[cmd.type].beforeJoin) {
      send(new ProtocolError("expected_nick"));
      return close(CloseCode.NORMAL, "Expected: NICK <name>");
    }
    if (COMMAND_SPEC[cmd.type].operator && !operator) return fail(new ProtocolError("admin_only"));
    if (refusedByModeration(cmd)) return;
    return (COMMAND_HANDLERS[cmd.type] as Handler<typeof cmd.type>)(cmd, commandContext());
  }

  function refusal(error: ProtocolError) {
    if (state !== "greeting") return fail(error);
    // Transport-level refusals of one line keep a not-yet-joined connection open.
    if (error.code === "too_large" || error.code === "invalid_utf8") return fail(error);
    const shown = error.code === "invalid_nick" ? error : new ProtocolError("expected_nick");
    send(shown);
    close(CloseCode.NORMAL, shown.text);
  }

  /**
   * Decodes (a dialect's pure codec), validates (the same rules whatever the
   * dialect) and queues one command in order; a refusal is queued in its place.
   */
  function submit(decode: () => ClientCommand | undefined) {
    let cmd: ClientCommand | ProtocolError;
    try {
      const raw = decode();
      if (raw === undefined) return;
      cmd = validateCommand(raw, limits);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      cmd = err;
    }
    serialize(() => (cmd instanceof ProtocolError ? refusal(cmd) : dispatch(cmd)));
  }

  function admit(): boolean {
    if (closing || ended) return false;
    if (bucket.take()) {
      refusedInARow = 0;
      return true;
    }
    fail(new ProtocolError("rate_limited"));
    if (++refusedInARow >= FLOOD_CLOSE_AFTER) {
      log.warn("Closing {remote}: sustained flooding", { remote: peer.remote });
      // The lines accepted before the flood are still applied.
      close(CloseCode.POLICY, "Rate limit exceeded", false);
    }
    return false;
  }

  return {
    open() {
      log.info("Connection from {remote} ({kind})", { remote: peer.remote, kind: peer.kind });
      peer.send({ type: "notice", text: `Welcome to Wirechat ${VERSION}` });
      peer.send({ type: "prompt" });
      if (policy.autoJoin) {
        const auto = autoJoined = policy.autoJoin();
        // The dialect's name for the client is a NICK like any other: validated, moderated, then joined.
        submit(() => ({ type: "nick", nick: auto.nick }));
      }
    },
    receive(text) {
      if (admit()) submit(() => dialect.decode(text, limits));
    },
    binary() {
      if (closing || ended) return;
      if (policy.binaryError) {
        peer.send({ type: "error", code: "bad_message", detail: "binary frames are not supported" });
      }
      close(CloseCode.UNSUPPORTED, "Binary frames are not supported");
    },
    refuse(error) {
      // A refused frame counts against flood control like any line.
      if (!admit()) return;
      serialize(() => refusal(error));
    },
    closed() {
      if (ended) return;
      ended = true;
      closing = true;
      if (!busy) finish();
    },
    encode(event) {
      // Only typing notices and private messages can need a capability: every other event (the whole fan-out of
      // chat lines) skips the check, and the member's nick is looked up only for a private message.
      if (filtered && (event.type === "typing" || event.type === "pm")) {
        const needed = capabilityNeeded(event, event.type === "pm" ? view.self : undefined);
        if (needed !== null && !capabilities?.has(needed)) return undefined;
      }
      return dialect.encode(event, view);
    },
    get nick() {
      return nick;
    },
  };
}
