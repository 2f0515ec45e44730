/**
 * Interactive mode (stdin is a terminal): prompts for what the flags left
 * out, joins (re-prompting for a refused nickname), then runs the chat: a
 * line editor at the bottom, incoming lines printed above it, commands,
 * typing notifications, and a status line while reconnecting.
 *
 * @module
 */
import { type ErrorCode, nickKey, type ServerEvent } from "../../protocol/mod.ts";
import {
  type Connection,
  createConnection,
  JoinRefusedError,
  type LineInfo,
  type StatusChange,
} from "../connection.ts";
import { DEFAULT_HOST, DEFAULT_PORT, parsePort, urlFor } from "./args.ts";
import { createLineEditor } from "./editor.ts";
import { closedSentence, describeFailure, shortReason } from "./errors.ts";
import { helpLines, parseInput } from "./input.ts";
import { localLine, type RenderContext, renderEvent, safeText, systemLine, typingText } from "./render.ts";
import { createScreen } from "./screen.ts";
import type { Style } from "./style.ts";
import type { Key } from "./keys.ts";
import type { Terminal } from "./tty.ts";
import { createTypingThrottle } from "./typing.ts";

/** How long a "… is typing" stays up after the last TYPING (relayed at most every 2 s). */
export const TYPING_SHOW_MS = 3_500;

/** What interactive mode runs with. */
export interface InteractiveOptions {
  terminal: Terminal;
  style: Style;
  /** Error sentences (stderr). */
  err: (sentence: string) => void;
  /** A fixed URL (`--url`); otherwise built from host and port. */
  url?: string;
  host?: string;
  port?: number;
  nick?: string;
  createSocket?: (url: string, protocols: string[]) => WebSocket;
  /** Reconnect backoff (tests shorten it). */
  backoff?: { initialMs?: number; maxMs?: number };
}

const NICK_REFUSALS: ReadonlySet<ErrorCode> = new Set(["invalid_nick", "nick_in_use", "expected_nick"]);

/** Section markers around a replay. */
export const REPLAY_HEADER = "──── earlier messages ────";
/** End of a replay block. */
export const REPLAY_FOOTER = "──── live ────";

/** Runs interactive mode; resolves to the exit code. */
export async function runInteractive(o: InteractiveOptions): Promise<number> {
  const { terminal, style } = o;
  const editor = createLineEditor();
  const screen = createScreen({ write: terminal.write, columns: terminal.columns, editor, style });
  const stopResize = terminal.onResize(() => screen.refresh());
  let quitRequested = false;
  let conn: Connection | undefined = undefined;

  // One read of the terminal at a time; a read that lost a race is kept for the next one.
  let pendingKeys: Promise<Key[] | undefined> | undefined;
  function nextKeys(): Promise<Key[] | undefined> {
    return pendingKeys ??= terminal.keys();
  }
  // Keys read but not yet handled (typed ahead of a prompt's Enter).
  let typedAhead: Key[] = [];
  async function takeKeys(): Promise<Key[] | undefined> {
    if (typedAhead.length) return typedAhead.splice(0);
    const keys = await nextKeys();
    pendingKeys = undefined;
    return keys;
  }

  /** Reads one line at a prompt; undefined when the user quits (Ctrl-C / Ctrl-D). */
  async function ask(question: string): Promise<string | undefined> {
    screen.setPrompt(question);
    for (;;) {
      const keys = await takeKeys();
      if (!keys) return undefined;
      for (const [i, key] of keys.entries()) {
        const r = editor.apply(key);
        if (r.quit) return undefined;
        if (r.submitted !== undefined) {
          typedAhead = keys.slice(i + 1);
          screen.print(`${question}${safeText(r.submitted)}`);
          return r.submitted.trim();
        }
      }
      screen.refresh();
    }
  }

  async function end(code: number, sentence?: string): Promise<number> {
    stopResize();
    screen.finish();
    await terminal.close();
    if (sentence) o.err(sentence);
    return code;
  }

  // 1. Where to connect.
  let url = o.url;
  if (url === undefined) {
    let host = o.host;
    if (host === undefined) {
      const answer = await ask(`Host [${DEFAULT_HOST}]: `);
      if (answer === undefined) return await end(0);
      host = answer || DEFAULT_HOST;
    }
    let port = o.port;
    while (port === undefined) {
      const answer = await ask(`Port [${DEFAULT_PORT}]: `);
      if (answer === undefined) return await end(0);
      try {
        port = answer ? parsePort(answer, "the port") : DEFAULT_PORT;
      } catch (err) {
        screen.print(localLine(err instanceof Error ? err.message : String(err), ctx()));
      }
    }
    url = urlFor(host, port);
  }

  // 2. The chat state the callbacks below update.
  const typers = new Map<string, { nick: string; until: number }>();
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  const typingThrottle = createTypingThrottle();
  let capability: "probing" | "v1" | "legacy" = "probing";
  let joinHeaderPending = false;
  let joinHeaderShown = false;
  let closedError: string | undefined;
  let greetingSeen = false; // set while the first greeting arrives
  let greetingShown = false; // true once a join attempt ended

  function ctx(): RenderContext {
    return { style, ownNick: conn?.nick, now: new Date() };
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
    if (capability === "probing" && conn?.state === "connected") {
      if (ev.type === "version") {
        capability = "v1";
        return;
      }
      if (ev.type === "error" && (ev.code === "expected_msg" || ev.code === "unknown_command")) {
        capability = "legacy";
        return;
      }
    }
    switch (ev.type) {
      case "prompt":
        return;
      case "typing":
        if (nickKey(ev.nick) !== nickKey(conn?.nick ?? "")) {
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
        if (nickKey(ev.to) === nickKey(conn?.nick ?? "")) screen.setPrompt(promptFor(ev.to));
        break;
      case "notice":
        // The greeting once: not again on a reconnect or after a refused nickname.
        if (conn?.state !== "connected") {
          if (info.reconnected || greetingShown) return;
          greetingSeen = true;
        }
        break;
      case "error":
        // A refused nickname is explained by the re-prompt.
        if (conn?.state === "connecting" && NICK_REFUSALS.has(ev.code)) return;
        break;
      case "join":
        if (info.reconnected && conn?.state !== "connected") return; // our own rejoin: announced below
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
            screen.print(systemLine(`Back in the chat; ${missed}.`, c));
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
    const line = renderEvent(ev, c);
    if (line !== undefined) screen.print(line);
  }

  function promptFor(nick: string): string {
    return `${style.bold(safeText(nick, 64))}> `;
  }

  function onStatus(s: StatusChange): void {
    switch (s.status) {
      case "connecting":
        screen.setStatus(`Connecting to ${url}…`);
        return;
      case "connected":
        screen.setStatus(undefined);
        screen.setPrompt(promptFor(s.nick));
        if (s.reconnected) screen.print(systemLine(`Reconnected as ${safeText(s.nick, 64)}.`, ctx()));
        capability = "probing";
        conn?.send({ type: "version" });
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

  conn = createConnection({
    url,
    createSocket: o.createSocket,
    backoff: o.backoff,
    onLine: (info) => onEvent(info, info.event),
    onStatus,
  });

  /**
   * Waits for the join while still reading keys: Ctrl-C / Ctrl-D abandon it
   * (false), other keys are typed ahead into the editor.
   */
  async function joinOrInterrupt(joining: Promise<void>): Promise<boolean> {
    const done = joining.then(() => "joined" as const);
    done.catch(() => {}); // the race below rethrows; an abandoned join may still reject later
    for (;;) {
      const ahead = typedAhead.length > 0;
      const r = ahead ? typedAhead.splice(0) : await Promise.race([done, nextKeys()]);
      if (r === "joined") return true;
      if (!ahead) pendingKeys = undefined;
      const keys = r ?? [{ type: "interrupt" } as Key];
      for (const [i, key] of keys.entries()) {
        if (key.type === "enter") {
          // A line typed ahead is sent once joined: keep it and the rest for the chat loop.
          typedAhead = keys.slice(i);
          screen.refresh();
          await joining;
          return true;
        }
        if (editor.apply(key).quit) {
          conn!.close();
          await joining.catch(() => {});
          return false;
        }
      }
      screen.refresh();
    }
  }

  // 3. Join, re-prompting for a refused nickname.
  let nick = o.nick;
  for (;;) {
    if (nick === undefined) {
      nick = await ask("Nickname: ");
      if (nick === undefined) {
        conn.close();
        return await end(0);
      }
    }
    try {
      const joining = conn.join(nick);
      const joined = await joinOrInterrupt(joining).finally(() => greetingShown = greetingSeen);
      if (joined) break;
      return await end(0);
    } catch (err) {
      if (err instanceof JoinRefusedError) {
        screen.setStatus(undefined);
        screen.print(localLine(`${err.message}. Choose another nickname.`, ctx()));
        typedAhead = []; // meant for the chat, not for the next prompt
        editor.set("");
        nick = undefined;
        continue;
      }
      return await end(1, describeFailure(url, err));
    }
  }
  screen.print(localLine("Type a message and press Enter. /help lists the commands.", ctx()));

  // 4. The chat loop.
  function submit(line: string): void {
    const action = parseInput(line);
    switch (action.kind) {
      case "none":
        return;
      case "hint":
        screen.print(localLine(action.text, ctx()));
        return;
      case "help":
        for (const l of helpLines()) screen.print(localLine(l, ctx()));
        return;
      case "quit":
        quitRequested = true;
        return;
      case "send":
        if (!conn!.send(action.cmd)) {
          screen.print(localLine(`Not connected; not sent: ${safeText(line, 200)}`, ctx()));
          if (editor.text === "") editor.set(line);
        }
    }
  }

  function maybeSendTyping(): void {
    if (capability !== "v1" || conn!.state !== "connected") return;
    if (typingThrottle.shouldSend(editor.text)) conn!.send({ type: "typing" });
  }

  const closed = conn.closed.then(() => undefined);
  const isClosed = () => conn!.state === "closed";
  while (!quitRequested && !isClosed()) {
    const ahead = typedAhead.length > 0;
    const keys = ahead ? typedAhead.splice(0) : await Promise.race([nextKeys(), closed]);
    if (keys && !ahead) pendingKeys = undefined;
    if (!keys) {
      if (!isClosed()) quitRequested = true; // input ended
      break;
    }
    for (const key of keys) {
      const r = editor.apply(key);
      if (r.quit) quitRequested = true;
      if (r.submitted !== undefined) submit(r.submitted);
      if (r.inserted) maybeSendTyping();
      if (r.redraw) terminal.write("\x1b[2J\x1b[H");
      if (quitRequested) break;
    }
    screen.refresh();
  }
  if (typingTimer !== undefined) clearTimeout(typingTimer);
  if (quitRequested) {
    await conn.quit();
    return await end(0);
  }
  await conn.closed;
  return await end(1, closedSentence(closedError ?? "connection lost"));
}
