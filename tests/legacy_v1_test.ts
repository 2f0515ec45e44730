/**
 * Issue 15 (items 1, 2, 4, 6, 7) against a real server with raw clients:
 * capabilities (a legacy client that declares nothing receives nothing but
 * the legacy lines), the original's UPTIME/STATS/CMDS, IMG (stored, and
 * replayed after a restart), the `/ws` path, and the wschat timestamp and
 * empty-message rules.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { connect, join, startTestServer, type TestClient } from "./helpers.ts";
import { connectTcp, connectWs } from "./line_client.ts";
import { capabilitySubprotocols, COMMAND_WORDS, parseServerLine } from "../protocol/mod.ts";

/** The lines a client that declared nothing may receive: SYS, MSG, ERR, PONG, IMG, and PMs addressed to `nick`. */
function isLegacyLine(line: string, nick: string): boolean {
  if (/^(SYS|MSG|ERR|IMG) /.test(line) || line === "PONG" || line.startsWith("PONG ")) return true;
  const ev = parseServerLine(line);
  return ev.type === "pm" && ev.to === nick;
}

/** Sends PING `token` and reads up to its PONG: everything sent before it has arrived. */
async function sync(c: TestClient, token: string): Promise<void> {
  c.send(`PING ${token}`);
  await c.until(`PONG ${token}`);
}

Deno.test("capabilities: a legacy client that never declares gets only SYS, MSG, ERR, PONG, IMG and PMs to it", async () => {
  await using t = await startTestServer({ tcpPort: 0 });
  await using legacy = await join(t.url, "legacy");
  await using modern = await join(t.url, "modern", capabilitySubprotocols(["pm", "typing"]));
  const tcp = await connectTcp(t.server.tcpAddr!.port);
  await using _tcp = tcp;
  await tcp.next(); // greeting
  await tcp.next();
  tcp.send("CAP typing pm");
  assertEquals(await tcp.next(), "SYS Capabilities: pm, typing");
  tcp.send("NICK netcat");
  assertEquals(await tcp.next(), "SYS netcat joined the chat!");

  // Everything the others can make the server send: extension lines included.
  for (const c of [modern]) {
    c.send("TYPING");
    c.send("MSG hello");
    c.send("IMG https://example.org/cat.png");
    c.send("PM legacy for you");
    c.send("PM netcat not for legacy");
    c.send("NICK modern2");
    c.send("NICK modern");
  }
  tcp.send("TYPING");
  tcp.send("PM modern psst");
  legacy.send("TYPING");
  legacy.send("PM modern from legacy");
  legacy.send("WHO");
  legacy.send("HISTORY");
  legacy.send("VERSION");
  legacy.send("HELP");
  legacy.send("FROB");
  await sync(modern, "m");
  assertEquals(await tcp.next(), "TYPING modern", "a TCP client that declared typing gets it");
  await sync(legacy, "done");

  // The declaring clients did get the extension lines (so there was something to hold back).
  assertOk(modern.lines.includes("TYPING netcat"), JSON.stringify(modern.lines));
  assertOk(modern.lines.includes("TYPING legacy"));
  assertOk(modern.lines.some((l) => /^PM \[\S+\] modern -> legacy: for you$/.test(l)), "copy of own PM");
  // The legacy client: only legacy lines, and it did get the PM addressed to it and the image.
  const odd = legacy.lines.filter((l) => !isLegacyLine(l, "legacy"));
  assertEquals(odd, []);
  assertOk(legacy.lines.some((l) => /^PM \[\S+\] modern -> legacy: for you$/.test(l)));
  assertOk(legacy.lines.some((l) => /^IMG \[\S+\] modern https:\/\/example\.org\/cat\.png$/.test(l)));
  assertOk(!legacy.lines.some((l) => l.includes("from legacy")), "no copy of its own PM");
});

Deno.test("capabilities: wirechat.cap.* offers declare, and the server selects none of them", async () => {
  await using t = await startTestServer();
  await using plain = await connect(t.url, capabilitySubprotocols(["typing"]));
  assertEquals(plain.ws.protocol, "");
  await using batch = await connect(t.url, ["wirechat.batch", ...capabilitySubprotocols(["typing"])]);
  assertEquals(batch.ws.protocol, "wirechat.batch");
  for (const [c, nick] of [[plain, "plain"], [batch, "batchy"]] as const) {
    await c.until("SYS Send: NICK <name>");
    c.send(`NICK ${nick}`);
    await c.until(`SYS ${nick} joined the chat!`);
  }
  await using talker = await join(t.url, "talker");
  talker.send("TYPING");
  await plain.until("TYPING talker");
  await batch.until("TYPING talker");
  // typing only: the copy of a sent PM still needs pm.
  plain.send("PM talker hi");
  await talker.until(/^PM \[\S+\] plain -> talker: hi$/);
  await sync(plain, "after-pm");
  assertOk(!plain.lines.some((l) => l.startsWith("PM ")), JSON.stringify(plain.lines));
});

Deno.test("UPTIME, STATS and CMDS answer in the original's formats", async () => {
  await using t = await startTestServer();
  await using a = await join(t.url, "alice");
  await using b = await join(t.url, "bob");
  a.send("UPTIME");
  assertMatch(await a.until(/^SYS Uptime: /), /^SYS Uptime: (\d+s|\d+m \d+s|\d+h \d+m|\d+d \d+h \d+m)$/);
  for (const text of ["one", "two", "three"]) b.send(`MSG ${text}`);
  b.send("IMG http://example.org/x.png");
  await a.until(/^IMG /);
  a.send("STATS");
  assertMatch(await a.until(/^SYS Users/), /^SYS Users: 2 \| Uptime: \d+s \| Messages \(session\): 4$/);
  a.send("cmds");
  // One line, generated from the command table: every command word, the original's among them.
  const cmds = await a.until(/^SYS Available/);
  assertEquals(cmds, `SYS Available commands: ${COMMAND_WORDS.join(", ")}`);
  for (const verb of ["NICK", "MSG", "UPTIME", "STATS", "CMDS", "IMG"]) assertOk(COMMAND_WORDS.includes(verb), verb);
});

Deno.test("IMG: broadcast without a colon, written to the log, replayed as an IMG line after a restart", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-img-" });
  try {
    let line: string;
    {
      await using t = await startTestServer({ logDir });
      await using a = await join(t.url, "alice");
      a.send("MSG before");
      a.send("IMG https://example.org/a%20b.png?size=2#x");
      line = await a.until(/^IMG /);
      assertMatch(line, /^IMG \[\S+Z\] alice https:\/\/example\.org\/a%20b\.png\?size=2#x$/);
      a.send("IMG ftp://example.org/a.png");
      assertEquals(await a.next(), "ERR Invalid image URL");
      a.send("IMG");
      assertEquals(await a.next(), "ERR IMG requires a URL");
    }
    const files = [...Deno.readDirSync(logDir)].map((e) => e.name).filter((n) => n.endsWith("-messages.txt"));
    const log = files.map((f) => Deno.readTextFileSync(`${logDir}/${f}`)).join("");
    assertOk(log.includes(`] IMG alice https://example.org/a%20b.png?size=2#x\n`), log);
    await using again = await startTestServer({ logDir });
    await using b = await join(again.url, "bob");
    assertEquals(await b.next(), "SYS Replay start (2 messages)");
    assertMatch(await b.next(), /^MSG \[\S+\] alice: before$/);
    assertEquals(await b.next(), line, "replayed exactly as first broadcast");
    assertEquals(await b.next(), "SYS Replay end");
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("/ws upgrades like /: the same chat, dialects and subprotocols", async () => {
  await using t = await startTestServer();
  await using a = await join(`${t.url}ws`, "alice");
  await using b = await join(t.url, "bob");
  await a.until("SYS bob joined the chat!");
  b.send("MSG hi");
  await a.until(/^MSG \[\S+\] bob: hi$/);
  await using batch = await connect(`${t.url}ws`, ["wirechat.batch"]);
  assertEquals(batch.ws.protocol, "wirechat.batch");
});

/** The exact `timestamp` digits of a wschat frame, as written. */
function stampOf(frame: string): bigint {
  const m = /,"timestamp":(\d+)\}$/.exec(frame);
  if (!m) throw new Error(`no integer timestamp at the end of ${frame}`);
  return BigInt(m[1]);
}

Deno.test("wschat: nanosecond timestamps, exact integers, strictly increasing even within one millisecond, also as JSON.parse reads them", async () => {
  await using t = await startTestServer();
  await using ws = await connectWs(`${t.url}wschat`);
  await using other = await connectWs(`${t.url}wschat`);
  await using line = await join(t.url, "liner");
  const burst = 30;
  /** Every stamp a wschat client received (connects included) and the stamps of the burst's messages. */
  async function read(c: typeof ws) {
    const all: bigint[] = [];
    const chats: bigint[] = [];
    /** The stamps as a page reading frames with JSON.parse gets them (doubles: 256 ns apart at these values). */
    const parsed: number[] = [];
    while (chats.length < burst) {
      const frame = await c.next();
      all.push(stampOf(frame));
      parsed.push(JSON.parse(frame).timestamp);
      if (frame.includes(`"contents":"m${chats.length}"`)) chats.push(stampOf(frame));
    }
    return { all, chats, parsed };
  }
  // One burst: many messages are stamped within the same millisecond.
  for (let i = 0; i < burst; i++) line.send(`MSG m${i}`);
  const { all, chats: mine, parsed } = await read(ws);
  for (let i = 1; i < all.length; i++) assertOk(all[i] > all[i - 1], `not increasing at ${i}: ${all}`);
  // The real wschat page inserts a message after the last one with a strictly smaller timestamp: equal numbers
  // after JSON.parse would show a burst newest first.
  for (let i = 1; i < parsed.length; i++) assertOk(parsed[i] > parsed[i - 1], `equal after JSON.parse at ${i}: ${all}`);
  const last = mine[mine.length - 1];
  assertOk(last > 2n ** 53n, "beyond 2^53: written as digits, not a float");
  assertOk(Number(last / 1_000_000n) - Date.now() < 60_000 && Date.now() - Number(last / 1_000_000n) < 60_000);
  const sameMs = new Set(mine.map((s) => s / 1_000_000n)).size < burst;
  assertOk(sameMs, "the burst had messages within one millisecond (the case that needs the tie-breaker)");
  // Another wschat client sees the very same stamps for the same messages.
  assertEquals((await read(other)).chats, mine);
});

Deno.test("wschat: an empty chat message is ignored and the connection stays open", async () => {
  await using t = await startTestServer();
  await using ws = await connectWs(`${t.url}wschat`);
  await ws.next(); // connect
  ws.send(JSON.stringify({ contents: "" }));
  ws.send(JSON.stringify({ action: "chat", contents: "   " }));
  ws.send(JSON.stringify({ contents: "after" }));
  const echo = await ws.next();
  assertMatch(echo, /^\{"sender":"[0-9a-f-]{36}","action":"chat","contents":"after","timestamp":\d+\}$/);
  assertOk(!ws.isClosed);
});
