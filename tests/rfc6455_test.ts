/**
 * RFC 6455 on the server side, each rule proven with a raw socket against a
 * real server (issue 13 item 4), and the handshake attacks of item 7: the
 * answers RFC 6455 §4.2.1 asks for, a header timeout counted against the
 * limits, and a close handshake that cannot hold a slot forever.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { join, startTestServer, waitUntil } from "./helpers.ts";
import {
  encodeFrame,
  handshakeRequest,
  Op,
  rawConnect,
  rawExchange,
  rawJoin,
  type RawSocket,
  writeAll,
} from "./raw_ws.ts";
import { HARD_FRAME_CAP } from "../protocol/mod.ts";

const decoder = new TextDecoder();

/** Reads frames until the server's close frame; its code, or "eof" for a bare TCP close. */
async function closeCodeOf(sock: RawSocket): Promise<number | "eof"> {
  const code = await sock.closeCode();
  sock.close();
  return code ?? "eof";
}

Deno.test("rfc6455: an unmasked client frame is closed with 1002 and never joins", async () => {
  await using t = await startTestServer();
  await using watcher = await join(t.url, "watcher");
  const sock = await rawConnect(t.port);
  await sock.until("SYS Send: NICK <name>");
  await sock.sendText("NICK bare", { mask: false });
  assertEquals(await closeCodeOf(sock), 1002);
  watcher.send("WHO");
  await watcher.until("SYS Online (1): watcher");
  assertEquals(watcher.lines.filter((l) => l.includes("bare")), [], "never joined");
});

Deno.test("rfc6455: invalid UTF-8 in a text frame is closed with 1007", async () => {
  await using t = await startTestServer();
  const sock = await rawJoin(t.port, "utf");
  await sock.write(encodeFrame(new Uint8Array([0x4d, 0x53, 0x47, 0x20, 0xc3, 0x28])));
  assertEquals(await closeCodeOf(sock), 1007);
});

Deno.test("rfc6455: reserved bits or an unknown opcode are closed with 1002", async () => {
  await using t = await startTestServer();
  await using watcher = await join(t.url, "watcher");
  for (
    const [i, first] of [0xc1, /* FIN|RSV1|TEXT */ 0xa1, /* RSV2 */ 0x83, /* opcode 3 */ 0x8b /* opcode 0xB */]
      .entries()
  ) {
    const sock = await rawJoin(t.port, `bad${i}`);
    const frame = encodeFrame("MSG hi");
    frame[0] = first;
    await sock.write(frame);
    assertEquals(await closeCodeOf(sock), 1002, `first byte 0x${first.toString(16)}`);
    await watcher.until(`SYS bad${i} left the chat!`);
  }
  assertEquals(watcher.lines.filter((l) => l.includes(": hi")), [], "nothing was broadcast");
});

Deno.test("rfc6455: a message over the cap, single or fragmented, is closed with 1009 from its header alone", async () => {
  await using t = await startTestServer();
  // One frame announcing one byte over the cap, and no payload at all: the answer cannot wait for the payload.
  const single = await rawJoin(t.port, "single");
  await single.write(encodeFrame(new Uint8Array(0), { announce: HARD_FRAME_CAP + 1 })); // header and mask only
  assertEquals(await closeCodeOf(single), 1009);
  // Fragments: 40 KiB, then a continuation header announcing 40 KiB more (no payload): over the cap in total.
  const frag = await rawJoin(t.port, "frag");
  await frag.write(encodeFrame("MSG " + "a".repeat(40 * 1024 - 4), { fin: false }));
  await frag.write(encodeFrame(new Uint8Array(0), { opcode: Op.CONT, announce: 40 * 1024 }));
  assertEquals(await closeCodeOf(frag), 1009);
  // Exactly the cap in one message is accepted (as a too-long chat line: ERR, the connection stays).
  const edge = await rawJoin(t.port, "edge");
  await edge.sendText("MSG " + "b".repeat(HARD_FRAME_CAP - 4));
  await edge.until(/^ERR /);
  await edge.sendText("PING alive");
  await edge.until("PONG alive");
  edge.close();
});

Deno.test("rfc6455: a legal fragmented message is one message; a ping between its fragments is answered at once", async () => {
  await using t = await startTestServer();
  await using watcher = await join(t.url, "watcher");
  const sock = await rawJoin(t.port, "frag");
  await sock.write(encodeFrame("MSG one ", { fin: false }));
  await sock.write(encodeFrame("two ", { opcode: Op.CONT, fin: false }));
  await sock.write(encodeFrame("mid", { opcode: Op.PING }));
  for (;;) {
    const f = await sock.readFrame();
    if (!f) throw new Error("closed before the pong");
    if (f.opcode === Op.PONG) {
      assertEquals(decoder.decode(f.payload), "mid");
      break;
    }
  }
  await sock.write(encodeFrame("three", { opcode: Op.CONT }));
  await watcher.until(/ frag: one two three$/);
  assertEquals(watcher.lines.filter((l) => l.includes(" frag: ")).length, 1, "one message");
  // A continuation with no message to continue is a protocol error.
  await sock.write(encodeFrame("x", { opcode: Op.CONT }));
  assertEquals(await closeCodeOf(sock), 1002);
  await watcher.until("SYS frag left the chat!");
});

Deno.test("rfc6455: a ping is answered with a pong carrying its payload, after what was queued before it", async () => {
  await using t = await startTestServer();
  const sock = await rawJoin(t.port, "pinger");
  // A chat line and a ping in one write: the server queues the echo, then answers the ping after it.
  const msg = encodeFrame("MSG before the ping");
  const ping = encodeFrame("payload-123", { opcode: Op.PING });
  const both = new Uint8Array(msg.length + ping.length);
  both.set(msg);
  both.set(ping, msg.length);
  await sock.write(both);
  const seen: string[] = [];
  for (;;) {
    const f = await sock.readFrame();
    if (!f) throw new Error(`closed; saw ${seen}`);
    if (f.opcode === Op.PONG) {
      assertEquals(decoder.decode(f.payload), "payload-123");
      break;
    }
    seen.push(decoder.decode(f.payload));
  }
  assertOk(seen.some((l) => l.endsWith("pinger: before the ping")), `the echo came before the pong: ${seen}`);
  sock.close();
});

Deno.test("rfc6455: a client close is answered with a close frame and the leave is announced once", async () => {
  await using t = await startTestServer();
  await using watcher = await join(t.url, "watcher");
  const sock = await rawJoin(t.port, "leaver");
  await sock.write(encodeFrame(new Uint8Array([0x03, 0xe8, 0x62, 0x79, 0x65]), { opcode: Op.CLOSE })); // 1000 "bye"
  assertEquals(await sock.closeCode(), 1000, "the server answers the close");
  await watcher.until("SYS leaver left the chat!");
  sock.close();
  await waitUntil("the leaver's socket to be released", () => t.server.context.admission.total() <= 1);
  watcher.send("WHO");
  await watcher.until("SYS Online (1): watcher");
  assertEquals(watcher.lines.filter((l) => l === "SYS leaver left the chat!").length, 1);
});

Deno.test("handshake: subprotocols without spaces are negotiated (foo,wirechat.batch → 101 wirechat.batch)", async () => {
  await using t = await startTestServer();
  const sock = await rawConnect(t.port, { "Sec-WebSocket-Protocol": "foo,wirechat.batch" });
  assertMatch(sock.response, /^HTTP\/1\.1 101/);
  assertMatch(sock.response, /\r\nsec-websocket-protocol: wirechat\.batch(\r\n|$)/i);
  await sock.until(/SYS Send: NICK <name>$/);
  sock.close();
});

Deno.test("handshake: RFC 6455 §4.2.1 refusals — 400 for a missing key, a 4-byte key, no Connection: Upgrade or no Host; 426 for version 8", async () => {
  await using t = await startTestServer();
  const host = `127.0.0.1:${t.port}`;
  const status = async (headers: Record<string, string | null>) =>
    (await rawExchange(t.port, handshakeRequest(host, headers))).split("\r\n")[0];
  assertEquals(await status({ "Sec-WebSocket-Key": null }), "HTTP/1.1 400 Bad Request");
  assertEquals(await status({ "Sec-WebSocket-Key": btoa("abcd") }), "HTTP/1.1 400 Bad Request");
  assertEquals(await status({ Connection: "keep-alive" }), "HTTP/1.1 400 Bad Request");
  // Without a Host the upgrade would pass the Host allow-list as "localhost" (the DNS-rebinding guard).
  assertEquals(await status({ Host: null }), "HTTP/1.1 400 Bad Request");
  assertEquals(await status({ Host: "" }), "HTTP/1.1 400 Bad Request");
  assertEquals(await status({ "Sec-WebSocket-Protocol": "a,,b c" }), "HTTP/1.1 400 Bad Request");
  // A request target is a path on the Host named: `//other.example/` is not `/` on another host, `//` and `/ws/` are
  // not `/ws`; an absolute-form target is its own URL.
  const at = async (path: string) => (await rawExchange(t.port, handshakeRequest(host, {}, path))).split("\r\n")[0];
  assertEquals(await at("//evil.example/"), "HTTP/1.1 404 Not Found");
  assertEquals(await at("//evil.example/ws"), "HTTP/1.1 404 Not Found");
  assertEquals(await at(`http://${host}/ws`), "HTTP/1.1 101 Switching Protocols");
  const v8 = await rawExchange(t.port, handshakeRequest(host, { "Sec-WebSocket-Version": "8" }));
  assertEquals(v8.split("\r\n")[0], "HTTP/1.1 426 Upgrade Required");
  assertMatch(v8, /\r\nsec-websocket-version: 13\r\n/i);
  // The server is unharmed and nobody was counted as connected.
  await using _fine = await join(t.url, "fine");
  assertEquals(t.server.context.admission.total(), 1);
});

Deno.test("handshake: headers sent a byte at a time are cut at --header-timeout and count against the limits meanwhile", async () => {
  await using t = await startTestServer({ headerTimeout: 1, maxClientsPerAddress: 2, limitExempt: "" });
  const request = handshakeRequest(`127.0.0.1:${t.port}`);
  const slow = await Promise.all([0, 1].map(() => Deno.connect({ hostname: "127.0.0.1", port: t.port })));
  for (const conn of slow) await writeAll(conn, request.subarray(0, 1));
  // Two incomplete requests from this address fill its table: a third connection is dropped at once.
  const third = await rawExchange(t.port, request).catch((err) => String(err));
  assertEquals(third, "", "dropped without an answer");
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "handshakes_full" }), 1);
  // Dripping one byte at a time does not extend the deadline: both are cut.
  const started = performance.now();
  let at = 1;
  const ended = slow.map(async (conn) => {
    const buf = new Uint8Array(64);
    return await conn.read(buf).catch(() => null);
  });
  const drip = setInterval(() => {
    for (const conn of slow) void writeAll(conn, request.subarray(at, at + 1)).catch(() => {});
    at++;
  }, 100);
  try {
    assertEquals(await Promise.all(ended), [null, null]);
  } finally {
    clearInterval(drip);
    for (const conn of slow) conn.close();
  }
  const took = performance.now() - started;
  assertOk(took < 4000, `cut after ${took} ms`);
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "header_timeout" }), 2);
  // Their slots are free again.
  (await rawConnect(t.port)).close();
});

Deno.test("close: a client that never answers the server's close frame is dropped after --close-timeout and frees its slot", async () => {
  await using t = await startTestServer({ closeTimeout: 0.5, maxClients: 2 });
  await using watcher = await join(t.url, "watcher");
  const mute = await rawJoin(t.port, "mute");
  await mute.sendText("QUIT"); // the server closes; this client reads its close frame but never answers it
  assertEquals(await mute.closeCode(), 1000);
  await watcher.until("SYS mute left the chat!");
  assertEquals(t.server.context.admission.total(), 2, "the unanswered close still holds the slot");
  await waitUntil("the close timeout to drop the connection", () => t.server.context.admission.total() === 1);
  assertEquals(t.server.metrics.value("wirechat_close_timeouts_total"), 1);
  assertEquals(await mute.readFrame(), undefined, "the server closed the TCP connection");
  mute.close();
  await using fresh = await join(t.url, "fresh");
  fresh.send("WHO");
  await fresh.until("SYS Online (2): fresh, watcher");
});
