/**
 * One connection's state machine and command table, the same for every
 * transport: greeting → waiting for `NICK` → joined → closed. Lines are
 * handled strictly in order; when the room answers later (a Redis bus), the
 * following lines wait.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  type ClientCommand,
  CloseCode,
  COMMAND_WORDS,
  DEFAULT_MAX_LINE,
  parseClientLine,
  ProtocolError,
  VERSION,
} from "../../protocol/mod.ts";
import type { Maybe } from "./bus.ts";
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
  /** Longest line in code points. */
  maxLine?: number;
  /** Flood control; `perSecond: 0` turns it off. */
  rateLimit?: RateLimit;
  /** Monotonic millisecond clock for flood control (default `performance.now`); injected in tests. */
  now?: () => number;
  /** Called for every refusal (metrics). */
  onError?: (code: ProtocolError["code"]) => void;
  /** Called when the session ends (after its leave notice). */
  onClose?: () => void;
}

/** What a transport drives. */
export interface Session {
  /** Sends the greeting. */
  open(): void;
  /** One inbound line (frame or TCP line); a terminator is ignored. */
  line(raw: string): void;
  /** One already-parsed command (dialects that are not text lines). */
  command(cmd: ClientCommand): void;
  /** Refuses something the transport or dialect found wrong (e.g. malformed JSON); rate limited like a line. */
  refuse(error: ProtocolError): void;
  /** The transport closed, for whatever reason. Idempotent. */
  closed(): void;
  /** The member's nick once joined. */
  readonly nick: string | undefined;
}

const HELP_TEXT = `Commands: ${
  COMMAND_WORDS.map((w) =>
    ({
      NICK: "NICK <name>",
      MSG: "MSG <text>",
      PM: "PM <nick> <text>",
      WHO: "WHO [<pattern>]",
      HISTORY: "HISTORY [<n>]",
      PING: "PING [<token>]",
    })[w] ?? w
  ).join(", ")
}`;

/** Creates a session for one connection. */
export function createSession(options: SessionOptions): Session {
  const { room, peer } = options;
  const maxLine = options.maxLine ?? DEFAULT_MAX_LINE;
  const now = options.now ?? (() => performance.now());
  const bucket = createTokenBucket(
    options.rateLimit ?? { burst: DEFAULT_RATE_BURST, perSecond: DEFAULT_RATE_PER_SECOND },
    now,
  );
  let state: "greeting" | "joining" | "joined" | "closed" = "greeting";
  let nick: string | undefined;
  let refusedInARow = 0;
  let ended = false;
  let busy: Promise<void> | undefined;
  const backlog: (() => void)[] = [];

  function fail(error: ProtocolError) {
    options.onError?.(error.code);
    peer.send({ type: "error", code: error.code, detail: error.detail });
  }

  function close(code: number, reason: string) {
    if (state === "closed") return;
    room.leave(peer);
    state = "closed";
    peer.close(code, reason);
  }

  /** Runs `step` now, or after the command in flight finishes. */
  function serialize(step: () => Maybe<void>) {
    if (busy) {
      backlog.push(step);
      return;
    }
    const result = step();
    if (result instanceof Promise) {
      busy = result.catch((err) => {
        log.error("Command failed on {remote}: {error}", { remote: peer.remote, error: String(err) });
        fail(err instanceof ProtocolError ? err : new ProtocolError("unavailable"));
      }).finally(() => {
        busy = undefined;
        const next = backlog.splice(0);
        for (const s of next) serialize(s);
      });
    }
  }

  function settle(outcome: Outcome, onOk?: () => void, onError?: (e: ProtocolError) => void): Maybe<void> {
    const finish = (err: ProtocolError | undefined) => {
      if (err) (onError ?? fail)(err);
      else onOk?.();
    };
    return outcome instanceof Promise ? outcome.then(finish) : finish(outcome);
  }

  function join(wanted: string): Maybe<void> {
    state = "joining";
    return settle(room.join(peer, wanted), () => {
      if (state !== "joining") return void room.leave(peer);
      state = "joined";
      nick = wanted;
      log.info("{nick} joined from {remote} ({kind})", { nick, remote: peer.remote, kind: peer.kind });
    }, (err) => {
      fail(err);
      close(CloseCode.NORMAL, err.text);
    });
  }

  function dispatch(cmd: ClientCommand): Maybe<void> {
    if (state === "closed") return;
    if (state === "greeting") {
      if (cmd.type !== "nick") {
        fail(new ProtocolError("expected_nick"));
        return close(CloseCode.NORMAL, "Expected: NICK <name>");
      }
      return join(cmd.nick);
    }
    switch (cmd.type) {
      case "nick":
        return settle(room.rename(peer, cmd.nick), () => {
          log.info("{old} is now {nick}", { old: nick, nick: cmd.nick });
          nick = cmd.nick;
        });
      case "msg":
        return settle(room.say(peer, cmd.text));
      case "pm":
        return settle(room.pm(peer, cmd.to, cmd.text));
      case "typing":
        return room.typing(peer);
      case "who":
        return room.who(peer, cmd.pattern);
      case "history":
        return room.history(peer, cmd.count);
      case "ping":
        return peer.send(cmd.token ? { type: "pong", token: cmd.token } : { type: "pong" });
      case "version":
        return peer.send({ type: "version", version: VERSION });
      case "help":
        return peer.send({ type: "notice", text: HELP_TEXT });
      case "quit":
        log.info("{nick} quit", { nick });
        return close(CloseCode.NORMAL, "Goodbye");
    }
  }

  function admit(): boolean {
    if (bucket.take()) {
      refusedInARow = 0;
      return true;
    }
    fail(new ProtocolError("rate_limited"));
    if (++refusedInARow >= FLOOD_CLOSE_AFTER) {
      log.warn("Closing {remote}: sustained flooding", { remote: peer.remote });
      close(CloseCode.POLICY, "Rate limit exceeded");
    }
    return false;
  }

  function preJoinRefusal(error: ProtocolError) {
    // Transport-level refusals of one line keep a not-yet-joined connection open.
    if (error.code === "too_large" || error.code === "invalid_utf8") return fail(error);
    const shown = error.code === "invalid_nick" ? error : new ProtocolError("expected_nick");
    fail(shown);
    close(CloseCode.NORMAL, shown.text);
  }

  return {
    open() {
      log.info("Connection from {remote} ({kind})", { remote: peer.remote, kind: peer.kind });
      peer.send({ type: "notice", text: `Welcome to Wirechat ${VERSION}` });
      peer.send({ type: "prompt" });
    },
    line(raw) {
      if (state === "closed" || !admit()) return;
      serialize(() => {
        let cmd: ClientCommand;
        try {
          cmd = parseClientLine(raw, { maxLine });
        } catch (err) {
          if (!(err instanceof ProtocolError)) throw err;
          return state === "greeting" ? preJoinRefusal(err) : fail(err);
        }
        return dispatch(cmd);
      });
    },
    command(cmd) {
      if (state === "closed" || !admit()) return;
      serialize(() => dispatch(cmd));
    },
    refuse(error) {
      // A refused frame counts against flood control like any line.
      if (state === "closed" || !admit()) return;
      serialize(() => (state === "greeting" ? preJoinRefusal(error) : fail(error)));
    },
    closed() {
      if (ended) return;
      ended = true;
      state = "closed";
      room.leave(peer);
      if (nick) log.info("{nick} disconnected ({remote})", { nick, remote: peer.remote });
      options.onClose?.();
    },
    get nick() {
      return nick;
    },
  };
}
