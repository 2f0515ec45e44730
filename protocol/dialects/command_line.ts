/**
 * Structured dialects (JSON, wschat, RiftChat) decode a frame into a
 * {@linkcode ClientCommand} and hand the session the equivalent protocol
 * line, so the line parser stays the one place where nickname rules, control
 * characters, empty texts and the line-length limit are enforced.
 *
 * A line cannot carry a field with a newline or (for one-word fields) a
 * space, so those are refused here first, with the error the line protocol
 * would give for the same intent.
 *
 * @module
 */
import { type ClientCommand, formatClientCommand } from "../commands.ts";
import { ProtocolError } from "../errors.ts";
import { hasControlChars, neutralize } from "../text.ts";

/** Largest `HISTORY` count a line can carry (the parser's nine digits). */
const MAX_HISTORY_ARG = 999_999_999;

const WORD_FORBIDDEN = /[\s\p{Cc}]/u;

/**
 * The protocol line for a structured command.
 *
 * @throws {ProtocolError} when a field could not travel in a line intact.
 *
 * @example
 * ```ts
 * import { commandLine } from "./command_line.ts";
 * if (commandLine({ type: "pm", to: "bob", text: "hi" }) !== "PM bob hi") throw new Error();
 * ```
 */
export function commandLine(cmd: ClientCommand): string {
  switch (cmd.type) {
    case "nick":
      if (hasControlChars(cmd.nick)) throw new ProtocolError("invalid_nick");
      break;
    case "msg":
      if (hasControlChars(cmd.text)) throw new ProtocolError("control_chars");
      break;
    case "pm":
      if (cmd.to.trim() === "") throw new ProtocolError("expected_pm");
      if (WORD_FORBIDDEN.test(cmd.to.trim())) {
        throw new ProtocolError("no_such_user", neutralize([...cmd.to].slice(0, 32).join("")));
      }
      if (hasControlChars(cmd.text)) throw new ProtocolError("control_chars");
      return formatClientCommand({ type: "pm", to: cmd.to.trim(), text: cmd.text });
    case "who":
      if (cmd.pattern !== undefined && hasControlChars(cmd.pattern)) throw new ProtocolError("control_chars");
      break;
    case "history":
      if (cmd.count !== undefined && !(Number.isInteger(cmd.count) && cmd.count >= 0 && cmd.count <= MAX_HISTORY_ARG)) {
        throw new ProtocolError("expected_history");
      }
      break;
    case "ping":
      if (cmd.token !== undefined) return formatClientCommand({ type: "ping", token: neutralize(cmd.token) });
      break;
  }
  return formatClientCommand(cmd);
}
