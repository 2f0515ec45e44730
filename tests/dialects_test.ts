/**
 * The other wire dialects against a real server, each driven by a client
 * written here from the seed's description (tests/dialect_clients.ts): a
 * line client, a `wirechat.json` client, a wschat client (seed 004) and a
 * RiftChat client (seed 003) in one room; replay and shutdown per format;
 * bad input per dialect, with exactly one leave and no ghost member.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import {
  connectJsonWs,
  connectRift,
  type Json,
  type JsonWsClient,
  prefixed,
  riftBytes,
  type RiftClient,
} from "./dialect_clients.ts";
import { connect, join, startTestServer } from "./helpers.ts";
import { capabilitySubprotocols } from "../protocol/mod.ts";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RIFT_SYSTEM = "* wirechat";

/**
 * A wschat message without its timestamp, after checking the timestamp is Unix nanoseconds (`JSON.parse` reads it
 * as a float near it; tests/legacy_v1_test.ts checks the exact digits).
 */
function wschat(m: Json): Json {
  assertOk(Number.isInteger(m.timestamp), `timestamp not an integer: ${JSON.stringify(m)}`);
  assertOk(Math.abs(m.timestamp / 1e6 - Date.now()) < 60_000, `timestamp not Unix nanoseconds: ${m.timestamp}`);
  const { timestamp: _, ...rest } = m;
  return rest;
}

/** A RiftChat 200 without its timestamp, after checking it is milliseconds. */
function riftMessage(m: Json): Json {
  assertEquals(m.code, 200, JSON.stringify(m));
  assertOk(Math.abs(m.message.timestamp - Date.now()) < 60_000, `timestamp not ms: ${JSON.stringify(m)}`);
  return { username: m.message.username, message: m.message.message };
}

async function joinJson(url: string, nick: string): Promise<JsonWsClient> {
  const c = await connectJsonWs(url, "wirechat.json");
  assertEquals(c.ws.protocol, "wirechat.json");
  assertEquals((await c.next()).type, "notice");
  assertEquals(await c.next(), { v: 1, type: "prompt", expect: "nick" });
  c.send({ v: 1, type: "nick", nick });
  assertEquals(await c.next(), { v: 1, type: "join", nick });
  return c;
}

async function joinWschat(url: string): Promise<{ c: JsonWsClient; uuid: string; nick: string }> {
  const c = await connectJsonWs(`${url}wschat`);
  const hello = wschat(await c.next());
  assertEquals(hello.sender, "system");
  assertEquals(hello.action, "connect");
  assertMatch(hello.contents, UUID_RE);
  const uuid: string = hello.contents;
  return { c, uuid, nick: `ws-${uuid.replaceAll("-", "").slice(0, 8)}` };
}

async function joinRift(port: number): Promise<{ c: RiftClient; name: string }> {
  const c = await connectRift(port);
  const given = await c.next();
  assertEquals(given.code, 202);
  assertMatch(given.new, /^[0-9A-Za-z]{10}$/);
  assertEquals(await c.next(), { code: 201, new: given.new });
  return { c, name: given.new };
}

function count(lines: string[], line: string): number {
  return lines.filter((l) => l === line).length;
}

Deno.test("dialects: line, wirechat.json, wschat and RiftChat clients share one room in one order", async () => {
  await using t = await startTestServer({ riftchatPort: 0 });
  const riftPort = t.server.riftchatAddr!.port;
  // The line client shows the copy of its own PMs.
  await using line = await join(t.url, "alice", capabilitySubprotocols(["pm"]));

  await using json = await joinJson(t.url, "jay");
  await line.expect("SYS jay joined the chat!");

  const w = await joinWschat(t.url);
  await using ws = w.c;
  await line.expect(`SYS ${w.nick} joined the chat!`);
  assertEquals(await json.next(), { v: 1, type: "join", nick: w.nick });

  const r = await joinRift(riftPort);
  await using rift = r.c;
  let riftName = r.name;
  await line.expect(`SYS ${riftName} joined the chat!`);
  assertEquals(await json.next(), { v: 1, type: "join", nick: riftName });
  assertEquals(wschat(await ws.next()), { sender: "system", action: "connect", contents: riftName });

  /** Every member sees one public message the same way; `wsSender` is the wschat identity. */
  async function everyoneSees(nick: string, text: string, wsSender = nick) {
    const m = await line.expect(new RegExp(`^MSG \\[([^\\]]+)\\] ${nick}: ${text}$`));
    const ts = m.slice(5, m.indexOf("]"));
    assertEquals(await json.next(), { v: 1, type: "msg", ts, nick, text });
    const chat = await ws.next();
    assertEquals(chat, {
      sender: wsSender,
      action: "chat",
      contents: text,
      // The message's millisecond in nanoseconds (plus a tie-breaker within it).
      timestamp: chat.timestamp,
    });
    assertEquals(Math.round(chat.timestamp / 1e6), Date.parse(ts));
    assertEquals(await rift.next(), {
      code: 200,
      message: { timestamp: Date.parse(ts), username: nick, message: text },
    });
  }

  line.send("MSG hello from the line");
  await everyoneSees("alice", "hello from the line");
  json.send({ v: 1, type: "msg", text: "hello from json" });
  await everyoneSees("jay", "hello from json");
  // The client's sender and timestamp are ignored; the server puts its own.
  ws.send({ sender: "forged", action: "chat", contents: "hello from wschat", timestamp: 1 });
  await everyoneSees(w.nick, "hello from wschat", w.uuid);
  await rift.send({ code: 100, message: "hello from riftchat" });
  await everyoneSees(riftName, "hello from riftchat");

  // Renames, in one order for everyone.
  line.send("NICK alicia");
  await line.expect("SYS alice is now known as alicia");
  assertEquals(await json.next(), { v: 1, type: "rename", from: "alice", to: "alicia" });
  assertEquals(wschat(await ws.next()), { sender: "system", action: "chat", contents: "alice is now known as alicia" });
  assertEquals(await rift.next(), { code: 203, old: "alice", new: "alicia" });

  // A refused RiftChat rename answers 202 with the unchanged name, and nobody else hears of it.
  await rift.send({ code: 101, username: "ALICIA" });
  assertEquals(await rift.next(), { code: 202, new: riftName });
  await rift.send({ code: 101, username: "two words" });
  assertEquals(await rift.next(), { code: 202, new: riftName });
  await rift.send({ code: 101, username: "rifty" });
  assertEquals(await rift.next(), { code: 202, new: "rifty" });
  assertEquals(await rift.next(), { code: 203, old: riftName, new: "rifty" });
  await line.expect(`SYS ${riftName} is now known as rifty`);
  assertEquals(await json.next(), { v: 1, type: "rename", from: riftName, to: "rifty" });
  assertEquals(wschat(await ws.next()), {
    sender: "system",
    action: "chat",
    contents: `${riftName} is now known as rifty`,
  });
  riftName = "rifty";

  json.send({ type: "nick", nick: "jay2" });
  assertEquals(await json.next(), { v: 1, type: "rename", from: "jay", to: "jay2" });
  await line.expect("SYS jay is now known as jay2");
  assertEquals(await rift.next(), { code: 203, old: "jay", new: "jay2" });
  assertEquals(wschat(await ws.next()), { sender: "system", action: "chat", contents: "jay is now known as jay2" });

  // WHO lists every dialect's member.
  const all = ["alicia", "jay2", "rifty", w.nick].sort();
  line.send("WHO");
  await line.expect(`SYS Online (4): ${all.join(", ")}`);
  json.send({ type: "who" });
  assertEquals(await json.next(), { v: 1, type: "who", nicks: all });

  // A PM reaches a wschat and a RiftChat user as a marked chat message.
  line.send(`PM ${w.nick} psst`);
  await line.expect(new RegExp(`^PM \\[.*\\] alicia -> ${w.nick}: psst$`));
  assertEquals(wschat(await ws.next()), { sender: "alicia", action: "chat", contents: `(private to ${w.uuid}) psst` });
  line.send("PM rifty psst");
  await line.expect(/^PM \[.*\] alicia -> rifty: psst$/);
  assertEquals(riftMessage(await rift.next()), { username: "alicia", message: "(private to rifty) psst" });

  // Leaves: exactly once each, in each format.
  await rift.close();
  await line.expect("SYS rifty left the chat!");
  assertEquals(await json.next(), { v: 1, type: "leave", nick: "rifty" });
  assertEquals(wschat(await ws.next()), { sender: "system", action: "disconnect", contents: "rifty" });

  await ws.close();
  await line.expect(`SYS ${w.nick} left the chat!`);
  assertEquals(await json.next(), { v: 1, type: "leave", nick: w.nick });

  json.send({ v: 1, type: "quit" });
  assertEquals((await json.closed).code, 1000);
  await line.expect("SYS jay2 left the chat!");

  line.send("WHO");
  await line.expect("SYS Online (1): alicia");
  for (const nick of ["rifty", w.nick, "jay2"]) assertEquals(count(line.lines, `SYS ${nick} left the chat!`), 1);
});

Deno.test("dialects: replay and shutdown reach each dialect in its own format", async () => {
  await using t = await startTestServer({ riftchatPort: 0 });
  await using seed = await join(t.url, "seeder");
  seed.send("MSG first");
  const first = await seed.expect(/^MSG \[.*\] seeder: first$/);
  seed.send("MSG second");
  const second = await seed.expect(/^MSG \[.*\] seeder: second$/);
  const tsOf = (l: string) => l.slice(5, l.indexOf("]"));

  await using line = await join(t.url, "liner");
  await line.expect("SYS Replay start (2 messages)");
  await line.expect(first);
  await line.expect(second);
  await line.expect("SYS Replay end");

  await using json = await joinJson(t.url, "jay");
  assertEquals(await json.next(), { v: 1, type: "replay_start", count: 2 });
  assertEquals(await json.next(), { v: 1, type: "msg", ts: tsOf(first), nick: "seeder", text: "first" });
  assertEquals(await json.next(), { v: 1, type: "msg", ts: tsOf(second), nick: "seeder", text: "second" });
  assertEquals(await json.next(), { v: 1, type: "replay_end" });
  json.send({ type: "history", count: 1 });
  assertEquals(await json.next(), { v: 1, type: "replay_start", count: 1 });
  assertEquals(await json.next(), { v: 1, type: "msg", ts: tsOf(second), nick: "seeder", text: "second" });
  assertEquals(await json.next(), { v: 1, type: "replay_end" });

  // wschat: no history on join (the seed), so the next frame after connect is live traffic.
  const w = await joinWschat(t.url);
  await using ws = w.c;

  // RiftChat: the history as 200 messages with their original millisecond timestamps.
  const r = await joinRift(t.server.riftchatAddr!.port);
  await using rift = r.c;
  assertEquals(await rift.next(), {
    code: 200,
    message: { timestamp: Date.parse(tsOf(first)), username: "seeder", message: "first" },
  });
  assertEquals(await rift.next(), {
    code: 200,
    message: { timestamp: Date.parse(tsOf(second)), username: "seeder", message: "second" },
  });
  assertEquals(wschat(await ws.next()), { sender: "system", action: "connect", contents: r.name });

  seed.send("MSG live");
  assertEquals(wschat(await ws.next()), { sender: "seeder", action: "chat", contents: "live" });
  assertEquals(riftMessage(await rift.next()), { username: "seeder", message: "live" });
  await line.until(/^MSG \[.*\] seeder: live$/);
  for (;;) if ((await json.next()).type === "msg") break;

  const stopping = t.server.shutdown();
  await line.until("SYS Server shutting down");
  assertEquals(await line.closed, { code: 1001, reason: "Server shutdown" });
  assertEquals(await json.next(), { v: 1, type: "shutdown", text: "Server shutting down" });
  assertEquals(await json.closed, { code: 1001, reason: "Server shutdown" });
  assertEquals(await ws.closed, { code: 1001, reason: "Server shutdown" });
  assertEquals(ws.unread(), []);
  assertEquals(await rift.next(), { code: 205 });
  await rift.closed;
  assertEquals(rift.unread(), []);
  await stopping;
});

Deno.test("wirechat.json: bad input gets JSON errors, the same rules and limits, one leave", async () => {
  await using t = await startTestServer({ maxLine: 64 });
  await using watcher = await join(t.url, "watcher");

  {
    // Before joining, anything but a nick is refused and closed, as in the line protocol.
    await using early = await connectJsonWs(t.url, "wirechat.json");
    await early.next();
    await early.next();
    early.send("{nope");
    assertEquals(await early.next(), { v: 1, type: "error", code: "expected_nick", text: "Expected: NICK <name>" });
    assertEquals((await early.closed).code, 1000);
  }

  await using j = await joinJson(t.url, "jason");
  await watcher.expect("SYS jason joined the chat!");
  const err = (code: string, text: string, detail?: string) =>
    detail === undefined ? { v: 1, type: "error", code, text } : { v: 1, type: "error", code, text, detail };
  const cases: [Json | string, Json][] = [
    ["not json", err("bad_message", "Malformed message: not valid JSON", "not valid JSON")],
    ["[1,2]", err("bad_message", "Malformed message: expected a JSON object", "expected a JSON object")],
    [{ text: "x" }, err("bad_message", 'Malformed message: missing field "type"', 'missing field "type"')],
    [
      { type: 7 },
      err("bad_message", 'Malformed message: field "type" must be a string', 'field "type" must be a string'),
    ],
    [
      { type: "msg", text: 5 },
      err("bad_message", 'Malformed message: field "text" must be a string', 'field "text" must be a string'),
    ],
    [
      { v: 2, type: "msg", text: "x" },
      err(
        "bad_message",
        "Malformed message: unsupported version (this server speaks v1)",
        "unsupported version (this server speaks v1)",
      ),
    ],
    [{ type: "msg" }, err("expected_msg", "Expected: MSG <text>")],
    [{ type: "msg", text: "   " }, err("expected_msg", "Expected: MSG <text>")],
    [{ type: "msg", text: "a\nb" }, err("control_chars", "Message contains control characters")],
    [{ type: "msg", text: "trailing\n" }, err("control_chars", "Message contains control characters")],
    [{ type: "fly" }, err("unknown_command", "Unknown command: fly", "fly")],
    [{ type: "nick", nick: "two words" }, err("invalid_nick", "Invalid nickname")],
    [{ type: "nick", nick: "WATCHER" }, err("nick_in_use", "Nickname already in use")],
    [{ type: "pm", to: "no body", text: "x" }, err("no_such_user", "No such user: no body", "no body")],
    [{ type: "pm", to: "nobody", text: "x" }, err("no_such_user", "No such user: nobody", "nobody")],
    [{ type: "history", count: 1.5 }, err("expected_history", "Expected: HISTORY [<n>]")],
    // The line limit counts the equivalent line: "MSG " + 60 code points = 64.
    [{ type: "msg", text: "x".repeat(61) }, err("too_large", "Message too large")],
  ];
  for (const [frame, want] of cases) {
    j.send(frame);
    assertEquals(await j.next(), want, `for ${JSON.stringify(frame)}`);
  }
  j.send({ type: "msg", text: "y".repeat(60) });
  assertEquals((await j.next()).text, "y".repeat(60));
  j.send({ type: "ping", token: "still-open" });
  assertEquals(await j.next(), { v: 1, type: "pong", token: "still-open" });
  j.send({ type: "version" });
  assertEquals((await j.next()).protocol, "wirechat/1");

  // A binary frame: a JSON error, then close 1003.
  j.send(new Uint8Array([1, 2, 3]));
  assertEquals(
    await j.next(),
    err("bad_message", "Malformed message: binary frames are not supported", "binary frames are not supported"),
  );
  assertEquals(await j.closed, { code: 1003, reason: "Binary frames are not supported" });
  await watcher.until("SYS jason left the chat!");
  watcher.send("WHO");
  await watcher.until("SYS Online (1): watcher");
  assertEquals(count(watcher.lines, "SYS jason left the chat!"), 1);
});

Deno.test("wschat: each bad message gets an error object, then a close; one leave each", async () => {
  await using t = await startTestServer({ maxLine: 64 });
  await using watcher = await join(t.url, "watcher");
  const cases: [Json | string | Uint8Array, string, number][] = [
    ["not json", "Malformed message: not valid JSON", 1007],
    [{ action: "disconnect", contents: "x" }, 'Malformed message: action must be "chat"', 1007],
    [{ sender: "me", action: "chat" }, 'Malformed message: missing field "contents"', 1007],
    [{ contents: 42 }, 'Malformed message: field "contents" must be a string', 1007],
    [{ contents: "bell\u0007" }, "Message contains control characters", 1008],
    [{ contents: "x".repeat(61) }, "Message too large", 1009],
    [new Uint8Array([0xde, 0xad]), "Malformed message: binary frames are not supported", 1003],
  ];
  for (const [frame, contents, code] of cases) {
    const w = await joinWschat(t.url);
    await watcher.expect(`SYS ${w.nick} joined the chat!`);
    w.c.send(frame);
    assertEquals(wschat(await w.c.next()), { sender: "system", action: "error", contents });
    assertEquals((await w.c.closed).code, code, `close code for ${String(frame)}`);
    await watcher.expect(`SYS ${w.nick} left the chat!`);
    watcher.send("WHO");
    await watcher.expect("SYS Online (1): watcher");
    await w.c.close();
  }
  // A good one at the edge of the limit still works.
  const w = await joinWschat(t.url);
  await using ok = w.c;
  await watcher.expect(`SYS ${w.nick} joined the chat!`);
  ok.send({ contents: "z".repeat(60) });
  assertEquals(wschat(await ok.next()), { sender: w.uuid, action: "chat", contents: "z".repeat(60) });
  await watcher.expect(new RegExp(`^MSG \\[.*\\] ${w.nick}: z{60}$`));
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("riftchat: framing across reads, bad input as notices, a 4 GB prefix refused; one leave", async () => {
  await using t = await startTestServer({ riftchatPort: 0, maxLine: 64 });
  const port = t.server.riftchatAddr!.port;
  await using watcher = await join(t.url, "watcher");
  const r = await joinRift(port);
  await using rift = r.c;
  await watcher.expect(`SYS ${r.name} joined the chat!`);

  // Several messages in one write.
  await rift.sendRaw(concat(
    riftBytes({ code: 100, message: "one" }),
    riftBytes({ code: 100, message: "two" }),
    riftBytes({ code: 101, username: "splitter" }),
  ));
  assertEquals(riftMessage(await rift.next()), { username: r.name, message: "one" });
  assertEquals(riftMessage(await rift.next()), { username: r.name, message: "two" });
  assertEquals(await rift.next(), { code: 202, new: "splitter" });
  assertEquals(await rift.next(), { code: 203, old: r.name, new: "splitter" });
  await watcher.expect(new RegExp(`^MSG \\[.*\\] ${r.name}: one$`));
  await watcher.expect(new RegExp(`^MSG \\[.*\\] ${r.name}: two$`));
  await watcher.expect(`SYS ${r.name} is now known as splitter`);

  // One message split across reads (a round trip through the room between the parts).
  const split = riftBytes({ code: 100, message: "split across reads" });
  await rift.sendRaw(split.subarray(0, 3));
  watcher.send("MSG sync one");
  assertEquals(riftMessage(await rift.next()), { username: "watcher", message: "sync one" });
  await rift.sendRaw(split.subarray(3, 12));
  watcher.send("MSG sync two");
  assertEquals(riftMessage(await rift.next()), { username: "watcher", message: "sync two" });
  await rift.sendRaw(split.subarray(12));
  assertEquals(riftMessage(await rift.next()), { username: "splitter", message: "split across reads" });

  // Bad input inside a well-framed message: a notice from the server, the connection stays.
  const notice = (message: string) => ({ username: RIFT_SYSTEM, message });
  const cases: [Json | string | Uint8Array, string][] = [
    ["{oops", "Malformed message: not valid JSON"],
    ["42", "Malformed message: expected a JSON object"],
    [{ message: "no code" }, 'Malformed message: missing field "code"'],
    [{ code: 999 }, "Malformed message: unknown code (expected 100 or 101)"],
    [{ code: 100 }, 'Malformed message: missing field "message"'],
    [{ code: 100, message: ["x"] }, 'Malformed message: field "message" must be a string'],
    [{ code: 100, message: "" }, "Expected: MSG <text>"],
    [{ code: 100, message: "tab\there" }, "Message contains control characters"],
    [{ code: 100, message: "x".repeat(61) }, "Message too large"],
    [prefixed(new Uint8Array([0xff, 0xfe, 0x7b])), "Message is not valid UTF-8"],
  ];
  for (const [message, text] of cases) {
    if (message instanceof Uint8Array) await rift.sendRaw(message);
    else await rift.send(message);
    assertEquals(riftMessage(await rift.next()), notice(text), `for ${String(message)}`);
  }
  await rift.send({ code: 101, username: "bell\u0007" });
  assertEquals(await rift.next(), { code: 202, new: "splitter" });
  await rift.send({ code: 100, message: "m".repeat(60) });
  assertEquals(riftMessage(await rift.next()), { username: "splitter", message: "m".repeat(60) });

  // A prefix claiming 4 GB: refused at once (nothing allocated), a notice, then the connection closes.
  await rift.sendRaw(prefixed(new Uint8Array(0), 4n * 1024n ** 3n));
  assertEquals(riftMessage(await rift.next()), notice("Message too large"));
  await rift.closed;
  await watcher.until("SYS splitter left the chat!");
  watcher.send("WHO");
  await watcher.until("SYS Online (1): watcher");
  assertEquals(count(watcher.lines, "SYS splitter left the chat!"), 1);

  // The server keeps serving RiftChat clients.
  const again = await joinRift(port);
  await using rift2 = again.c;
  await watcher.expect(`SYS ${again.name} joined the chat!`);
  await rift2.send({ code: 100, message: "still serving" });
  const replayed: string[] = [];
  for (;;) {
    const m = riftMessage(await rift2.next());
    if (m.message === "still serving") {
      assertEquals(m.username, again.name);
      break;
    }
    replayed.push(m.message);
  }
  assertEquals(replayed, ["one", "two", "sync one", "sync two", "split across reads", "m".repeat(60)]);
});

Deno.test("riftchat: off unless --riftchat-port is given", async () => {
  await using t = await startTestServer();
  assertEquals(t.server.riftchatAddr, undefined);
});

Deno.test("wschat: a member named system cannot pose as the server (the name is reserved)", async () => {
  await using t = await startTestServer();
  const w = await joinWschat(t.url);
  await using ws = w.c;
  await using line = await connect(t.url);
  await line.until("SYS Send: NICK <name>");
  line.send("NICK System");
  await line.expect("ERR Invalid nickname");
  await line.closed;
  await using _other = await join(t.url, "other");
  assertEquals(wschat(await ws.next()), { sender: "system", action: "connect", contents: "other" });
});

Deno.test("riftchat: the client limits apply; a refused client gets a notice, then the connection closes", async () => {
  await using t = await startTestServer({ riftchatPort: 0, maxClients: 1 });
  await using line = await join(t.url, "only");
  const refused = await connectRift(t.server.riftchatAddr!.port);
  assertEquals(riftMessage(await refused.next()), { username: RIFT_SYSTEM, message: "Server full" });
  await refused.closed;
  await refused.close();
  line.send("WHO");
  await line.expect("SYS Online (1): only");
});
