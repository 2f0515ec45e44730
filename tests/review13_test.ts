/**
 * Findings of an outside review of issue 13 (RFC 6455 on the server side,
 * control frames in order with data), each a raw-socket test against a real
 * server.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { encodeFrame, Op, rawJoin } from "./raw_ws.ts";

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
