/**
 * Terminal client units: flags, input parsing, key decoding, the line
 * editor, rendering of hostile peer text, the input window and the screen.
 */
import { HARD_FRAME_CAP, TYPING_INTERVAL_MS } from "../protocol/mod.ts";
import { ConnectError, JoinRefusedError } from "../client/connection.ts";
import { ClientUsageError, parseClientArgs, urlFor } from "../client/terminal/args.ts";
import { createLineEditor, MAX_INPUT_HISTORY } from "../client/terminal/editor.ts";
import { describeFailure, shortReason } from "../client/terminal/errors.ts";
import { parseInput } from "../client/terminal/input.ts";
import { createKeyDecoder, type Key } from "../client/terminal/keys.ts";
import { createPacer, createSendQueue } from "../client/terminal/pacer.ts";
import { createLineReader, MAX_PIPE_LINE } from "../client/terminal/pipe.ts";
import {
  formatTime,
  MAX_SHOWN_CODE_POINTS,
  OWN_MARK,
  type RenderContext,
  renderEvent,
  safeText,
  typingText,
} from "../client/terminal/render.ts";
import { createScreen, inputWindow, wrapLine } from "../client/terminal/screen.ts";
import { createTypingThrottle } from "../client/terminal/typing.ts";
import { createStyle, nickColor, textWidth, visibleWidth, wantColor } from "../client/terminal/style.ts";
import { assertEquals, assertMatch, assertOk, assertThrows } from "./assert.ts";

// deno-lint-ignore no-control-regex
const SGR = /\x1b\[[0-9;]*m/g;
/** True when `s` has a control character other than the ESC of our own SGR sequences. */
function hasStrayControls(s: string): boolean {
  return /\p{Cc}/u.test(s.replace(SGR, "")) || /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/.test(s);
}

const now = new Date();
const ctx = (color = true, ownNick = "alice"): RenderContext => ({ style: createStyle(color), ownNick, now });

Deno.test("args: flags, defaults left undefined, help/version, usage errors", () => {
  const p = parseClientArgs(["--host", "example.org", "--port", "8080", "--nick", "bob", "--no-color"]);
  assertEquals(p, { kind: "run", args: { host: "example.org", port: 8080, nick: "bob", noColor: true } });
  assertEquals(parseClientArgs([]), { kind: "run", args: { noColor: false } });
  assertEquals(parseClientArgs(["--help"]).kind, "help");
  assertEquals(parseClientArgs(["-V"]).kind, "version");
  const u = parseClientArgs(["--url", "wss://chat.example:443/", "--ca", "ca.pem"]);
  assertOk(u.kind === "run" && u.args.url === "wss://chat.example/" && u.args.ca === "ca.pem");
  for (
    const bad of [
      ["--port", "0"],
      ["--port", "65536"],
      ["--port", "12x"],
      ["--url", "http://x/"],
      ["--url", "not a url"],
      ["--url", "ws://x/", "--port", "1"],
      ["--bogus"],
      ["extra"],
      ["--host", " "],
      ["--nick"],
    ]
  ) assertThrows(() => parseClientArgs(bad), ClientUsageError);
  assertEquals(parseClientArgs(["--port", "65535"]).kind, "run");
  assertEquals(urlFor("::1", 5), "ws://[::1]:5/");
  assertEquals(urlFor("localhost", 12345), "ws://localhost:12345/");
});

Deno.test("input: messages, client commands, protocol passthrough, local hints", () => {
  assertEquals(parseInput("  hello  "), { kind: "send", cmd: { type: "msg", text: "hello" } });
  assertEquals(parseInput("   "), { kind: "none" });
  assertEquals(parseInput("//etc/passwd"), { kind: "send", cmd: { type: "msg", text: "/etc/passwd" } });
  assertEquals(parseInput("/who"), { kind: "send", cmd: { type: "who" } });
  assertEquals(parseInput("/WHO al*"), { kind: "send", cmd: { type: "who", pattern: "al*" } });
  assertEquals(parseInput("/nick  carol "), { kind: "send", cmd: { type: "nick", nick: "carol" } });
  assertEquals(parseInput("/msg bob  hi  there"), { kind: "send", cmd: { type: "pm", to: "bob", text: "hi  there" } });
  assertEquals(parseInput("/history"), { kind: "send", cmd: { type: "history" } });
  assertEquals(parseInput("/history 5"), { kind: "send", cmd: { type: "history", count: 5 } });
  assertEquals(parseInput("/quit"), { kind: "quit" });
  assertEquals(parseInput("/exit"), { kind: "quit" });
  assertEquals(parseInput("/help"), { kind: "help" });
  assertEquals(parseInput("/ping tok"), { kind: "send", cmd: { type: "ping", token: "tok" } });
  assertEquals(parseInput("/version"), { kind: "send", cmd: { type: "version" } });
  for (const bad of ["/nick", "/nick a b", "/nick " + "x".repeat(21), "/msg bob", "/msg", "/history x", "/frob"]) {
    assertEquals(parseInput(bad).kind, "hint", bad);
  }
  const unknown = parseInput("/frob\x1b[31m now");
  assertOk(unknown.kind === "hint" && !hasStrayControls(unknown.text), JSON.stringify(unknown));
  assertEquals(parseInput("a\tb").kind, "hint");
});

Deno.test("keys: text runs, enter per pasted line, split escape sequences, unknown sequences swallowed", () => {
  const d = createKeyDecoder();
  const types = (keys: Key[]) => keys.map((k) => (k.type === "text" ? `text:${k.text}` : k.type));
  assertEquals(types(d.feed("one\rtwo\r\nthree\n")), ["text:one", "enter", "text:two", "enter", "text:three", "enter"]);
  assertEquals(types(d.feed("a\x1b")), ["text:a"]);
  assertEquals(types(d.feed("[")), []);
  assertEquals(types(d.feed("1;5Db")), ["word-left", "text:b"]);
  assertEquals(types(d.feed("\x1b[200~x\x1b[201~\x1b[3~\x1bOA")), ["text:x", "delete", "up"]);
  assertEquals(types(d.feed("\x03\x04\x7f\x01\x05\x0b\x15\x17\x00\x07y")), [
    "interrupt",
    "eof",
    "backspace",
    "home",
    "end",
    "kill-end",
    "kill-start",
    "kill-word",
    "text:y",
  ]);
  assertEquals(types(d.feed("😀é")), ["text:😀é"]);
});

Deno.test("editor: cursor editing, word kill, history with a kept draft, Ctrl-D semantics", () => {
  const e = createLineEditor();
  const k = (type: Exclude<Key["type"], "text">) => e.apply({ type } as Key);
  e.apply({ type: "text", text: "hello world" });
  k("word-left");
  e.apply({ type: "text", text: "big " });
  assertEquals(e.text, "hello big world");
  k("end");
  k("kill-word");
  assertEquals(e.text, "hello big ");
  assertEquals(k("enter").submitted, "hello big ");
  e.apply({ type: "text", text: "second" });
  k("enter");
  e.apply({ type: "text", text: "draft" });
  k("up");
  assertEquals(e.text, "second");
  k("up");
  assertEquals(e.text, "hello big ");
  k("up");
  assertEquals(e.text, "hello big ");
  k("down");
  k("down");
  assertEquals(e.text, "draft");
  k("home");
  assertEquals(k("eof"), {});
  assertEquals(e.text, "raft");
  k("kill-end");
  assertEquals(k("eof"), { quit: "eof" });
  assertEquals(k("interrupt"), { quit: "interrupt" });
  e.apply({ type: "text", text: "é😀" });
  k("backspace");
  assertEquals(e.text, "é");
});

Deno.test("editor: history is bounded at MAX_INPUT_HISTORY", () => {
  const e = createLineEditor();
  for (let i = 0; i <= MAX_INPUT_HISTORY; i++) {
    e.set(`line ${i}`);
    e.apply({ type: "enter" });
  }
  for (let i = 0; i < MAX_INPUT_HISTORY + 5; i++) e.apply({ type: "up" });
  assertEquals(e.text, "line 1"); // line 0 fell out
});

Deno.test("render: hostile peer text is neutralised (ANSI, \\r, bidi, C1, nick escapes)", () => {
  const hostile = [
    "\x1b[2J\x1b[Hgotcha",
    "fake\rline",
    "over\nwrite",
    "\u202eevil\u202c",
    "\u2066iso\u2069",
    "c1\u009b31m",
    "bell\x07",
    "\x1b]0;title\x07",
  ];
  for (const color of [true, false]) {
    for (const text of hostile) {
      const line = renderEvent({ type: "msg", ts: now.toISOString(), nick: "m\x1b[1mallory", text }, ctx(color));
      assertOk(line !== undefined && !hasStrayControls(line), JSON.stringify(line));
      const notice = renderEvent({ type: "unknown", line: text }, ctx(color))!;
      assertOk(!hasStrayControls(notice), JSON.stringify(notice));
      const pm = renderEvent({ type: "pm", ts: now.toISOString(), from: text, to: "alice", text }, ctx(color))!;
      assertOk(!hasStrayControls(pm), JSON.stringify(pm));
    }
  }
  assertEquals(safeText("a\rb"), "a\u240db");
  assertEquals(safeText("\u202eabc"), "\ufffdabc");
});

Deno.test("render: very long text is cut at MAX_SHOWN_CODE_POINTS with a count; at the limit it is whole", () => {
  const exact = "x".repeat(MAX_SHOWN_CODE_POINTS);
  assertEquals(safeText(exact), exact);
  const long = "😀".repeat(MAX_SHOWN_CODE_POINTS + 7);
  assertEquals(safeText(long), `${"😀".repeat(MAX_SHOWN_CODE_POINTS)}… (7 more characters)`);
  const line = renderEvent({ type: "msg", ts: now.toISOString(), nick: "bob", text: "y".repeat(100_000) }, ctx());
  assertOk(line!.length < MAX_SHOWN_CODE_POINTS + 200 && !line!.includes("\n"));
});

Deno.test("render: times, own marker, colours per nick, dimmed system lines, typing text", () => {
  const ts = new Date(2026, 10, 22, 9, 5, 30);
  assertEquals(formatTime(ts, ts), "09:05");
  assertEquals(formatTime(new Date(2025, 0, 2, 3, 4), ts), "2025-01-02 03:04");
  assertEquals(formatTime("not a time", ts), "not a time");
  const plain = ctx(false);
  const own = renderEvent({ type: "msg", ts: now.toISOString(), nick: "Alice", text: "hi" }, plain)!;
  const other = renderEvent({ type: "msg", ts: now.toISOString(), nick: "bob", text: "hi" }, plain)!;
  assertOk(own.startsWith(`${OWN_MARK} `) && own.endsWith(" Alice: hi"), own);
  assertOk(other.startsWith("  ") && other.endsWith(" bob: hi"), other);
  assertEquals(renderEvent({ type: "join", nick: "bob" }, ctx())!.includes("\x1b[2m"), true);
  assertEquals(renderEvent({ type: "typing", nick: "bob" }, ctx()), undefined);
  assertEquals(renderEvent({ type: "prompt" }, ctx()), undefined);
  assertMatch(renderEvent({ type: "error", code: "nick_in_use" }, plain)!, /! Nickname already in use$/);
  assertEquals(nickColor("Bob"), nickColor("bob"));
  assertOk(createStyle(true).nick("bob").includes(`\x1b[${nickColor("bob")}m`));
  assertEquals(typingText([]), undefined);
  assertEquals(typingText(["bob"]), "bob is typing…");
  assertEquals(typingText(["bob", "carol"]), "bob and carol are typing…");
  assertEquals(typingText(["a", "b", "c", "d"]), "4 people are typing…");
  assertEquals(typingText(["\x1b[31mx"]), "\u241b[31mx is typing…");
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assertEquals(wantColor(false, env({}), true), true);
  assertEquals(wantColor(true, env({}), true), false);
  assertEquals(wantColor(false, env({ NO_COLOR: "1" }), true), false);
  assertEquals(wantColor(false, env({ TERM: "dumb" }), true), false);
  assertEquals(wantColor(false, env({}), false), false);
  assertEquals(textWidth("a😀漢"), 5);
  assertEquals(visibleWidth("\x1b[1mab\x1b[0m"), 2);
});

Deno.test("input window: the cursor stays visible, wide characters count twice", () => {
  assertEquals(inputWindow([..."abc"], 3, 0, 10), { start: 0, text: "abc", cursorCol: 3 });
  const long = [..."abcdefghij"];
  assertEquals(inputWindow(long, 10, 0, 5), { start: 6, text: "ghij", cursorCol: 4 });
  assertEquals(inputWindow(long, 2, 6, 5), { start: 2, text: "cdefg", cursorCol: 0 });
  assertEquals(inputWindow([..."漢漢漢"], 3, 0, 5), { start: 1, text: "漢漢", cursorCol: 4 });
  assertEquals(inputWindow([..."a\x1bb"], 3, 0, 10).text, "a\u241bb");
});

Deno.test("screen: printed lines go above the area; the input line is redrawn after them", async () => {
  let out = "";
  const editor = createLineEditor();
  const screen = createScreen({ write: (s) => out += s, columns: () => 40, editor, style: createStyle(false) });
  screen.setPrompt("alice> ");
  editor.apply({ type: "text", text: "half typed" });
  screen.refresh();
  out = "";
  screen.print("line one");
  screen.print("line two");
  await Promise.resolve();
  // One write: erase the area, the two lines, then the prompt and the input with the cursor after it.
  assertEquals(out, "\r\x1b[Jline one\x1b[0m\r\nline two\x1b[0m\r\nalice> half typed\r\x1b[17C");
  out = "";
  screen.setTyping("bob is typing…");
  screen.setStatus("Disconnected (connection refused).");
  assertOk(out.endsWith("bob is typing…\r\nDisconnected (connection refused).\r\nalice> half typed\r\x1b[17C"), out);
  out = "";
  screen.print("three");
  await Promise.resolve();
  assertOk(out.startsWith("\r\x1b[2A\x1b[Jthree"), JSON.stringify(out)); // climbs over both extra rows
  screen.finish();
});

Deno.test("errors: one sentence for each failure, no stack", () => {
  const url = "ws://h:1/";
  assertEquals(
    describeFailure(url, new ConnectError("NetworkError: failed to connect to WebSocket: tcp connect error")),
    "Could not connect to ws://h:1/: connection refused (is the server running?).",
  );
  assertMatch(
    describeFailure(url, new ConnectError("NetworkError: failed to connect to WebSocket: invalid peer certificate")),
    /^TLS handshake with ws:\/\/h:1\/ failed .*--ca <file>\.$/,
  );
  assertEquals(
    describeFailure(url, new JoinRefusedError("nick_in_use")),
    "The server refused the nickname: Nickname already in use.",
  );
  assertMatch(describeFailure(url, new ConnectError("closed with code 1006")), /closed the connection before/);
  assertEquals(shortReason("NetworkError: failed to connect to WebSocket: dns error"), "host not found");
});

Deno.test("pipe line reader: CRLF, a last line without newline, over-long lines skipped at the edge", async () => {
  const stream = (...parts: string[]) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(new TextEncoder().encode(p));
        c.close();
      },
    });
  const all = async (r: ReturnType<typeof createLineReader>) => {
    const got = [];
    for (let x = await r.next(); x; x = await r.next()) got.push(x);
    return got;
  };
  assertEquals(await all(createLineReader(stream("a\r\nb", "c\n\nlast"))), [
    { line: "a" },
    { line: "bc" },
    { line: "" },
    { line: "last" },
  ]);
  assertEquals(await all(createLineReader(stream("12345\n123456\nok\n"), 5)), [
    { line: "12345" },
    { tooLong: 6 },
    { line: "ok" },
  ]);
  // A line longer than the limit across chunks is not buffered whole.
  assertEquals(await all(createLineReader(stream("1234", "5678", "9\nz"), 5)), [{ tooLong: 9 }, { line: "z" }]);
  assertEquals(MAX_PIPE_LINE, HARD_FRAME_CAP);
});

Deno.test("pipe pacer: a burst goes at once, then lines are spaced by the rate", async () => {
  const take = createPacer(2, 50);
  const t0 = performance.now();
  await take();
  await take();
  assertOk(performance.now() - t0 < 40, "the burst waited");
  for (let i = 0; i < 3; i++) await take();
  assertOk(performance.now() - t0 >= 50, "three lines at 50/s took under 50 ms");
});

Deno.test("typing throttle: at most once per TYPING_INTERVAL_MS, never for commands or blank input", () => {
  let t = 10_000;
  const th = createTypingThrottle(TYPING_INTERVAL_MS, () => t);
  assertEquals([th.shouldSend(" "), th.shouldSend("/who"), th.shouldSend("h")], [false, false, true]);
  t += TYPING_INTERVAL_MS - 1;
  assertEquals(th.shouldSend("he"), false);
  t += 1;
  assertEquals(th.shouldSend("hel"), true);
  assertEquals(th.shouldSend("hell"), false);
});

Deno.test("send queue: in order through the pacer; an unsent command hands back its line and all after it", async () => {
  const sent: string[] = [];
  const unsent: string[] = [];
  let connected = true;
  let release = Promise.withResolvers<void>();
  const gate = async () => {
    await release.promise;
  };
  const q = createSendQueue(
    (cmd) => {
      if (!connected) return false;
      sent.push(cmd.type === "msg" ? cmd.text : cmd.type);
      return true;
    },
    (line) => unsent.push(line),
    gate,
  );
  q.push({ type: "msg", text: "a" }, "a");
  q.push({ type: "msg", text: "b" }, "b");
  assertEquals([sent, q.size], [[], 2]);
  release.resolve();
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(sent, ["a", "b"]);
  release = Promise.withResolvers<void>();
  connected = false;
  q.push({ type: "msg", text: "c" }, "c");
  q.push({ type: "who" }, "/who");
  release.resolve();
  await new Promise((r) => setTimeout(r, 0));
  assertEquals([sent, unsent, q.size], [["a", "b"], ["c", "/who"], 0]);
  await q.drained(); // nothing waiting: resolves at once
  connected = true;
  release = Promise.withResolvers<void>();
  q.push({ type: "msg", text: "d" }, "d");
  let drained = false;
  const waiting = q.drained().then(() => drained = true);
  await new Promise((r) => setTimeout(r, 0));
  assertEquals(drained, false);
  release.resolve();
  await waiting;
  assertEquals(sent, ["a", "b", "d"]);
});

Deno.test("wrapLine: a styled line wraps under its text column; styling open at a break is closed and reopened", () => {
  const red = (s: string) => `\x1b[31m${s}\x1b[0m`;
  const rows = wrapLine(`ab: ${red("cdefghij")}`, 8, 4);
  assertEquals(rows, ["ab: \x1b[31mcdef\x1b[0m", "    \x1b[31mghij\x1b[0m"]);
  // Wide characters never straddle the edge; an indent over half the width is dropped.
  assertEquals(wrapLine("a漢字b", 3, 0), ["a漢", "字b"]);
  assertEquals(wrapLine("abcdefgh", 4, 3), ["abcd", "efgh"]);
});
