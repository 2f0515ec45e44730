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
import { type AutoJoin, createLineDialects, type Dialect, type DialectPolicy, type EncodeView } from "./dialect.ts";
import { addressOf } from "./limits.ts";
import { createModeration, type Moderation } from "./moderation.ts";
import type { Peer } from "./peer.ts";
import {
  createTokenBucket,
  DEFAULT_RATE_BURST,
  DEFAULT_RATE_PER_SECOND,
  FLOOD_CLOSE_AFTER,
  type RateLimit,
  type TokenBucket,
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

const monotonicNow = () => performance.now();

/** One shared {@linkcode ParseOptions} per line limit (every session of a server has the same). */
const parseOptionsByLimit = new Map<number, ParseOptions>();
function parseOptions(maxLine: number): ParseOptions {
  let limits = parseOptionsByLimit.get(maxLine);
  if (limits === undefined) parseOptionsByLimit.set(maxLine, limits = { maxLine });
  return limits;
}

/** Creates a session for one connection. */
export function createSession(options: SessionOptions): Session {
  return new ConnectionSession(options);
}

/**
 * One connection's session. A class rather than a closure per method: an idle
 * member is held by every server for hours, and its session is one object
 * with its fields, not two dozen closures and their context (about 1.3 KiB
 * less per connection).
 */
class ConnectionSession implements Session, EncodeView {
  readonly #options: SessionOptions;
  readonly #room: Room;
  readonly #peer: Peer;
  readonly #dialect: Dialect;
  readonly #policy: DialectPolicy;
  readonly #limits: ParseOptions;
  readonly #bucket: TokenBucket;
  readonly #moderation: Moderation;
  readonly #created = performance.now();
  /** Only consulted when the dialect's policy is `declared`. */
  readonly #filtered: boolean;
  #state: "greeting" | "joining" | "joined" = "greeting";
  #nick: string | undefined;
  #autoJoined: AutoJoin | undefined;
  #refusedInARow = 0;
  #operator = false;
  #adminCheck: ((attempt: string) => AdminVerdict) | undefined;
  /** No more input is accepted (the session or the transport is closing). */
  #closing = false;
  /** A command decided to end the connection: the lines after it are not applied. */
  #stopped = false;
  /** The transport has closed; the session finishes once the lines before it are applied. */
  #ended = false;
  #finished = false;
  #busy: Promise<void> | undefined;
  /** Steps waiting for the command in flight (made only when a command is asynchronous). */
  #backlog: (() => Maybe<void>)[] | undefined;
  /** Declared capabilities (no Set until one is declared). */
  #capabilities: Set<Capability> | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#room = options.room;
    this.#peer = options.peer;
    this.#dialect = options.dialect ?? createLineDialects().line;
    this.#policy = this.#dialect.policy;
    this.#limits = parseOptions(options.maxLine ?? DEFAULT_MAX_LINE);
    this.#bucket = createTokenBucket(
      options.rateLimit ?? { burst: DEFAULT_RATE_BURST, perSecond: DEFAULT_RATE_PER_SECOND },
      options.now ?? monotonicNow,
    );
    this.#moderation = options.moderation ?? createModeration();
    const offered = capabilitiesOffered(options.protocols ?? []);
    if (offered.length > 0) this.#capabilities = new Set(offered);
    this.#filtered = this.#policy.capabilities === "declared";
  }

  /** The member's nick as the room has it now ({@linkcode EncodeView}). */
  get self(): string | undefined {
    return this.#room.nickOf(this.#peer);
  }

  get nick(): string | undefined {
    return this.#nick;
  }

  #uptimeMs(): number {
    return this.#options.uptimeMs?.() ?? performance.now() - this.#created;
  }

  #send(error: ProtocolError) {
    this.#options.onError?.(error.code);
    this.#peer.send({ type: "error", code: error.code, detail: error.detail });
  }

  /** Answers `error`; the dialect's policy may close after it. */
  #fail(error: ProtocolError) {
    this.#send(error);
    const after = this.#policy.closeAfterError?.(error.code);
    if (after) this.#close(after[0], after[1]);
  }

  /** Closes the connection; `stop`: the lines after this point are not applied. */
  #close(code: number, reason: string, stop = true) {
    if (stop) this.#stopped = true;
    if (this.#closing) return;
    this.#closing = true;
    this.#peer.close(code, reason);
  }

  /** The member leaves; runs once the transport has closed and no line is left to apply. */
  #finish() {
    if (this.#finished) return;
    this.#finished = true;
    this.#stopped = true;
    this.#room.leave(this.#peer);
    this.#autoJoined?.forget?.();
    if (this.#nick) log.info("{nick} disconnected ({remote})", { nick: this.#nick, remote: this.#peer.remote });
    this.#options.onClose?.();
  }

  /** Runs `step` now, or after the command in flight finishes. */
  #serialize(step: () => Maybe<void>) {
    if (this.#busy) {
      (this.#backlog ??= []).push(step);
      return;
    }
    if (this.#stopped) return;
    const result = step();
    if (result instanceof Promise) {
      this.#busy = result.catch((err) => {
        log.error("Command failed on {remote}: {error}", { remote: this.#peer.remote, error: String(err) });
        this.#fail(err instanceof ProtocolError ? err : new ProtocolError("unavailable"));
      }).finally(() => {
        this.#busy = undefined;
        for (const next of this.#backlog?.splice(0) ?? []) this.#serialize(next);
        if (this.#ended && !this.#busy) this.#finish();
      });
    }
  }

  #settle(
    outcome: Outcome,
    onOk?: () => void,
    onError: (e: ProtocolError) => void = (e) => this.#fail(e),
  ): Maybe<void> {
    const done = (err: ProtocolError | undefined) => {
      if (err) onError(err);
      else onOk?.();
    };
    return outcome instanceof Promise ? outcome.then(done) : done(outcome);
  }

  #join(wanted: string): Maybe<void> {
    this.#state = "joining";
    return this.#settle(this.#room.join(this.#peer, wanted, { replay: this.#policy.replay }), () => {
      this.#state = "joined";
      this.#nick = wanted;
      this.#options.onJoined?.();
      log.info("{nick} joined from {remote} ({kind})", {
        nick: wanted,
        remote: this.#peer.remote,
        kind: this.#peer.kind,
      });
    }, (err) => {
      this.#state = "greeting";
      this.#send(err);
      this.#close(CloseCode.NORMAL, err.text);
    });
  }

  /**
   * What a command handler sees. Made per command, not kept per connection: a joined idle member holds none of
   * its closures (they read and write the session's own state, so nothing is lost between commands).
   */
  #commandContext(): CommandContext {
    // deno-lint-ignore no-this-alias
    const session = this;
    return {
      room: this.#room,
      peer: this.#peer,
      get nick() {
        return session.#nick;
      },
      join: (wanted) => this.#join(wanted),
      renamed: (to) => {
        log.info("{old} is now {nick}", { old: this.#nick, nick: to });
        this.#nick = to;
      },
      settle: (outcome, onOk) => this.#settle(outcome, onOk),
      reply: (event) => this.#peer.send(event),
      close: (code, reason) => this.#close(code, reason),
      moderation: this.#moderation,
      get operator() {
        return session.#operator;
      },
      tryAdmin: (token) => {
        // Failures count per client: behind a reverse proxy, the address it names (or one guesser locks out everyone).
        this.#adminCheck ??= this.#moderation.gate.forConnection(
          this.#moderation.banAddress(this.#peer) ?? addressOf(this.#peer.remote),
        );
        const verdict = this.#adminCheck(token);
        if (verdict === "granted") this.#operator = true;
        return verdict;
      },
      declare: (caps) => {
        const declared = this.#capabilities ??= new Set();
        for (const cap of caps) declared.add(cap);
        return [...declared].sort();
      },
      uptimeMs: () => this.#uptimeMs(),
    };
  }

  /** Refuses `cmd` by the operator's rules (forbidden words, bans): true when it was; a join is then closed. */
  #refusedByModeration(cmd: ClientCommand): boolean {
    const refused = this.#moderation.screen(cmd, this.#peer);
    if (!refused) return false;
    if (this.#state !== "greeting") this.#fail(refused);
    else {
      this.#send(refused);
      this.#close(CloseCode.NORMAL, refused.text);
    }
    return true;
  }

  #dispatch(cmd: ClientCommand): Maybe<void> {
    if (this.#state === "greeting" && !COMMAND_SPEC[cmd.type].beforeJoin) {
      this.#send(new ProtocolError("expected_nick"));
      return this.#close(CloseCode.NORMAL, "Expected: NICK <name>");
    }
    if (COMMAND_SPEC[cmd.type].operator && !this.#operator) return this.#fail(new ProtocolError("admin_only"));
    if (this.#refusedByModeration(cmd)) return;
    return (COMMAND_HANDLERS[cmd.type] as Handler<typeof cmd.type>)(cmd, this.#commandContext());
  }

  #refusal(error: ProtocolError) {
    if (this.#state !== "greeting") return this.#fail(error);
    // Transport-level refusals of one line keep a not-yet-joined connection open.
    if (error.code === "too_large" || error.code === "invalid_utf8") return this.#fail(error);
    const shown = error.code === "invalid_nick" ? error : new ProtocolError("expected_nick");
    this.#send(shown);
    this.#close(CloseCode.NORMAL, shown.text);
  }

  /**
   * Decodes (a dialect's pure codec), validates (the same rules whatever the
   * dialect) and queues one command in order; a refusal is queued in its place.
   */
  #submit(decode: () => ClientCommand | undefined) {
    let cmd: ClientCommand | ProtocolError;
    try {
      const raw = decode();
      if (raw === undefined) return;
      cmd = validateCommand(raw, this.#limits);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      cmd = err;
    }
    this.#serialize(() => (cmd instanceof ProtocolError ? this.#refusal(cmd) : this.#dispatch(cmd)));
  }

  #admit(): boolean {
    if (this.#closing || this.#ended) return false;
    if (this.#bucket.take()) {
      this.#refusedInARow = 0;
      return true;
    }
    this.#fail(new ProtocolError("rate_limited"));
    if (++this.#refusedInARow >= FLOOD_CLOSE_AFTER) {
      log.warn("Closing {remote}: sustained flooding", { remote: this.#peer.remote });
      // The lines accepted before the flood are still applied.
      this.#close(CloseCode.POLICY, "Rate limit exceeded", false);
    }
    return false;
  }

  open(): void {
    const peer = this.#peer;
    log.info("Connection from {remote} ({kind})", { remote: peer.remote, kind: peer.kind });
    peer.send({ type: "notice", text: `Welcome to Wirechat ${VERSION}` });
    peer.send({ type: "prompt" });
    if (this.#policy.autoJoin) {
      const auto = this.#autoJoined = this.#policy.autoJoin();
      // The dialect's name for the client is a NICK like any other: validated, moderated, then joined.
      this.#submit(() => ({ type: "nick", nick: auto.nick }));
    }
  }

  receive(text: string): void {
    if (this.#admit()) this.#submit(() => this.#dialect.decode(text, this.#limits));
  }

  binary(): void {
    if (this.#closing || this.#ended) return;
    if (this.#policy.binaryError) {
      this.#peer.send({ type: "error", code: "bad_message", detail: "binary frames are not supported" });
    }
    this.#close(CloseCode.UNSUPPORTED, "Binary frames are not supported");
  }

  refuse(error: ProtocolError): void {
    // A refused frame counts against flood control like any line.
    if (!this.#admit()) return;
    this.#serialize(() => this.#refusal(error));
  }

  closed(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#closing = true;
    if (!this.#busy) this.#finish();
  }

  encode(event: ServerEvent): string | undefined {
    // Only typing notices and private messages can need a capability: every other event (the whole fan-out of
    // chat lines) skips the check, and the member's nick is looked up only for a private message.
    if (this.#filtered && (event.type === "typing" || event.type === "pm")) {
      const needed = capabilityNeeded(event, event.type === "pm" ? this.self : undefined);
      if (needed !== null && !this.#capabilities?.has(needed)) return undefined;
    }
    return this.#dialect.encode(event, this);
  }
}
