/**
 * How server events look in the interactive client: local `HH:MM` times, a
 * stable colour per nick, dimmed system lines, own messages marked. Every
 * piece of text that came from the network goes through `neutralize`, so a
 * peer can never move the cursor, change colours, or reorder the line.
 *
 * @module
 */
import { codePointLength, ERROR_TEXT, neutralize, type ServerEvent, type UnknownLine } from "../../protocol/mod.ts";
import { type Style, visibleWidth } from "./style.ts";

/** Longest text shown for one peer-supplied field, in code points; the rest is elided. */
export const MAX_SHOWN_CODE_POINTS = 4096;

/** Marker in front of our own messages (also without colours). */
export const OWN_MARK = "»";

/** What rendering needs to know. */
export interface RenderContext {
  style: Style;
  /** Our nickname (own messages are marked). */
  ownNick?: string;
  /** The current time (for system lines, and to decide whether to show a date). */
  now: Date;
}

/**
 * Makes peer text safe for a terminal: control and bidi characters become
 * visible placeholders, and very long text is cut with a count of the rest.
 *
 * @example
 * ```ts
 * import { safeText } from "./render.ts";
 * if (safeText("a\x1b[2Jb\r") !== "a\u241b[2Jb\u240d") throw new Error();
 * ```
 */
export function safeText(s: string, max = MAX_SHOWN_CODE_POINTS): string {
  if (codePointLength(s) <= max) return neutralize(s);
  const cps = [...s];
  return `${neutralize(cps.slice(0, max).join(""))}… (${cps.length - max} more characters)`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** `HH:MM` in local time; with the date in front when it is not today. Unparsable stamps are shown as sent. */
export function formatTime(ts: string | Date, now: Date): string {
  const d = typeof ts === "string" ? new Date(ts) : ts;
  if (Number.isNaN(d.getTime())) return safeText(String(ts), 32);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  const sameDay = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() &&
    d.getDate() === now.getDate();
  return sameDay ? hm : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

const sameNick = (a: string, b?: string) => b !== undefined && a.toLowerCase() === b.toLowerCase();

/** A line to show, and the column its text starts at (where its wrapped rows continue). */
export interface DisplayLine {
  line: string;
  indent: number;
}

/** `prefix` then `text`, styled by `wrap` as a whole; the text column is after the prefix. */
function compose(prefix: string, text: string, wrap: (s: string) => string = (s) => s): DisplayLine {
  return { line: `  ${wrap(`${prefix}${text}`)}`, indent: 2 + visibleWidth(prefix) };
}

/** A system line: dimmed, with the local time. */
export function systemDisplay(text: string, ctx: RenderContext): DisplayLine {
  return compose(`${formatTime(ctx.now, ctx.now)} -- `, text, ctx.style.dim);
}

/** A system line as a string (see {@linkcode systemDisplay}). */
export function systemLine(text: string, ctx: RenderContext): string {
  return systemDisplay(text, ctx).line;
}

/** A local notice from the client itself (hints, help). */
export function localDisplay(text: string, ctx: RenderContext): DisplayLine {
  return compose("* ", text, ctx.style.yellow);
}

/** A local notice as a string (see {@linkcode localDisplay}). */
export function localLine(text: string, ctx: RenderContext): string {
  return localDisplay(text, ctx).line;
}

/**
 * An error from the server: the one style for every `ERR` line (red, time,
 * `!`), whether the client knows its code, shows it at a prompt (a refused
 * nickname) or does not know it at all.
 */
export function errorDisplay(text: string, ctx: RenderContext): DisplayLine {
  return compose(`${formatTime(ctx.now, ctx.now)} ! `, text, ctx.style.red);
}

/**
 * Renders one server event as one display line, or `undefined` when the
 * event is not shown as a line (the greeting prompt, typing, replay markers:
 * the controller handles those).
 *
 * @example
 * ```ts
 * import { renderEvent } from "./render.ts";
 * import { createStyle } from "./style.ts";
 * const ctx = { style: createStyle(false), ownNick: "alice", now: new Date() };
 * const line = renderEvent({ type: "msg", ts: new Date().toISOString(), nick: "alice", text: "hi" }, ctx);
 * if (!line?.startsWith("» ") || !line.endsWith(" alice: hi")) throw new Error(line);
 * ```
 */
export function renderEvent(ev: ServerEvent | UnknownLine, ctx: RenderContext): string | undefined {
  return renderEventLine(ev, ctx)?.line;
}

/** {@linkcode renderEvent} with the text column, for wrapping with a hanging indent. */
export function renderEventLine(ev: ServerEvent | UnknownLine, ctx: RenderContext): DisplayLine | undefined {
  const { style } = ctx;
  const nick = (n: string) => style.nick(safeText(n, 64));
  const withPrefix = (prefix: string, text: string): DisplayLine => ({
    line: `${prefix}${text}`,
    indent: visibleWidth(prefix),
  });
  switch (ev.type) {
    case "msg": {
      const own = sameNick(ev.nick, ctx.ownNick);
      const who = own ? style.bold(nick(ev.nick)) : nick(ev.nick);
      return withPrefix(`${own ? OWN_MARK : " "} ${style.dim(formatTime(ev.ts, ctx.now))} ${who}: `, safeText(ev.text));
    }
    case "img": {
      const own = sameNick(ev.nick, ctx.ownNick);
      const who = own ? style.bold(nick(ev.nick)) : nick(ev.nick);
      return withPrefix(
        `${own ? OWN_MARK : " "} ${style.dim(formatTime(ev.ts, ctx.now))} ${who} [image] `,
        safeText(ev.url),
      );
    }
    case "pm": {
      const own = sameNick(ev.from, ctx.ownNick);
      const tag = style.magenta(own ? "[PM to" : "[PM from");
      const other = own ? ev.to : ev.from;
      return withPrefix(
        `${own ? OWN_MARK : " "} ${style.dim(formatTime(ev.ts, ctx.now))} ${tag} ${nick(other)}${style.magenta("]")} `,
        safeText(ev.text),
      );
    }
    case "join":
      return systemDisplay(`${safeText(ev.nick, 64)} joined the chat!`, ctx);
    case "leave":
      return systemDisplay(`${safeText(ev.nick, 64)} left the chat!`, ctx);
    case "rename":
      return systemDisplay(`${safeText(ev.from, 64)} is now known as ${safeText(ev.to, 64)}`, ctx);
    case "who": {
      const names = ev.nicks.map((n) => (sameNick(n, ctx.ownNick) ? style.bold(nick(n)) : nick(n)));
      return withPrefix(
        `  ${style.dim(`${formatTime(ctx.now, ctx.now)} --`)} `,
        `Online (${ev.nicks.length}): ${names.join(", ")}`,
      );
    }
    case "notice":
      return systemDisplay(safeText(ev.text), ctx);
    case "version":
      return systemDisplay(`Server: Wirechat ${safeText(ev.version, 64)}`, ctx);
    case "shutdown":
      return systemDisplay("Server shutting down", ctx);
    case "error":
      return errorDisplay(safeText(errorText(ev)), ctx);
    case "pong":
      return systemDisplay(ev.token ? `PONG ${safeText(ev.token, 64)}` : "PONG", ctx);
    case "unknown":
      // An ERR the client has no code for (another server, a newer one) looks like every other error.
      if (ev.line.startsWith("ERR ")) return errorDisplay(safeText(ev.line.slice(4)), ctx);
      return systemDisplay(safeText(ev.line), ctx);
    case "prompt":
    case "typing":
    case "replay_start":
    case "replay_end":
      return undefined;
  }
}

function errorText(ev: Extract<ServerEvent, { type: "error" }>): string {
  switch (ev.code) {
    case "no_such_user":
      return `No such user: ${ev.detail ?? ""}`;
    case "unknown_command":
      return `The server does not know the command ${ev.detail ?? ""}`;
    case "rate_limited":
      return "Slow down: the server dropped that line (rate limit).";
    default:
      return ERROR_TEXT[ev.code](ev.detail);
  }
}

/** The transient "… is typing" text for the nicks currently typing, or undefined. */
export function typingText(nicks: readonly string[]): string | undefined {
  const safe = nicks.map((n) => safeText(n, 64));
  if (safe.length === 0) return undefined;
  if (safe.length === 1) return `${safe[0]} is typing…`;
  if (safe.length === 2) return `${safe[0]} and ${safe[1]} are typing…`;
  if (safe.length === 3) return `${safe[0]}, ${safe[1]} and ${safe[2]} are typing…`;
  return `${safe.length} people are typing…`;
}
