/**
 * The connection core's one slow-consumer rule at its edges, with a fake
 * wire over a real server's context: unsent bytes above `--max-outbound` are
 * tolerated for SLOW_CONSUMER_GRACE_MS and cut after it; OUTBOUND_CEILING_FACTOR
 * times the bound is cut at once; a reader that drains in time is never cut;
 * a replay draining is not charged.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer, type TestServer, waitUntil } from "./helpers.ts";
import { type ConnectionCore, OUTBOUND_CEILING_FACTOR, SLOW_CONSUMER_GRACE_MS } from "../server/core/connection.ts";
import { joinOnWire } from "./fake_peer.ts";

const MAX = 64 * 1024;

/** A joined member on a fake wire: what is written stays unsent until the test drains it (sets `unsent`). */
function fakeMember(t: TestServer, nick: string) {
  const state = { unsent: 0, written: 0, closed: undefined as number | undefined };
  const conn: ConnectionCore = joinOnWire(t.server.context, nick, {
    encode: (texts) => new TextEncoder().encode(texts.join("\n")),
    write(bytes) {
      state.written += bytes.length;
      state.unsent += bytes.length;
    },
    unsent: () => state.unsent,
  }, (code) => void (state.closed = code));
  return { conn, state };
}

Deno.test("core: above --max-outbound for the grace is a slow consumer; below it again in time is not", async () => {
  await using t = await startTestServer({ maxOutbound: MAX, replay: 0 });
  await using talker = await join(t.url, "talker");
  const slow = fakeMember(t, "slow");
  const reader = fakeMember(t, "reader");
  await talker.until("SYS reader joined the chat!");
  slow.state.unsent = reader.state.unsent = MAX + 1; // both fall behind
  const started = performance.now();
  talker.send("MSG burst");
  await talker.until(/talker: burst$/);
  assertEquals([slow.state.closed, reader.state.closed], [undefined, undefined], "not cut for one turn");
  reader.state.unsent = 0; // the reader drains before the grace ends
  await waitUntil("the slow one to be cut", () => slow.state.closed !== undefined, SLOW_CONSUMER_GRACE_MS + 3000);
  const after = performance.now() - started;
  assertEquals(slow.state.closed, 1008);
  assertOk(after >= SLOW_CONSUMER_GRACE_MS - 50, `cut after ${after} ms, before the grace`);
  await talker.until("SYS slow left the chat!");
  assertEquals(reader.state.closed, undefined, "the reader that drained stays");
  assertEquals(t.server.metrics.value("wirechat_slow_consumer_disconnects_total"), 1);
  slow.conn.ended();
  reader.conn.ended();
});

Deno.test("core: more than OUTBOUND_CEILING_FACTOR times --max-outbound unsent is cut at once; just under it is not", async () => {
  await using t = await startTestServer({ maxOutbound: MAX, replay: 0 });
  await using talker = await join(t.url, "talker");
  const edge = fakeMember(t, "edge");
  const over = fakeMember(t, "over");
  await talker.until("SYS over joined the chat!");
  edge.state.unsent = MAX * OUTBOUND_CEILING_FACTOR - 200; // the line below adds less than 200 bytes
  over.state.unsent = MAX * OUTBOUND_CEILING_FACTOR + 1;
  talker.send("MSG flood");
  await talker.until("SYS over left the chat!");
  assertEquals([edge.state.closed, over.state.closed], [undefined, 1008]);
  edge.conn.ended();
  over.conn.ended();
});

Deno.test("core: a replay draining is not charged, even past the ceiling; live lines after it are", async () => {
  const max = 4096; // ceiling 64 KiB, below the ~100 KB replay
  await using t = await startTestServer({ maxOutbound: max, replay: 50 });
  await using talker = await join(t.url, "talker");
  const long = "r".repeat(2000);
  for (let i = 0; i < 50; i++) talker.send(`MSG ${i} ${long}`);
  await talker.until(/talker: 49 r+$/);
  const joiner = fakeMember(t, "joiner");
  await waitUntil("the replay to be written", () => joiner.state.written > 50 * 2000);
  // None of it taken yet: its unsent bytes are the whole replay, past the ceiling.
  assertOk(joiner.state.unsent > max * OUTBOUND_CEILING_FACTOR);
  talker.send("MSG after");
  await talker.until(/talker: after$/);
  talker.send("PING p"); // one more turn: the joiner's flush of "after" has run
  await talker.until("PONG p");
  assertEquals(joiner.state.closed, undefined, "the replay is not charged");
  // Live lines beyond the ceiling on top of the replay are charged: cut at once.
  joiner.state.unsent += max * OUTBOUND_CEILING_FACTOR + 1;
  talker.send("MSG live");
  await talker.until("SYS joiner left the chat!");
  assertEquals(joiner.state.closed, 1008);
  joiner.conn.ended();
});
