/**
 * What the composer sends: each line of the input becomes one command
 * (`MSG`, or `PM` while a private conversation is open); `/who`, `/nick`,
 * `/msg`, `/history`, `/help` and `/quit` are commands; `//text` sends
 * `/text`. Pure: no DOM.
 *
 * @module
 */
import type { ClientCommand } from "../../protocol/mod.ts";

/** The result of reading the composer: commands to send, or a local hint. */
export type ComposerResult = { commands: ClientCommand[] } | { hint: string };

/** The local help text for `/help` and unknown commands. */
export const COMPOSER_HELP =
  "Commands: /msg <nick> <text>, /nick <new>, /who [pattern], /history [n], /quit. Click a name to talk privately.";

function splitWord(s: string): [string, string] {
  const i = s.search(/\s/);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1).trim()];
}

function commandOf(line: string): ClientCommand | string {
  const [word, rest] = splitWord(line.slice(1));
  switch (word.toLowerCase()) {
    case "msg":
    case "pm": {
      const [to, text] = splitWord(rest);
      return to && text ? { type: "pm", to, text } : "Usage: /msg <nick> <text>";
    }
    case "nick":
      return rest ? { type: "nick", nick: rest } : "Usage: /nick <new name>";
    case "who":
      return rest ? { type: "who", pattern: rest } : { type: "who" };
    case "history":
      if (!rest) return { type: "history" };
      return /^\d{1,9}$/.test(rest) ? { type: "history", count: Number(rest) } : "Usage: /history [n]";
    case "quit":
    case "exit":
      return { type: "quit" };
    case "help":
      return COMPOSER_HELP;
    default:
      return `Unknown command /${word}. ${COMPOSER_HELP}`;
  }
}

/**
 * Reads the composer text. `pmTo` is the open private conversation, if any.
 *
 * @example
 * ```ts
 * import { readComposer } from "./input.ts";
 * const r = readComposer("hi\n\n there ", undefined);
 * if (!("commands" in r) || r.commands.length !== 2) throw new Error();
 * const p = readComposer("psst", "bob");
 * if (!("commands" in p) || p.commands[0].type !== "pm") throw new Error();
 * ```
 */
export function readComposer(text: string, pmTo: string | undefined): ComposerResult {
  const commands: ClientCommand[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("/") && !line.startsWith("//")) {
      const cmd = commandOf(line);
      if (typeof cmd === "string") return { hint: cmd };
      commands.push(cmd);
      continue;
    }
    const body = line.startsWith("//") ? line.slice(1) : line;
    commands.push(pmTo ? { type: "pm", to: pmTo, text: body } : { type: "msg", text: body });
  }
  return { commands };
}
