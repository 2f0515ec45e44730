/**
 * What a typed (or piped) line means: a message, a command for the server,
 * or something the client handles itself (help, quit, a hint).
 *
 * @module
 */
import {
  type ClientCommand,
  hasControlChars,
  parseClientLine,
  ProtocolError,
  validateNick,
} from "../../protocol/mod.ts";

/** The meaning of one input line. */
export type InputAction =
  | { kind: "send"; cmd: ClientCommand }
  | { kind: "quit" }
  | { kind: "help" }
  /** A local answer; nothing is sent. */
  | { kind: "hint"; text: string }
  /** An empty line: nothing to do. */
  | { kind: "none" };

/** The client's own commands, in `/help` order. */
export const CLIENT_COMMANDS: readonly { usage: string; help: string }[] = [
  { usage: "/who [pattern]", help: "list who is online (* matches any run of characters)" },
  { usage: "/nick <new>", help: "change your nickname" },
  { usage: "/msg <nick> <text>", help: "private message (not stored, not replayed)" },
  { usage: "/history [n]", help: "show the last n public messages again" },
  { usage: "/help", help: "this list" },
  { usage: "/quit, /exit", help: "leave (also Ctrl-C, or Ctrl-D on an empty line)" },
  { usage: "//text", help: "send a message that starts with /" },
];

/** The `/help` text, one entry per line. */
export function helpLines(): string[] {
  const width = Math.max(...CLIENT_COMMANDS.map((c) => c.usage.length));
  return CLIENT_COMMANDS.map((c) => `${c.usage.padEnd(width)}  ${c.help}`);
}

function splitWord(s: string): [string, string] {
  const m = /^(\S+)\s*(.*)$/s.exec(s.trim());
  return m ? [m[1], m[2]] : ["", ""];
}

const hint = (text: string): InputAction => ({ kind: "hint", text });

/**
 * Interprets one input line.
 *
 * Plain text is a `MSG`. A line starting with `/` is a command: the client's
 * own (`/who`, `/nick`, `/msg`, `/history`, `/help`, `/quit`, `/exit`), or any
 * other command word of the protocol (`/ping`, `/version`…); an unknown one
 * gets a local hint and is not sent. `//text` sends `/text` as a message.
 *
 * @example
 * ```ts
 * import { parseInput } from "./input.ts";
 * const a = parseInput("/msg bob hi there");
 * if (a.kind !== "send" || a.cmd.type !== "pm" || a.cmd.text !== "hi there") throw new Error();
 * if (parseInput("/frobnicate").kind !== "hint") throw new Error();
 * ```
 */
export function parseInput(line: string): InputAction {
  const trimmed = line.trim();
  if (trimmed === "") return { kind: "none" };
  if (!trimmed.startsWith("/") || trimmed.startsWith("//")) {
    const text = trimmed.startsWith("//") ? trimmed.slice(1) : trimmed;
    if (hasControlChars(text)) return hint("Message contains control characters; not sent.");
    return { kind: "send", cmd: { type: "msg", text } };
  }
  const [word, rest] = splitWord(trimmed.slice(1));
  switch (word.toLowerCase()) {
    case "quit":
    case "exit":
      return { kind: "quit" };
    case "help":
    case "?":
      return { kind: "help" };
    case "who":
      return { kind: "send", cmd: rest ? { type: "who", pattern: rest } : { type: "who" } };
    case "nick": {
      if (!rest) return hint("Usage: /nick <new>");
      const nick = validateNick(rest);
      if (nick === undefined) {
        return hint("Invalid nickname: 1-20 characters, no spaces or control characters.");
      }
      return { kind: "send", cmd: { type: "nick", nick } };
    }
    case "msg":
    case "pm": {
      const [to, text] = splitWord(rest);
      if (!to || !text) return hint("Usage: /msg <nick> <text>");
      if (hasControlChars(text)) return hint("Message contains control characters; not sent.");
      return { kind: "send", cmd: { type: "pm", to, text } };
    }
    case "history": {
      if (!rest) return { kind: "send", cmd: { type: "history" } };
      if (!/^\d{1,9}$/.test(rest)) return hint("Usage: /history [n]  (n is a number)");
      return { kind: "send", cmd: { type: "history", count: Number(rest) } };
    }
  }
  // Any other protocol command (PING, VERSION, TYPING…) passes through the codec.
  try {
    return { kind: "send", cmd: parseClientLine(trimmed.slice(1)) };
  } catch (err) {
    if (err instanceof ProtocolError && err.code === "unknown_command") {
      return hint(`Unknown command /${err.detail ?? word}. Type /help for the list.`);
    }
    if (err instanceof ProtocolError) return hint(err.text);
    throw err;
  }
}
