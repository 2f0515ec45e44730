import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { connect, join, startTestServer } from "./helpers.ts";

const TS = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

Deno.test("greeting ends with the NICK prompt; join, broadcast, replay block, WHO, QUIT", async () => {
  await using s = await startTestServer();
  const a = await connect(s.url);
  assertEquals(await a.until(/^SYS Send:/), "SYS Send: NICK <name>");
  a.send("NICK alice");
  await a.expect("SYS alice joined the chat!");
  a.send("MSG hello world");
  const hello = await a.expect(new RegExp(`^MSG \\[${TS}\\] alice: hello world$`));

  const b = await connect(s.url);
  await b.until("SYS Send: NICK <name>");
  b.send("NICK bob");
  await b.expect("SYS bob joined the chat!");
  await b.expect("SYS Replay start (1 messages)");
  await b.expect(hello);
  await b.expect("SYS Replay end");
  await a.expect("SYS bob joined the chat!");

  b.send("WHO");
  await b.expect("SYS Online (2): alice, bob");
  b.send("QUIT");
  assertEquals((await b.closed).code, 1000);
  await a.expect("SYS bob left the chat!");
  await a.close();
});

Deno.test("broadcast order is one total order for every member", async () => {
  await using s = await startTestServer({ rateBurst: 1000 });
  const clients = await Promise.all(["a", "b", "c"].map((n) => join(s.url, n)));
  await clients[0].until("SYS c joined the chat!");
  await clients[1].until("SYS c joined the chat!");
  for (let i = 0; i < 20; i++) for (const [k, c] of clients.entries()) c.send(`MSG ${k}-${i}`);
  const seen = await Promise.all(clients.map(async (c) => {
    const got: string[] = [];
    while (got.length < 60) got.push(await c.until(/^MSG /));
    return got;
  }));
  assertEquals(seen[1], seen[0]);
  assertEquals(seen[2], seen[0]);
  for (const c of clients) await c.close();
});

Deno.test("no gap, duplicate or interleaving between replay and live traffic", async () => {
  await using s = await startTestServer({ replay: 50, rateBurst: 1000, ratePerSecond: 1000 });
  const talker = await join(s.url, "talker");
  let n = 0;
  let talking = true;
  const talk = (async () => {
    while (talking) {
      talker.send(`MSG n${n++}`);
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  await new Promise((r) => setTimeout(r, 30));
  const joiners = await Promise.all(Array.from({ length: 5 }, (_, i) => join(s.url, `j${i}`)));
  await new Promise((r) => setTimeout(r, 30));
  talking = false;
  await talk;
  talker.send("MSG last");
  for (const j of joiners) {
    const numbers: number[] = [];
    let inReplay = false;
    for (;;) {
      const line = await j.next();
      if (line.startsWith("SYS Replay start")) inReplay = true;
      else if (line === "SYS Replay end") inReplay = false;
      else if (line.endsWith("talker: last")) break;
      else if (line.startsWith("MSG ")) numbers.push(Number(line.split(": n")[1]));
      else assertOk(!inReplay, `interleaved inside replay: ${line}`);
    }
    for (let i = 1; i < numbers.length; i++) assertEquals(numbers[i], numbers[i - 1] + 1, `gap or dup: ${numbers}`);
  }
  for (const c of [talker, ...joiners]) await c.close();
});

Deno.test("join refusals: not NICK first, invalid, taken (case-insensitive) → ERR then close 1000", async () => {
  await using s = await startTestServer();
  const a = await join(s.url, "Alice");
  for (
    const [line, err] of [
      ["MSG hi", "ERR Expected: NICK <name>"],
      ["WHO", "ERR Expected: NICK <name>"],
      ["NICK has space", "ERR Invalid nickname"],
      ["NICK " + "x".repeat(21), "ERR Invalid nickname"],
      ["NICK alice", "ERR Nickname already in use"],
    ]
  ) {
    const c = await connect(s.url);
    await c.until("SYS Send: NICK <name>");
    c.send(line);
    await c.expect(err);
    assertEquals((await c.closed).code, 1000);
  }
  a.send("WHO");
  await a.expect("SYS Online (1): Alice");
  await a.close();
});

Deno.test("errors that keep the connection open", async () => {
  await using s = await startTestServer();
  const a = await join(s.url, "alice");
  a.send("MSG");
  await a.expect("ERR Expected: MSG <text>");
  a.send("MSG " + "x".repeat(2045));
  await a.expect("ERR Message too large");
  a.send("MSG bell\u0007");
  await a.expect("ERR Message contains control characters");
  a.send("FROB x");
  await a.expect("ERR Unknown command: FROB");
  a.send("who");
  await a.expect("SYS Online (1): alice");
  a.send("MSG " + "x".repeat(2044));
  await a.expect(/^MSG \[.*\] alice: x{2044}$/);
  a.send("MSG trailing newline\r\n");
  await a.expect(/alice: trailing newline$/);
  await a.close();
});

Deno.test("bad frames: binary → 1003, over the hard cap → 1009; the others keep chatting", async () => {
  await using s = await startTestServer();
  const a = await join(s.url, "alice");
  const b = await join(s.url, "bob");
  b.ws.send(new Uint8Array([1, 2, 3]));
  assertEquals((await b.closed).code, 1003);
  await a.until("SYS bob left the chat!");
  const c = await join(s.url, "carol");
  c.send("MSG " + "y".repeat(70_000));
  assertEquals((await c.closed).code, 1009);
  await a.until("SYS carol left the chat!");
  a.send("MSG still here");
  await a.until(/alice: still here$/);
  await a.close();
});

Deno.test("abrupt disconnects: exactly one leave notice per joined member, nick freed", async () => {
  await using s = await startTestServer();
  const a = await join(s.url, "alice");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
  const key = btoa("0123456789abcdef");
  await conn.write(
    new TextEncoder().encode(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ),
  );
  // A masked text frame "NICK ghost", then drop the TCP connection without a close frame.
  const payload = new TextEncoder().encode("NICK ghost");
  const mask = [1, 2, 3, 4];
  const frame = new Uint8Array([0x81, 0x80 | payload.length, ...mask, ...payload.map((b, i) => b ^ mask[i % 4])]);
  await conn.write(frame);
  await a.until("SYS ghost joined the chat!");
  conn.close();
  await a.expect("SYS ghost left the chat!");
  const again = await join(s.url, "ghost");
  await again.close();
  await a.until("SYS ghost left the chat!");
  a.send("MSG done");
  const rest = await a.until(/alice: done$/);
  assertOk(rest);
  assertEquals(a.lines.filter((l) => l === "SYS ghost left the chat!").length, 2);
  await a.close();
});

Deno.test("shutdown: SYS Server shutting down, then 1001 'Server shutdown'; new connections refused", async () => {
  const s = await startTestServer();
  const a = await join(s.url, "alice");
  const pending = await connect(s.url);
  const t0 = performance.now();
  await s.server.shutdown();
  assertOk(performance.now() - t0 < 2000);
  await a.until("SYS Server shutting down");
  assertEquals(await a.closed, { code: 1001, reason: "Server shutdown" });
  await pending.until("SYS Server shutting down");
  assertEquals((await pending.closed).code, 1001);
  await Deno.remove(s.logDir, { recursive: true });
  let refused = false;
  try {
    await connect(s.url);
  } catch {
    refused = true;
  }
  assertOk(refused);
});

Deno.test("messages are in the day's log file before anyone receives them", async () => {
  await using s = await startTestServer();
  const a = await join(s.url, "alice");
  a.send("MSG persisted");
  const line = await a.expect(/alice: persisted$/);
  const file = `${s.logDir}/${new Date().toISOString().slice(0, 10)}-messages.txt`;
  const text = await Deno.readTextFile(file);
  assertEquals(text, line.slice(4) + "\n");
  assertMatch(text, /^\[.*Z\] alice: persisted\n$/);
  await a.close();
});

Deno.test("HTTP: GET / without upgrade answers, /healthz is JSON, unknown path is 404", async () => {
  await using s = await startTestServer();
  const base = `http://127.0.0.1:${s.port}`;
  const root = await fetch(`${base}/`);
  await root.body?.cancel();
  assertEquals(root.status, 200);
  const health = await fetch(`${base}/healthz`);
  assertEquals((await health.json()).status, "ok");
  const missing = await fetch(`${base}/nope`);
  await missing.body?.cancel();
  assertEquals(missing.status, 404);
});
