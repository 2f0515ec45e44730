/**
 * Interactive mode (stdin is a terminal): prompts for what the flags left
 * out, joins (re-prompting for a refused nickname), then runs the chat: a
 * line editor at the bottom, incoming lines printed above it, commands,
 * typing notifications, and a status line while reconnecting.
 *
 * @module
 */
import { type Connection, createConnection, JoinRefusedError } from "../connection.ts";
import { DEFAULT_HOST, DEFAULT_PORT, parsePort, urlFor } from "./args.ts";
import { createLineEditor } from "./editor.ts";
import { createChatView } from "./chat_view.ts";
import { closedSentence, describeFailure } from "./errors.ts";
import { helpLines, parseInput } from "./input.ts";
import { type DisplayLine, errorDisplay, localDisplay, type RenderContext, safeText } from "./render.ts";
import { createSendQueue } from "./pacer.ts";
import { createScreen } from "./screen.ts";
import type { Style } from "./style.ts";
import type { Key } from "./keys.ts";
import type { Terminal } from "./tty.ts";
import { createTypingThrottle } from "./typing.ts";

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

/** Runs interactive mode; resolves to the exit code. */
export async function runInteractive(o: InteractiveOptions): Promise<number> {
  const { terminal, style } = o;
  const editor = createLineEditor();
  const screen = createScreen({ write: terminal.write, columns: terminal.columns, editor, style });
  const stopResize = terminal.onResize(() => screen.redraw());
  let quitRequested = false;
  let quitAfterQueue = false; // /quit: after the lines typed or pasted before it
  let conn: Connection | undefined = undefined;
  const ctx = (): RenderContext => ({ style, ownNick: conn?.nick, now: new Date() });
  const show = (d: DisplayLine) => screen.print(d.line, d.indent);
  const note = (text: string) => show(localDisplay(text, ctx()));

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
        if (r.redraw) screen.redraw();
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
        note(err instanceof Error ? err.message : String(err));
      }
    }
    url = urlFor(host, port);
  }

  // 2. The chat view and the connection.
  const view = createChatView({ screen, style, url, conn: () => conn });
  const typingThrottle = createTypingThrottle();

  conn = createConnection({
    url,
    createSocket: o.createSocket,
    backoff: o.backoff,
    onLine: view.onLine,
    onStatus: view.onStatus,
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
        const r = editor.apply(key);
        if (r.redraw) screen.redraw();
        if (r.quit) {
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
      const joined = await joinOrInterrupt(joining).finally(() => view.joinAttemptEnded());
      if (joined) break;
      return await end(0);
    } catch (err) {
      if (err instanceof JoinRefusedError) {
        screen.setStatus(undefined);
        show(errorDisplay(`${err.message}. Choose another nickname.`, ctx()));
        typedAhead = []; // meant for the chat, not for the next prompt
        editor.set("");
        nick = undefined;
        continue;
      }
      return await end(1, describeFailure(url, err));
    }
  }
  note("Type a message and press Enter. /help lists the commands.");

  // 4. The chat loop. Lines go out paced, so a long paste is not cut by flood control.
  const outgoing = createSendQueue((cmd) => {
    view.userSent();
    return conn!.send(cmd);
  }, (line) => {
    note(`Not connected; not sent: ${safeText(line, 200)}`);
    if (editor.text === "") {
      editor.set(line);
      screen.refresh();
    }
  });
  function submit(line: string): void {
    const action = parseInput(line);
    switch (action.kind) {
      case "none":
        return;
      case "hint":
        note(action.text);
        return;
      case "help":
        for (const l of helpLines()) note(l);
        return;
      case "quit":
        quitRequested = true;
        quitAfterQueue = true;
        return;
      case "send":
        outgoing.push(action.cmd, line);
    }
  }

  function maybeSendTyping(): void {
    if (view.capability !== "v1" || conn!.state !== "connected") return;
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
      if (r.redraw) screen.redraw();
      if (quitRequested) break;
    }
    screen.refresh();
  }
  view.stop();
  if (quitRequested) {
    // /quit after a paste goes after the pasted lines; Ctrl-C / Ctrl-D leave at once.
    if (quitAfterQueue && conn.state === "connected") await outgoing.drained();
    outgoing.clear();
    await conn.quit();
    return await end(0);
  }
  await conn.closed;
  return await end(1, closedSentence(view.closedError ?? "connection lost"));
}
