/**
 * The chat as the interactive client shows it: turns connection lines and
 * status changes into screen output (replay markers, typing line, status
 * line, the prompt with our nick) and detects whether the server speaks the
 * wirechat/1 extensions (one `VERSION` probe after each join, see
 * `version_probe.ts`; its answer is not shown).
 *
 * @module
 */
import { type ErrorCode, nickKey, type ServerEvent } from "../../protocol/mod.ts";
import type { Connection, LineInfo, StatusChange } from "../connection.ts";
import { shortReason } from "./errors.ts";
import {
  type DisplayLine,
  type RenderContext,
  renderEventLine,
  safeText,
  systemDisplay,
  typingText,
} from "./render.ts";
import type { Screen } from "./screen.ts";
import type { Style } from "./style.ts";
import { type Capability, createVersionProbe } from "./version_probe.ts";

/** How long a "… is typing" stays up after the last TYPING (relayed at most every 2 s). */
export const TYPING_SHOW_MS = 3_500;

/** Start of the replay sent on joining (shown only when it holds a message not yet on screen). */
export const REPLAY_HEADER = "──── earlier messages ────";
/** End of that replay. */
export const REPLAY_FOOTER = "──── live ────";

const NICK_REFUSALS: ReadonlySet<ErrorCode> = new Set(["invalid_nick", "nick_in_use", "expected_nick"]);

/** What the view draws on and asks. */
export interface ChatViewOptions {
  screen: Screen;
  style: Style;
  url: string;
  /** The connection (set once created). */
  conn: () => Connection | undefined;
}

/** The view's handlers and what it learned. */
export interface ChatView {
  onLine(info: LineInfo): void;
  onStatus(change: StatusChange): void;
  /** `v1` once the server answered the VERSION probe; only then is `TYPING` sent. */
  readonly capability: Capability;
  /** The user sent a line (an `ERR` after it may answer that line: never hidden as the probe's). */
  userSent(): void;
  /** The error of the final `closed` status, if any. */
  readonly closedError: string | undefined;
  /** A join attempt ended (joined or refused): the greeting is not shown again. */
  joinAttemptEnded(): void;
  /** The render context now (our nick, the time). */
  ctx(): RenderContext;
  /** Stops the typing timer. */
  stop(): void;
}

/** The prompt in front of the input: our nick. */
export function promptFor(nick: string, style: Style): string {
  return `${style.bold(safeText(nick, 64))}> `;
}

/** Creates the chat view. */
export function createChatView(o: ChatViewOptions): ChatView {
  const { screen, style, url } = o;
  const typers = new Map<string, { nick: string; until: number }>();
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  const probe = createVersionProbe();
  let joinHeaderPending = false;
  let joinHeaderShown = false;
  let closedError: string | undefined;
  let greetingSeen = false; // set while the first greeting arrives
  let greetingShown = false; // true once a join attempt ended

  const show = (d: DisplayLine) => screen.print(d.line, d.indent);

  function ctx(): RenderContext {
    return { style, ownNick: o.conn()?.nick, now: new Date() };
  }

  function refreshTyping(): void {
    const now = Date.now();
    for (const [k, t] of typers) if (t.until <= now) typers.delete(k);
    const text = typingText([...typers.values()].map((t) => t.nick));
    screen.setTyping(text);
    if (typingTimer !== undefined) clearTimeout(typingTimer);
    typingTimer = undefined;
    if (typers.size) {
      const next = Math.min(...[...typers.values()].map((t) => t.until)) - now;
      typingTimer = setTimeout(refreshTyping, Math.max(10, next));
    }
  }

  function onEvent(info: LineInfo, ev: ServerEvent | { type: "unknown"; line: string }): void {
    const c = ctx();
    // The capability probe (VERSION after joining): its answer is not shown.
    if (o.conn()?.state === "connected" && probe.consume(ev)) return;
    switch (ev.type) {
      case "prompt":
        return;
      case "typing":
        if (nickKey(ev.nick) !== nickKey(o.conn()?.nick ?? "")) {
          typers.set(nickKey(ev.nick), { nick: ev.nick, until: Date.now() + TYPING_SHOW_MS });
          refreshTyping();
        }
        return;
      case "msg":
      case "leave":
        if (typers.delete(nickKey(ev.nick))) refreshTyping();
        break;
      case "rename":
        if (typers.delete(nickKey(ev.from))) refreshTyping();
        if (nickKey(ev.to) === nickKey(o.conn()?.nick ?? "")) screen.setPrompt(promptFor(ev.to, style));
        break;
      case "notice":
        // The greeting once: not again on a reconnect or after a refused nickname.
        if (o.conn()?.state !== "connected") {
          if (info.reconnected || greetingShown) return;
          greetingSeen = true;
        }
        break;
      case "error":
        // A refused nickname is explained by the re-prompt.
        if (o.conn()?.state !== "connected" && NICK_REFUSALS.has(ev.code)) return;
        break;
      case "join":
        if (info.reconnected && o.conn()?.state !== "connected") return; // our own rejoin: announced below
        break;
      case "replay_start":
        if (info.replay === "history") {
          screen.print(`  ${style.dim(`──── history (${ev.count}) ────`)}`);
        } else {
          joinHeaderPending = true;
          joinHeaderShown = false;
        }
        return;
      case "replay_end":
        if (info.replay === "history") {
          screen.print(`  ${style.dim("──── end of history ────")}`);
        } else {
          if (joinHeaderShown) screen.print(`  ${style.dim(REPLAY_FOOTER)}`);
          if (info.reconnected) {
            const missed = joinHeaderShown ? "missed messages shown above" : "no missed messages";
            show(systemDisplay(`Back in the chat; ${missed}.`, c));
          }
          joinHeaderPending = false;
        }
        return;
    }
    if (ev.type === "msg" && info.replay === "join" && joinHeaderPending) {
      joinHeaderPending = false;
      joinHeaderShown = true;
      screen.print(`  ${style.dim(REPLAY_HEADER)}`);
    }
    const line = renderEventLine(ev, c);
    if (line !== undefined) show(line);
  }

  function onStatus(s: StatusChange): void {
    switch (s.status) {
      case "connecting":
        screen.setStatus(`Connecting to ${url}…`);
        return;
      case "connected":
        screen.setStatus(undefined);
        screen.setPrompt(promptFor(s.nick, style));
        if (s.reconnected) show(systemDisplay(`Reconnected as ${safeText(s.nick, 64)}.`, ctx()));
        probe.start();
        o.conn()?.send({ type: "version" });
        return;
      case "reconnecting": {
        typers.clear();
        refreshTyping();
        const secs = (s.delayMs / 1000).toFixed(1);
        screen.setStatus(
          `Disconnected (${shortReason(s.reason)}). Reconnecting in ${secs} s, attempt ${s.attempt}… Ctrl-C quits.`,
        );
        return;
      }
      case "closed":
        closedError = s.error;
        screen.setStatus(undefined);
        return;
    }
  }

  return {
    onLine: (info) => onEvent(info, info.event),
    onStatus,
    get capability() {
      return probe.capability;
    },
    userSent: probe.userSent,
    get closedError() {
      return closedError;
    },
    joinAttemptEnded() {
      greetingShown = greetingSeen;
    },
    ctx,
    stop() {
      if (typingTimer !== undefined) clearTimeout(typingTimer);
      typingTimer = undefined;
    },
  };
}
