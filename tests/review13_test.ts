/**
 * Findings of an outside review of issue 13 (RFC 6455 on the server side,
 * control frames in order with data), each a raw-socket test against a real
 * server.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { encodeFrame, Op, rawExchange, rawJoin } from "./raw_ws.ts";
import { OUTBOUND_CEILING_FACTOR, SLOW_CONSUMER_GRACE_MS } from "../server/core/connection.ts";
import { joinOnWire } from "./fake_peer.ts";
import { MAX_QUEUED_PER_TURN } from "../server/core/outbound.ts";

const decoder = new TextDecoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

Deno.test("review13: a client's close frame is answered after the data queued before it (a line, then close, in one write)", async () => {
  await using t = await startTestServer();
  await using watcher = await join(t.url, "watcher");
  const sock = await rawJoin(t.port, "leaver");
  // What a script does: send a line, then close. Both arrive in one read; the echo of the line is queued for the
  // end of the turn, and the close answer must not overtake it (nor drop it).
  await sock.write(concat(
    encodeFrame("MSG last words"),
    encodeFrame(new Uint8Array([0x03, 0xe8]), { opcode: Op.CLOSE }),
  ));
  const seen: string[] = [];
  let code: number | undefined;
  for (;;) {
    const f = await sock.readFrame();
    if (!f) break;
    if (f.opcode === Op.CLOSE) {
      code = (f.payload[0] << 8) | f.payload[1];
      break;
    }
    seen.push(decoder.decode(f.payload));
  }
  sock.close();
  assertEquals(code, 1000, `the server answers the close; before it: ${JSON.stringify(seen)}`);
  assertOk(
    seen.some((l) => l.endsWith("leaver: last words")),
    `the echo came before the close: ${JSON.stringify(seen)}`,
  );
  await watcher.until(/leaver: last words$/);
  await watcher.until("SYS leaver left the chat!");
});

Deno.test("review13: a message in more than 16 384 fragments is closed with 1008, and counted as that, not as a 1002", async () => {
  await using t = await startTestServer();
  const sock = await rawJoin(t.port, "shards");
  const parts = [encodeFrame("MSG a", { fin: false })];
  for (let i = 0; i < 16_400; i++) parts.push(encodeFrame("", { opcode: Op.CONT, fin: false }));
  await sock.write(concat(...parts));
  assertEquals(await sock.closeCode(), 1008, "ws refuses the 16 385th fragment with 1008");
  sock.close();
  assertEquals(t.server.metrics.value("wirechat_errors_total", { code: "too_many_fragments" }), 1);
  assertEquals(t.server.metrics.value("wirechat_errors_total", { code: "protocol_error" }), 0);
});

/** A joined member on a fake wire that records every text it is sent; `unsent` is what the test says. */
function recordingMember(t: Awaited<ReturnType<typeof startTestServer>>, nick: string, stalled = false) {
  const state = { unsent: 0, peak: 0, texts: [] as string[], closed: undefined as number | undefined };
  const conn = joinOnWire(t.server.context, nick, {
    encode: (texts) => {
      if (!stalled) state.texts.push(...texts);
      return stalled ? new TextEncoder().encode(texts.join("\n")) : new Uint8Array(texts.length);
    },
    write(bytes) { // a reader: nothing stays unsent but what the test says; a stalled one keeps all
      if (stalled) state.peak = Math.max(state.peak, state.unsent += bytes.length);
    },
    unsent: () => state.unsent,
  }, (code) => void (state.closed = code));
  return { conn, state };
}

Deno.test("review13: a slow consumer cut in a flush forced mid-broadcast (MAX_QUEUED_PER_TURN) leaves in the same place of every member's order", async () => {
  await using t = await startTestServer({ maxOutbound: 1024, replay: 0, ratePerSecond: 0 });
  const first = recordingMember(t, "first");
  const crowd = Array.from({ length: 18 }, (_, i) => recordingMember(t, `crowd${i}`));
  const slow = recordingMember(t, "slow");
  const last = recordingMember(t, "last");
  const talker = recordingMember(t, "talker");
  await new Promise((r) => setTimeout(r, 50));
  slow.state.unsent = 1024 * OUTBOUND_CEILING_FACTOR + 1; // a stalled reader over the ceiling: its next flush cuts it
  // One turn: 100 000 lines to 22 members queue 2.2 M texts, past MAX_QUEUED_PER_TURN: a flush runs mid-broadcast.
  const lines = Math.ceil(MAX_QUEUED_PER_TURN / 22) + 1000;
  for (let i = 0; i < lines; i++) talker.conn.text(`MSG ${i}`);
  await new Promise((r) => setTimeout(r, 100));
  assertEquals(slow.state.closed, 1008, "the slow one was cut");
  const place = (texts: string[]) => {
    const at = texts.indexOf("SYS slow left the chat!");
    return at < 0 ? "never" : (texts.slice(0, at).findLast((x) => x.startsWith("MSG")) ?? "none").replace(/^.*: /, "");
  };
  const where = [first, ...crowd, last, talker].map((m) => place(m.state.texts));
  assertEquals(new Set(where).size, 1, `the leave follows the same message everywhere: ${[...new Set(where)]}`);
  for (const m of [first, ...crowd, slow, last, talker]) m.conn.ended();
});

Deno.test("review13: an upgrade in HTTP/1.0 is not a WebSocket handshake (RFC 6455 §4.2.1: HTTP/1.1 or higher): 400", async () => {
  await using t = await startTestServer();
  const key = btoa("0123456789abcdef");
  const request = `GET / HTTP/1.0\r\nHost: 127.0.0.1:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;
  const answer = await rawExchange(t.port, request);
  assertOk(answer.startsWith("HTTP/1.1 400 "), answer.split("\r\n")[0]);
  assertEquals(t.server.context.admission.total(), 0, "no connection was admitted");
});

Deno.test("review13: a stalled reader asking for HISTORY 100 times in one turn is cut near the ceiling, not after the whole turn's replies", async () => {
  const max = 64 * 1024;
  await using t = await startTestServer({ maxOutbound: max, replay: 50, ratePerSecond: 0 });
  const talker = recordingMember(t, "talker");
  for (let i = 0; i < 50; i++) talker.conn.text(`MSG ${i} ${"x".repeat(2000)}`); // 50 lines of 2 KB: 100 KB a replay
  await new Promise((r) => setTimeout(r, 20));
  const asker = recordingMember(t, "asker", true);
  await new Promise((r) => setTimeout(r, 20));
  for (let i = 0; i < 100; i++) asker.conn.text("HISTORY"); // one read: 10 MB of replies asked for
  await new Promise((r) => setTimeout(r, 50));
  assertEquals(asker.state.closed, 1008, "cut as a slow consumer");
  const bound = max * OUTBOUND_CEILING_FACTOR + 4 * max;
  assertOk(asker.state.peak <= bound, `held ${asker.state.peak} bytes unsent, more than ${bound}`);
  talker.conn.ended();
  asker.conn.ended();
});

Deno.test("review13: a replay larger than --max-outbound, written in several flushes, is still not charged", async () => {
  const max = 64 * 1024;
  await using t = await startTestServer({ maxOutbound: max, replay: 50, ratePerSecond: 0 });
  const talker = recordingMember(t, "talker");
  for (let i = 0; i < 50; i++) talker.conn.text(`MSG ${i} ${"😀".repeat(2000)}`); // 50 lines of 8 KB: 400 KB
  await new Promise((r) => setTimeout(r, 20));
  const joiner = recordingMember(t, "joiner", true); // never reads
  await new Promise((r) => setTimeout(r, SLOW_CONSUMER_GRACE_MS + 500));
  assertOk(joiner.state.peak > 6 * max, `the replay was written (${joiner.state.peak} bytes)`);
  assertEquals(joiner.state.closed, undefined, "a replay draining is not charged");
  talker.conn.ended();
  joiner.conn.ended();
});
