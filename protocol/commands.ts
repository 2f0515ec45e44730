/**
 * Client commands: the one command table of the wire protocol (verb,
 * syntax, arity, pre-join rule, help text, field rules), the line parser
 * driven by it, the one validation every dialect's commands go through, and
 * the formatter clients use. The server's handler of each verb is keyed by
 * the same command type (`server/core/commands.ts`), checked by the compiler
 * to cover every entry.
 *
 * Decoding and validating are two steps: a dialect decodes a frame into a
 * raw {@linkcode ClientCommand} (syntax only), and
 * {@linkcode validateCommand} applies the same nick, text and size rules
 * whatever the dialect, without turning the command back into a line.
 *
 * @module
 */
import { DEFAULT_MAX_LINE, MAX_BAN_MINUTES, MAX_IMAGE_URL, MAX_PING_TOKEN } from "./limits.ts";
import { type ErrorCode, ProtocolError } from "./errors.ts";
import { validateNick } from "./nick.ts";
import { checkWhoPattern } from "./pattern.ts";
import { codePointLength, exceedsCodePoints, hasControlChars, neutralize, trimBlankEdges } from "./text.ts";

/** A parsed client line. */
export type ClientCommand =
  | { type: "nick"; nick: string }
  | { type: "msg"; text: string }
  | { type: "who"; pattern?: string }
  | { type: "quit" }
  | { type: "pm"; to: string; text: string }
  | { type: "typing" }
  | { type: "history"; count?: number }
  | { type: "ping"; token?: string }
  | { type: "version" }
  | { type: "help" }
  | { type: "admin"; token: string }
  | { type: "kick"; nick: string }
  | { type: "ban"; nick: string; minutes?: number }
  | { type: "unban"; nick: string }
  | { type: "bans" }
  | { type: "cmds" }
  | { type: "uptime" }
  | { type: "stats" }
  | { type: "img"; url: string }
  | { type: "cap"; names: string[] };

/** The `type` of a command. */
export type CommandType = ClientCommand["type"];

/** The command of one type. */
export type CommandOf<T extends CommandType> = Extract<ClientCommand, { type: T }>;

/** Limits {@linkcode validateCommand} and {@linkcode parseClientLine} apply. */
export interface ParseOptions {
  /** Longest accepted line in code points, command word included. */
  maxLine?: number;
}

/** One entry of the command table. */
export interface CommandSpec<T extends CommandType = CommandType> {
  /** The command word (case-insensitive on the wire). */
  readonly verb: string;
  /** The command type it decodes to. */
  readonly type: T;
  /** The syntax as `HELP` shows it. */
  readonly usage: string;
  /** One line saying what it does. */
  readonly help: string;
  /** Words after the verb: at least `min`, at most `max` (the last one takes the rest of the line). */
  readonly arity: { readonly min: number; readonly max: number };
  /** The error for fewer than `min` words. */
  readonly missing?: ErrorCode;
  /** Accepted before the client has joined (otherwise: `ERR Expected: NICK <name>` and close). */
  readonly beforeJoin: boolean;
  /** Only for a connection that gave the admin token (`ERR Admin only command` otherwise); `HELP` lists it apart. */
  readonly operator?: boolean;
  /** Builds the raw command from the words (syntax only; fields are checked by `check`). */
  build(args: readonly string[]): CommandOf<T>;
  /** The words of the command's line, for formatting and the size rule. */
  args(cmd: CommandOf<T>): readonly string[];
  /** The field rules, the same for every dialect: returns the normalised command. */
  check(cmd: CommandOf<T>): CommandOf<T>;
}

/** Largest `HISTORY` count (nine digits). */
export const MAX_HISTORY_ARG = 999_999_999;

/** Longest command word or recipient echoed back in an `ERR` line. */
export const MAX_ECHOED_WORD = 32;

const WORD_FORBIDDEN = /[\s\p{Cc}]/u;
/** An `IMG` URL starts with `http://` or `https://` as written (a URL parser also takes `https:host` or `https:/host`). */
const IMAGE_URL_START = /^https?:\/\//i;

/** An `IMG` URL: http or https, a host, no whitespace or control character, within {@linkcode MAX_IMAGE_URL}. */
function checkImageUrl(raw: string): string {
  const url = raw.trim();
  if (url === "") throw new ProtocolError("img_requires_url");
  if (exceedsCodePoints(url, MAX_IMAGE_URL) || WORD_FORBIDDEN.test(url) || !IMAGE_URL_START.test(url)) {
    throw new ProtocolError("invalid_image_url");
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProtocolError("invalid_image_url");
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.hostname === "") {
    throw new ProtocolError("invalid_image_url");
  }
  return url;
}

/** Trims a text field; a control character left inside (a line break anywhere) is refused. */
function checkText(raw: string, missing: ErrorCode): string {
  if (hasControlChars(trimBlankEdges(raw))) throw new ProtocolError("control_chars");
  const text = raw.trim();
  if (text.length === 0) throw new ProtocolError(missing);
  return text;
}

/** A moderation command's nickname: one word (a space means the syntax is wrong). */
function checkTarget(raw: string, missing: ErrorCode): string {
  const nick = raw.trim();
  if (nick === "" || WORD_FORBIDDEN.test(nick)) throw new ProtocolError(missing);
  return nick;
}

/** `s` cut to `max` code points and made printable, for echoing. */
function echoed(s: string, max = MAX_ECHOED_WORD): string {
  return neutralize([...s].slice(0, max).join(""));
}

function spec<T extends CommandType>(entry: CommandSpec<T>): CommandSpec<T> {
  return entry;
}

const none = () => [] as const;
const same = <C>(cmd: C) => cmd;

/** An entry for a command word without arguments (anything after it is ignored), allowed once joined. */
function bare<T extends CommandType>(verb: string, type: T, help: string, extra: { operator?: boolean } = {}) {
  return spec<T>({
    verb,
    type,
    usage: verb,
    help,
    arity: { min: 0, max: 0 },
    beforeJoin: false,
    ...extra,
    build: () => ({ type }) as CommandOf<T>,
    args: none,
    check: same,
  });
}

/**
 * The command table, in `HELP` order. Adding a verb: an entry here, its
 * type in {@linkcode ClientCommand}, and its handler on the server.
 */
export const COMMAND_SPECS = [
  spec({
    verb: "NICK",
    type: "nick",
    usage: "NICK <name>",
    help: "join, or change your nickname",
    arity: { min: 1, max: 1 },
    missing: "invalid_nick",
    beforeJoin: true,
    build: ([nick]) => ({ type: "nick", nick }),
    args: (c) => [c.nick],
    check(c) {
      const nick = hasControlChars(trimBlankEdges(c.nick)) ? undefined : validateNick(c.nick);
      if (nick === undefined) throw new ProtocolError("invalid_nick");
      return { type: "nick", nick };
    },
  }),
  spec({
    verb: "MSG",
    type: "msg",
    usage: "MSG <text>",
    help: "send a message to everyone",
    arity: { min: 1, max: 1 },
    missing: "expected_msg",
    beforeJoin: false,
    build: ([text]) => ({ type: "msg", text }),
    args: (c) => [c.text],
    check: (c) => ({ type: "msg", text: checkText(c.text, "expected_msg") }),
  }),
  spec({
    verb: "WHO",
    type: "who",
    usage: "WHO [<pattern>]",
    help: "list who is online (* matches any run of characters)",
    arity: { min: 0, max: 1 },
    beforeJoin: false,
    build: ([pattern]) => (pattern === undefined ? { type: "who" } : { type: "who", pattern }),
    args: (c) => (c.pattern === undefined ? [] : [c.pattern]),
    check(c) {
      const pattern = c.pattern?.trim();
      if (!pattern) return { type: "who" };
      checkWhoPattern(pattern);
      if (hasControlChars(pattern)) throw new ProtocolError("control_chars");
      return { type: "who", pattern };
    },
  }),
  bare("QUIT", "quit", "leave"),
  spec({
    verb: "PM",
    type: "pm",
    usage: "PM <nick> <text>",
    help: "send a private message (never stored)",
    arity: { min: 2, max: 2 },
    missing: "expected_pm",
    beforeJoin: false,
    build: ([to, text]) => ({ type: "pm", to, text }),
    args: (c) => [c.to.trim(), c.text],
    check(c) {
      const to = c.to.trim();
      if (to === "") throw new ProtocolError("expected_pm");
      if (WORD_FORBIDDEN.test(to)) throw new ProtocolError("no_such_user", echoed(c.to));
      return { type: "pm", to, text: checkText(c.text, "expected_pm") };
    },
  }),
  bare("TYPING", "typing", "tell the others you are typing"),
  spec({
    verb: "HISTORY",
    type: "history",
    usage: "HISTORY [<n>]",
    help: "show the last n public messages again",
    arity: { min: 0, max: 1 },
    beforeJoin: false,
    build([arg]) {
      if (arg === undefined) return { type: "history" };
      if (!/^\d{1,9}$/.test(arg)) throw new ProtocolError("expected_history");
      return { type: "history", count: Number(arg) };
    },
    args: (c) => (c.count === undefined ? [] : [String(c.count)]),
    check(c) {
      const n = c.count;
      if (n !== undefined && !(Number.isInteger(n) && n >= 0 && n <= MAX_HISTORY_ARG)) {
        throw new ProtocolError("expected_history");
      }
      return c;
    },
  }),
  spec({
    verb: "PING",
    type: "ping",
    usage: "PING [<token>]",
    help: "the server answers PONG with the same token",
    arity: { min: 0, max: 1 },
    beforeJoin: false,
    build: ([token]) => (token === undefined ? { type: "ping" } : { type: "ping", token }),
    args: (c) => (c.token === undefined ? [] : [c.token]),
    check(c) {
      const token = c.token?.trim();
      return token ? { type: "ping", token: echoed(token, MAX_PING_TOKEN) } : { type: "ping" };
    },
  }),
  bare("VERSION", "version", "the server's version"),
  bare("HELP", "help", "this list"),
  spec({
    verb: "ADMIN",
    type: "admin",
    usage: "ADMIN <token>",
    help: "become an operator of this server with its admin token",
    arity: { min: 1, max: 1 },
    missing: "expected_admin",
    beforeJoin: false,
    build: ([token]) => ({ type: "admin", token }),
    args: (c) => [c.token],
    check(c) {
      const token = c.token.trim();
      if (token === "") throw new ProtocolError("expected_admin");
      return { type: "admin", token };
    },
  }),
  spec({
    verb: "KICK",
    type: "kick",
    usage: "KICK <nick>",
    help: "disconnect a member",
    arity: { min: 1, max: 1 },
    missing: "expected_kick",
    beforeJoin: false,
    operator: true,
    build: ([nick]) => ({ type: "kick", nick }),
    args: (c) => [c.nick],
    check: (c) => ({ type: "kick", nick: checkTarget(c.nick, "expected_kick") }),
  }),
  spec({
    verb: "BAN",
    type: "ban",
    usage: "BAN <nick> [<minutes>]",
    help: "disconnect a member and refuse their nickname and address for a while",
    arity: { min: 1, max: 2 },
    missing: "expected_ban",
    beforeJoin: false,
    operator: true,
    build([nick, minutes]) {
      if (minutes === undefined) return { type: "ban", nick };
      if (!/^\d{1,9}$/.test(minutes)) throw new ProtocolError("expected_ban");
      return { type: "ban", nick, minutes: Number(minutes) };
    },
    args: (c) => (c.minutes === undefined ? [c.nick] : [c.nick, String(c.minutes)]),
    check(c) {
      const nick = checkTarget(c.nick, "expected_ban");
      const m = c.minutes;
      if (m === undefined) return { type: "ban", nick };
      if (!(Number.isInteger(m) && m >= 1 && m <= MAX_BAN_MINUTES)) throw new ProtocolError("expected_ban");
      return { type: "ban", nick, minutes: m };
    },
  }),
  spec({
    verb: "UNBAN",
    type: "unban",
    usage: "UNBAN <nick>",
    help: "lift a ban",
    arity: { min: 1, max: 1 },
    missing: "expected_unban",
    beforeJoin: false,
    operator: true,
    build: ([nick]) => ({ type: "unban", nick }),
    args: (c) => [c.nick],
    check: (c) => ({ type: "unban", nick: checkTarget(c.nick, "expected_unban") }),
  }),
  bare("BANS", "bans", "list the bans in force", { operator: true }),
  bare("CMDS", "cmds", "the command words, on one line"),
  bare("UPTIME", "uptime", "how long the server has been running"),
  bare("STATS", "stats", "users online, uptime and messages since the server started"),
  spec({
    verb: "IMG",
    type: "img",
    usage: "IMG <url>",
    help: "share an image by its http(s) URL",
    arity: { min: 1, max: 1 },
    missing: "img_requires_url",
    beforeJoin: false,
    build: ([url]) => ({ type: "img", url }),
    args: (c) => [c.url],
    check: (c) => ({ type: "img", url: checkImageUrl(c.url) }),
  }),
  spec({
    verb: "CAP",
    type: "cap",
    usage: "CAP [<capability> ...]",
    help: "declare the extension lines you understand (alone: list them)",
    arity: { min: 0, max: 1 },
    beforeJoin: true,
    build: ([names]) => ({ type: "cap", names: names === undefined ? [] : names.split(" ").filter(Boolean) }),
    args: (c) => c.names,
    check: (c) => ({ type: "cap", names: c.names.map((n) => n.trim()).filter(Boolean) }),
  }),
] as const;

/** The table entry of every command type. */
export const COMMAND_SPEC: { readonly [T in CommandType]: CommandSpec<T> } = Object.fromEntries(
  COMMAND_SPECS.map((s) => [s.type, s]),
) as { [T in CommandType]: CommandSpec<T> };

const BY_VERB: ReadonlyMap<string, CommandSpec> = new Map(COMMAND_SPECS.map((s) => [s.verb, s as CommandSpec]));

/** Every command word the server understands, in `HELP` order. */
export const COMMAND_WORDS: readonly string[] = COMMAND_SPECS.map((s) => s.verb);

/** The `SYS` text of `HELP`, generated from the table. */
export const HELP_TEXT = `Commands: ${COMMAND_SPECS.filter((s) => !("operator" in s)).map((s) => s.usage).join(", ")}`;

/** The second `HELP` line an operator gets, generated from the table. */
export const OPERATOR_HELP_TEXT = `Operator commands: ${
  COMMAND_SPECS.filter((s) => "operator" in s).map((s) => s.usage).join(", ")
}`;

/** The `SYS` text of `CMDS` (the original Wirechat's one-line list), generated from the table. */
export const CMDS_TEXT = `Available commands: ${COMMAND_WORDS.join(", ")}`;

function specOf<T extends CommandType>(type: T): CommandSpec<T> {
  return COMMAND_SPEC[type] as CommandSpec<T>;
}

/** Removes one trailing `\n` or `\r\n`, which the contract says to ignore. */
export function stripTerminator(line: string): string {
  if (line.endsWith("\r\n")) return line.slice(0, -2);
  if (line.endsWith("\n")) return line.slice(0, -1);
  return line;
}

function splitVerb(line: string): [string, string | undefined] {
  const space = line.indexOf(" ");
  return space < 0 ? [line, undefined] : [line.slice(0, space), line.slice(space + 1)];
}

/** The words after the verb: split at single spaces, the last word takes the rest. */
function splitArgs(rest: string | undefined, max: number): string[] {
  const trimmed = rest?.trim() ?? "";
  if (max === 0 || trimmed === "") return [];
  const args: string[] = [];
  let tail = trimmed;
  while (args.length < max - 1) {
    const [word, more] = splitVerb(tail);
    args.push(word);
    if (more === undefined) return args;
    tail = more;
  }
  args.push(tail);
  return args;
}

/** The length in code points of the line that carries `cmd`, command word included. */
function lineLength(cmd: ClientCommand): number {
  const s = specOf(cmd.type) as CommandSpec;
  let n = s.verb.length;
  for (const arg of s.args(cmd)) n += 1 + codePointLength(arg);
  return n;
}

/**
 * Applies the protocol's rules to a command from any dialect: the line
 * limit (measured on the line the command stands for), then the field rules
 * of its table entry. Returns the normalised command.
 *
 * @throws {ProtocolError} with the code of the `ERR` line to answer.
 *
 * @example
 * ```ts
 * import { validateCommand } from "./commands.ts";
 * const cmd = validateCommand({ type: "pm", to: " bob ", text: " hi " });
 * if (cmd.type !== "pm" || cmd.to !== "bob" || cmd.text !== "hi") throw new Error();
 * ```
 */
export function validateCommand(cmd: ClientCommand, options: ParseOptions = {}): ClientCommand {
  const max = options.maxLine ?? DEFAULT_MAX_LINE;
  if (lineLength(cmd) > max) throw new ProtocolError("too_large");
  return (specOf(cmd.type) as CommandSpec).check(cmd);
}

/**
 * Decodes one client line into a raw command (syntax and the line limit
 * only; {@linkcode validateCommand} applies the field rules).
 *
 * @throws {ProtocolError} for a line over the limit, an unknown command
 * word, missing words or a malformed argument.
 */
export function decodeClientLine(raw: string, options: ParseOptions = {}): ClientCommand {
  const line = stripTerminator(raw);
  if (exceedsCodePoints(line, options.maxLine ?? DEFAULT_MAX_LINE)) throw new ProtocolError("too_large");
  const [word, rest] = splitVerb(line);
  const s = BY_VERB.get(word.toUpperCase());
  if (!s) throw new ProtocolError("unknown_command", echoed(word));
  const args = splitArgs(rest, s.arity.max);
  if (args.length < s.arity.min) throw new ProtocolError(s.missing ?? "bad_message");
  return s.build(args);
}

/**
 * Parses and validates one client line (one WebSocket frame or one TCP line).
 *
 * @throws {ProtocolError} with the code of the `ERR` line to answer.
 *
 * @example
 * ```ts
 * import { parseClientLine } from "./commands.ts";
 * const cmd = parseClientLine("msg  hello \n");
 * if (cmd.type !== "msg" || cmd.text !== "hello") throw new Error("bad parse");
 * ```
 */
export function parseClientLine(raw: string, options: ParseOptions = {}): ClientCommand {
  return validateCommand(decodeClientLine(raw, options), options);
}

/**
 * Formats a command as the line a client sends.
 *
 * @example
 * ```ts
 * import { formatClientCommand } from "./commands.ts";
 * if (formatClientCommand({ type: "pm", to: "bob", text: "hi" }) !== "PM bob hi") throw new Error();
 * ```
 */
export function formatClientCommand(cmd: ClientCommand): string {
  const s = specOf(cmd.type) as CommandSpec;
  const args = s.args(cmd);
  return args.length === 0 ? s.verb : `${s.verb} ${args.join(" ")}`;
}
