/**
 * Corked fan-out (issue 13 item 2): a broadcast line is framed once, each
 * peer gets one socket write per event-loop turn holding every frame queued
 * for it, peers holding the same frames share one buffer — and ordinary
 * WebSocket clients (the browser's own `WebSocket` in headless Chromium,
 * Deno's `WebSocket`, and python-websockets) get every line exactly once,
 * one line per frame, in the room's one order.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer, type TestClient, WAIT_MS } from "./helpers.ts";
import { spawnLineProcess } from "./server_process.ts";
import { openConnection } from "../server/core/connection.ts";
import { createFrameEncoders } from "../server/transports/ws_frame.ts";
import { launchChromium, openPage } from "./chromium.ts";

const decoder = new TextDecoder();

/** The text frames in `bytes` (unmasked server frames). */
function framesIn(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (let at = 0; at < bytes.length;) {
    assertEquals(bytes[at], 0x81, "a final text frame");
    let len = bytes[at + 1];
    let head = 2;
    if (len === 126) [len, head] = [(bytes[at + 2] << 8) | bytes[at + 3], 4];
    assertOk(len < 127, "short test lines");
    out.push(decoder.decode(bytes.subarray(at + head, at + head + len)));
    at += head + len;
  }
  return out;
}

/** The end of the current event-loop turn and of the flush it triggers. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

Deno.test("fan-out: lines of one turn reach each peer in one write, the same buffer for every peer, each line framed once", async () => {
  await using t = await startTestServer({ replay: 0 });
  const ctx = t.server.context;
  const frames = createFrameEncoders();
  const peers = ["f0", "f1", "f2", "f3"].map((nick, i) => {
    const writes: Uint8Array[] = [];
    const conn = openConnection(ctx, {
      remote: `127.0.0.2:${1000 + i}`,
      transport: "fake",
      dialect: ctx.dialects.line,
      closeTimeoutMs: 1000,
      wire: {
        encode: frames.line,
        write: (bytes) => void writes.push(bytes),
        unsent: () => 0,
        close: () => {},
        destroy: () => {},
      },
    });
    conn.open();
    conn.text(`NICK ${nick}`);
    return { conn, writes };
  });
  await nextTurn();
  for (const p of peers) p.writes.length = 0;
  // Three lines from one member in one turn.
  for (const text of ["one", "two", "three"]) peers[0].conn.text(`MSG ${text}`);
  await nextTurn();
  for (const p of peers) assertEquals(p.writes.length, 1, "one write per peer per turn");
  const first = peers[0].writes[0];
  for (const p of peers) assertOk(p.writes[0] === first, "every peer got the very same buffer");
  assertEquals(framesIn(first).map((l) => l.replace(/^MSG \[[^\]]+\] /, "")), ["f0: one", "f0: two", "f0: three"]);
  for (const p of peers) p.conn.ended();
});

/** Frames received by `count` WebSocket clients of the page (the browser's own), once each has `total` MSG frames. */
function browserReaders([count, total]: readonly [number, number]): Promise<string[][]> {
  const page = globalThis as unknown as { joined: number };
  page.joined = 0;
  return Promise.all(Array.from({ length: count }, (_, i) =>
    new Promise<string[]>((resolve, reject) => {
      const ws = new WebSocket(location.href.replace(/^http/, "ws"));
      const frames: string[] = [];
      let msgs = 0;
      ws.onopen = () => ws.send(`NICK browser${i}`);
      ws.onerror = () => reject(new Error(`browser${i}: socket error`));
      ws.onmessage = (e) => {
        frames.push(String(e.data));
        if (e.data === `SYS browser${i} joined the chat!`) page.joined++;
        if (String(e.data).startsWith("MSG ") && ++msgs === total) {
          ws.close();
          resolve(frames);
        }
      };
    })));
}

Deno.test("fan-out: 30 Deno WebSocket, 10 Chromium WebSocket and 10 python-websockets clients get every line once, one per frame, in one order", async () => {
  await using t = await startTestServer({ replay: 0 });
  const senders = await Promise.all([0, 1, 2].map((i) => join(t.url, `sender${i}`)));
  const perSender = 60;
  const total = 3 * perSender;
  // The browser's WebSocket: readers in a page of the server's own origin (the Origin check passes).
  await using browser = await launchChromium();
  await using page = await openPage(browser, t.url.replace(/^ws/, "http"));
  const browserFrames = page.page.evaluate(browserReaders, [10, total] as [number, number]);
  browserFrames.catch(() => {}); // awaited below; a failure before then must not surface as an unhandled rejection
  await page.page.waitForFunction(() => (globalThis as unknown as { joined?: number }).joined === 10);
  // Browser-like readers: Deno's WebSocket; a frame holding "\n" would show up as an extra line without "MSG ".
  const readers: TestClient[] = await Promise.all(
    Array.from({ length: 30 }, (_, i) => join(t.url, `reader${i}`)),
  );
  const python = spawnLineProcess("/usr/bin/python3", [
    new URL("./clients/py_fanout_readers.py", import.meta.url).pathname,
    t.url,
    "10",
    String(total),
  ]);
  assertEquals(await python.nextLine(WAIT_MS * 4), "joined");
  for (let n = 0; n < perSender; n++) for (const [i, s] of senders.entries()) s.send(`MSG ${i}/${n}`);
  const pyFrames: string[][] = JSON.parse(await python.nextLine(30_000)).frames;
  assertEquals(await python.finish(), 0, "the python readers exit 0");

  const chat = async (c: TestClient) => {
    while (c.lines.filter((l) => l.startsWith("MSG ")).length < total) await c.next();
    return c.lines.filter((l) => !l.startsWith("SYS "));
  };
  const seen = await Promise.all(readers.map(chat));
  const order = seen[0];
  assertEquals(order.length, total, "every line, nothing else (no line joined to another in one frame)");
  const fromBrowser = (await browserFrames).map((frames) => frames.filter((f) => !f.startsWith("SYS ")));
  assertEquals(fromBrowser.length, 10);
  for (const lines of [...seen, ...pyFrames, ...fromBrowser]) {
    assertEquals(lines, order, "the same lines, once each, in one order");
  }
  for (let i = 0; i < 3; i++) {
    const mine = order.filter((l) => l.includes(` sender${i}: `)).map((l) => l.slice(l.lastIndexOf("/") + 1));
    assertEquals(mine, Array.from({ length: perSender }, (_, n) => String(n)), `sender${i}'s lines in its order`);
  }
  assertOk(
    [...pyFrames, ...fromBrowser].every((frames) => frames.every((f) => !f.includes("\n"))),
    "one line per frame",
  );
  assertEquals(page.errors, [], "no page errors");
  for (const c of [...readers, ...senders]) await c.close();
});
