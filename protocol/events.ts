/**
 * Server events: everything the server tells a client, as typed values, with
 * the line format of the contract and a parser of server lines for clients.
 *
 * Events are semantic (a join, a message) rather than text, so other wire
 * dialects can encode the same events in their own formats.
 *
 * @module
 */
import { ERROR_TEXT, type ErrorCode, errorCodeOf } from "./errors.ts";
import { GREETING_PROMPT, PROTOCOL_ID } from "./limits.ts";

/** A public chat message as broadcast and stored. */
export interface ChatMessage {
  /** UTC timestamp, `Date.prototype.toISOString()` format. */
  ts: string;
  nick: string;
  /** The text; for an image, its URL. */
  text: string;
  /** `"img"`: an image shared with `IMG <url>` (absent: a text message). */
  kind?: "img";
}

/** Everything the server can send. Each event is exactly one line. */
export type ServerEvent =
  | { type: "notice"; text: string }
  | { type: "prompt" }
  | { type: "join"; nick: string }
  | { type: "leave"; nick: string }
  | { type: "rename"; from: string; to: string }
  | ({ type: "msg" } & ChatMessage)
  /** An image shared with `IMG <url>`: `IMG [<ts>] <nick> <url>`. */
  | { type: "img"; ts: string; nick: string; url: string }
  | { type: "pm"; ts: string; from: string; to: string; text: string }
  | { type: "typing"; nick: string }
  | { type: "who"; nicks: string[] }
  | { type: "replay_start"; count: number }
  | { type: "replay_end" }
  | { type: "error"; code: ErrorCode; detail?: string }
  | { type: "pong"; token?: string }
  | { type: "version"; version: string }
  | { type: "shutdown" };

/** The `SYS` text of a `WHO` reply. */
export function onlineText(nicks: readonly string[]): string {
  return nicks.length ? `Online (${nicks.length}): ${nicks.join(", ")}` : "Online (0):";
}

/** The event a stored message is broadcast and replayed as: `msg`, or `img` for an image. */
export function messageEvent(m: ChatMessage): ServerEvent {
  return m.kind === "img" ? { type: "img", ts: m.ts, nick: m.nick, url: m.text } : { type: "msg", ...m };
}

/** The `MSG` line for a chat message (as broadcast, replayed and logged with `MSG `). */
export function msgLine(m: ChatMessage): string {
  return `MSG [${m.ts}] ${m.nick}: ${m.text}`;
}

/**
 * Formats an event as one line of the wire contract (no terminator).
 *
 * @example
 * ```ts
 * import { formatLine } from "./events.ts";
 * if (formatLine({ type: "join", nick: "bob" }) !== "SYS bob joined the chat!") throw new Error();
 * ```
 */
export function formatLine(ev: ServerEvent): string {
  switch (ev.type) {
    case "notice":
      return `SYS ${ev.text}`;
    case "prompt":
      return `SYS ${GREETING_PROMPT}`;
    case "join":
      return `SYS ${ev.nick} joined the chat!`;
    case "leave":
      return `SYS ${ev.nick} left the chat!`;
    case "rename":
      return `SYS ${ev.from} is now known as ${ev.to}`;
    case "msg":
      return msgLine(ev);
    case "img":
      return `IMG [${ev.ts}] ${ev.nick} ${ev.url}`;
    case "pm":
      return `PM [${ev.ts}] ${ev.from} -> ${ev.to}: ${ev.text}`;
    case "typing":
      return `TYPING ${ev.nick}`;
    case "who":
      return `SYS ${onlineText(ev.nicks)}`;
    case "replay_start":
      return `SYS Replay start (${ev.count} messages)`;
    case "replay_end":
      return "SYS Replay end";
    case "error":
      return `ERR ${ERROR_TEXT[ev.code](ev.detail)}`;
    case "pong":
      return ev.token ? `PONG ${ev.token}` : "PONG";
    case "version":
      return `SYS Wirechat ${ev.version} (protocol ${PROTOCOL_ID})`;
    case "shutdown":
      return "SYS Server shutting down";
  }
}

/** A server line a client could not map to a known event. */
export type UnknownLine = { type: "unknown"; line: string };

const MSG_RE = /^MSG \[([^\]]*)\] (\S+?): (.*)$/s;
const IMG_RE = /^IMG \[([^\]]*)\] (\S+) (\S+)$/;
const PM_RE = /^PM \[([^\]]*)\] (\S+) -> (\S+?): (.*)$/s;
const JOIN_RE = /^(\S+) joined the chat!$/;
const LEAVE_RE = /^(\S+) left the chat!$/;
const RENAME_RE = /^(\S+) is now known as (\S+)$/;
const ONLINE_RE = /^Online \((\d+)\):(?: (.*))?$/s;
const REPLAY_RE = /^Replay start \((\d+) messages\)$/;
const VERSION_RE = /^Wirechat (\S+) \(protocol [^)]+\)$/;

/**
 * Parses a server line into an event; lines it does not recognise come back
 * as `{ type: "unknown" }` so a client can still show them.
 *
 * @example
 * ```ts
 * import { parseServerLine } from "./events.ts";
 * const ev = parseServerLine("MSG [2026-01-01T00:00:00.000Z] a:b: hi: there");
 * if (ev.type !== "msg" || ev.nick !== "a:b" || ev.text !== "hi: there") throw new Error();
 * ```
 */
export function parseServerLine(line: string): ServerEvent | UnknownLine {
  if (line.startsWith("MSG ")) {
    const m = MSG_RE.exec(line);
    if (m) return { type: "msg", ts: m[1], nick: m[2], text: m[3] };
  } else if (line.startsWith("IMG ")) {
    const m = IMG_RE.exec(line);
    if (m) return { type: "img", ts: m[1], nick: m[2], url: m[3] };
  } else if (line.startsWith("PM ")) {
    const m = PM_RE.exec(line);
    if (m) return { type: "pm", ts: m[1], from: m[2], to: m[3], text: m[4] };
  } else if (line.startsWith("TYPING ")) {
    return { type: "typing", nick: line.slice(7) };
  } else if (line === "PONG" || line.startsWith("PONG ")) {
    const token = line.slice(5);
    return token ? { type: "pong", token } : { type: "pong" };
  } else if (line.startsWith("ERR ")) {
    const text = line.slice(4);
    const code = errorCodeOf(text);
    if (code) {
      const fixed = ERROR_TEXT[code]();
      const detail = fixed.endsWith(": ") ? text.slice(fixed.length) : undefined;
      return detail === undefined ? { type: "error", code } : { type: "error", code, detail };
    }
  } else if (line.startsWith("SYS ")) {
    return parseSys(line.slice(4));
  }
  return { type: "unknown", line };
}

function parseSys(text: string): ServerEvent {
  if (text === GREETING_PROMPT) return { type: "prompt" };
  if (text === "Replay end") return { type: "replay_end" };
  if (text === "Server shutting down") return { type: "shutdown" };
  let m = JOIN_RE.exec(text);
  if (m) return { type: "join", nick: m[1] };
  m = LEAVE_RE.exec(text);
  if (m) return { type: "leave", nick: m[1] };
  m = RENAME_RE.exec(text);
  if (m) return { type: "rename", from: m[1], to: m[2] };
  m = ONLINE_RE.exec(text);
  if (m) return { type: "who", nicks: m[2] ? m[2].split(", ") : [] };
  m = REPLAY_RE.exec(text);
  if (m) return { type: "replay_start", count: Number(m[1]) };
  m = VERSION_RE.exec(text);
  if (m) return { type: "version", version: m[1] };
  return { type: "notice", text };
}
