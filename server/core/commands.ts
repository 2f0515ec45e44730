/**
 * What each command does on the server: one handler per entry of the
 * protocol's command table (`protocol/commands.ts`, which holds each verb's
 * syntax, arity, pre-join rule and help text). The map is typed by command
 * type, so a verb added to the table without a handler does not compile.
 * Handlers get validated commands only: the session has decoded, validated
 * and checked the pre-join rule before it calls one.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import {
  type Capability,
  CAPABILITY_NAMES,
  capabilityNamed,
  CloseCode,
  CMDS_TEXT,
  type CommandOf,
  type CommandType,
  formatUptime,
  HELP_TEXT,
  OPERATOR_HELP_TEXT,
  type ServerEvent,
  VERSION,
} from "../../protocol/mod.ts";
import type { AdminVerdict } from "./admin_auth.ts";
import type { Moderation } from "./moderation.ts";
import { MODERATION_HANDLERS } from "./moderation_commands.ts";
import { andThen, type Maybe } from "./bus.ts";
import type { Peer } from "./peer.ts";
import type { Outcome, Room } from "./room.ts";

const log = getLogger(["wirechat", "session"]);

/** What a handler may use: the room, its own peer and the session's transitions. */
export interface CommandContext {
  readonly room: Room;
  readonly peer: Peer;
  /** The member's nick once joined; undefined before. */
  readonly nick: string | undefined;
  /** Joins the room under `nick` (the first `NICK`). */
  join(nick: string): Maybe<void>;
  /** Records a rename the room accepted. */
  renamed(nick: string): void;
  /** Sends a refusal as `ERR` (the dialect's policy may close after it); runs `onOk` on success. */
  settle(outcome: Outcome, onOk?: () => void): Maybe<void>;
  /** Answers the requester alone. */
  reply(event: ServerEvent): void;
  /** Ends the connection; later lines are not applied. */
  close(code: number, reason: string): void;
  /** The server's moderation (admin gate, bans, forbidden words). */
  readonly moderation: Moderation;
  /** True once this connection gave the admin token. */
  readonly operator: boolean;
  /** Checks an `ADMIN` attempt (counting this connection's failures); makes it an operator when right. */
  tryAdmin(token: string): AdminVerdict;
  /** Adds capabilities; returns every declared one, sorted. */
  declare(caps: readonly Capability[]): Capability[];
  /** Milliseconds since the server started. */
  uptimeMs(): number;
}

/** The handler of one command type. */
export type Handler<T extends CommandType> = (cmd: CommandOf<T>, s: CommandContext) => Maybe<void>;

/** Command type → handler; every entry of the command table has one. */
export const COMMAND_HANDLERS: { readonly [T in CommandType]: Handler<T> } = {
  nick(cmd, s) {
    if (s.nick === undefined) return s.join(cmd.nick);
    return s.settle(s.room.rename(s.peer, cmd.nick), () => s.renamed(cmd.nick));
  },
  msg: (cmd, s) => s.settle(s.room.say(s.peer, cmd.text)),
  who: (cmd, s) => s.room.who(s.peer, cmd.pattern),
  quit(_cmd, s) {
    log.info("{nick} quit", { nick: s.nick });
    s.close(CloseCode.NORMAL, "Goodbye");
  },
  pm: (cmd, s) => s.settle(s.room.pm(s.peer, cmd.to, cmd.text)),
  typing: (_cmd, s) => s.room.typing(s.peer),
  history: (cmd, s) => s.room.history(s.peer, cmd.count),
  ping: (cmd, s) => s.reply(cmd.token ? { type: "pong", token: cmd.token } : { type: "pong" }),
  version: (_cmd, s) => s.reply({ type: "version", version: VERSION }),
  help(_cmd, s) {
    s.reply({ type: "notice", text: HELP_TEXT });
    if (s.operator) s.reply({ type: "notice", text: OPERATOR_HELP_TEXT });
  },
  ...MODERATION_HANDLERS,
  cmds: (_cmd, s) => s.reply({ type: "notice", text: CMDS_TEXT }),
  uptime: (_cmd, s) => s.reply({ type: "notice", text: `Uptime: ${formatUptime(s.uptimeMs())}` }),
  stats: (_cmd, s) =>
    andThen(s.room.users(), (users) =>
      s.reply({
        type: "notice",
        text: `Users: ${users} | Uptime: ${formatUptime(s.uptimeMs())} | Messages (session): ${s.room.messages}`,
      })),
  img: (cmd, s) => s.settle(s.room.image(s.peer, cmd.url)),
  cap(cmd, s) {
    if (cmd.names.length === 0) {
      return s.reply({ type: "notice", text: `Capabilities available: ${CAPABILITY_NAMES.join(", ")}` });
    }
    // Names this server does not know are ignored (a newer client may offer more); the answer says what is on.
    const known = cmd.names.map(capabilityNamed).filter((c): c is Capability => c !== undefined);
    const on = s.declare(known);
    s.reply({ type: "notice", text: `Capabilities: ${on.length ? on.join(", ") : "none"}` });
  },
};
