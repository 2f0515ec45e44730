/**
 * Client commands: parsing a client line into a typed command, and
 * formatting a command back into a line (for clients).
 *
 * @module
 */
import { DEFAULT_MAX_LINE, MAX_PING_TOKEN } from "./limits.ts";
import { ProtocolError } from "./errors.ts";
import { validateNick } from "./nick.ts";
import { checkWhoPattern } from "./pattern.ts";
import { exceedsCodePoints, hasControlChars, neutralize } from "./text.ts";

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
  | { type: "help" };

/** Options for {@linkcode parseClientLine}. */
export interface ParseOptions {
  /** Longest accepted line in code points, command word included. */
  maxLine?: number;
}

/** Longest command word echoed back in `ERR Unknown command: <WORD>`. */
const MAX_ECHOED_WORD = 32;

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

function checkedText(raw: string | undefined, missing: ProtocolError["code"]): string {
  const text = (raw ?? "").trim();
  if (text.length === 0) throw new ProtocolError(missing);
  if (hasControlChars(text)) throw new ProtocolError("control_chars");
  return text;
}

type Parser = (rest: string | undefined) => ClientCommand;

/** The command table: verb → parser of the rest of the line. */
const PARSERS: Readonly<Record<string, Parser>> = {
  NICK(rest) {
    const nick = validateNick(rest ?? "");
    if (nick === undefined) throw new ProtocolError("invalid_nick");
    return { type: "nick", nick };
  },
  MSG: (rest) => ({ type: "msg", text: checkedText(rest, "expected_msg") }),
  WHO(rest) {
    const pattern = rest?.trim();
    if (pattern) checkWhoPattern(pattern);
    return pattern ? { type: "who", pattern } : { type: "who" };
  },
  QUIT: () => ({ type: "quit" }),
  PM(rest) {
    const trimmed = (rest ?? "").trim();
    const [to, text] = splitVerb(trimmed);
    if (!to || text === undefined || text.trim() === "") throw new ProtocolError("expected_pm");
    return { type: "pm", to, text: checkedText(text, "expected_pm") };
  },
  TYPING: () => ({ type: "typing" }),
  HISTORY(rest) {
    const arg = rest?.trim();
    if (!arg) return { type: "history" };
    if (!/^\d{1,9}$/.test(arg)) throw new ProtocolError("expected_history");
    return { type: "history", count: Number(arg) };
  },
  PING(rest) {
    const token = rest?.trim();
    if (!token) return { type: "ping" };
    return { type: "ping", token: neutralize([...token].slice(0, MAX_PING_TOKEN).join("")) };
  },
  VERSION: () => ({ type: "version" }),
  HELP: () => ({ type: "help" }),
};

/** Every command word the server understands, in `HELP` order. */
export const COMMAND_WORDS: readonly string[] = Object.keys(PARSERS);

/**
 * Parses one client line (one WebSocket frame or one TCP line).
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
  const line = stripTerminator(raw);
  if (exceedsCodePoints(line, options.maxLine ?? DEFAULT_MAX_LINE)) {
    throw new ProtocolError("too_large");
  }
  const [word, rest] = splitVerb(line);
  const parser = PARSERS[word.toUpperCase()];
  if (!parser) {
    throw new ProtocolError("unknown_command", neutralize([...word].slice(0, MAX_ECHOED_WORD).join("")));
  }
  return parser(rest);
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
  switch (cmd.type) {
    case "nick":
      return `NICK ${cmd.nick}`;
    case "msg":
      return `MSG ${cmd.text}`;
    case "who":
      return cmd.pattern ? `WHO ${cmd.pattern}` : "WHO";
    case "quit":
      return "QUIT";
    case "pm":
      return `PM ${cmd.to} ${cmd.text}`;
    case "typing":
      return "TYPING";
    case "history":
      return cmd.count === undefined ? "HISTORY" : `HISTORY ${cmd.count}`;
    case "ping":
      return cmd.token ? `PING ${cmd.token}` : "PING";
    case "version":
      return "VERSION";
    case "help":
      return "HELP";
  }
}
