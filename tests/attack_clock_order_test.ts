/**
 * Issue 17, finding 10: the replay followed the wall clock, not the order of
 * acceptance (after a clock step: m5, m6, m1…m4, or "future" messages
 * instead of the latest). A real server with an injected wall clock, stepped
 * back and forward across restarts on one log folder: the replay after each
 * restart is in acceptance order, its timestamps never go backwards, and it
 * ends with the latest message.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer, type TestClient } from "./helpers.ts";
import { parseServerLine } from "../protocol/mod.ts";
import { createMessageClock } from "../server/core/message_clock.ts";
import { createLocalBus } from "../server/core/bus.ts";
import { createRoom } from "../server/core/room.ts";
import { fakePeer } from "./fake_peer.ts";

/** A wall clock the test sets. */
function wallClock(start: string) {
  let t = Date.parse(start);
  return { now: () => new Date(t), set: (iso: string) => void (t = Date.parse(iso)) };
}

async function say(c: TestClient, text: string) {
  c.send(`MSG ${text}`);
  await c.until(new RegExp(`^MSG \\[[^\\]]+\\] [^:]+: ${text}$`));
}

/** The replay a fresh joiner gets: [ts, text] pairs in the order received. */
async function replayOf(url: string): Promise<{ ts: string; text: string }[]> {
  await using c = await join(url, "reader");
  c.send("PING sync");
  const out: { ts: string; text: string }[] = [];
  for (let line = await c.next(); line !== "PONG sync"; line = await c.next()) {
    const ev = parseServerLine(line);
    if (ev.type === "msg") out.push({ ts: ev.ts, text: ev.text });
  }
  return out;
}

function assertNonDecreasing(replay: { ts: string }[]) {
  for (let i = 1; i < replay.length; i++) {
    assertOk(replay[i - 1].ts <= replay[i].ts, `timestamps go backwards: ${JSON.stringify(replay)}`);
  }
}

Deno.test("clock steps back and forward across restarts: the replay is in acceptance order and ends with the latest message", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-clock-" });
  try {
    const clock = wallClock("2026-11-20T23:59:00.000Z");
    {
      await using t = await startTestServer({ logDir }, { now: clock.now });
      await using a = await join(t.url, "alice");
      await say(a, "m1");
      await say(a, "m2");
      clock.set("2026-11-22T10:00:00.000Z"); // forward, into another day
      await say(a, "m3");
      clock.set("2026-11-21T00:00:30.000Z"); // back again (an NTP correction)
      await say(a, "m4");
      await say(a, "m5");
      assertEquals((await replayOf(t.url)).map((m) => m.text), ["m1", "m2", "m3", "m4", "m5"]);
    }
    clock.set("2026-11-19T12:00:00.000Z"); // restart with the clock further back
    {
      await using t = await startTestServer({ logDir }, { now: clock.now });
      const replay = await replayOf(t.url);
      assertEquals(replay.map((m) => m.text), ["m1", "m2", "m3", "m4", "m5"]);
      await using a = await join(t.url, "alice");
      await say(a, "m6");
      clock.set("2026-11-19T12:00:05.000Z");
      await say(a, "m7");
    }
    clock.set("2026-11-21T00:01:00.000Z"); // restart: a wall clock between the stamps
    {
      await using t = await startTestServer({ logDir }, { now: clock.now });
      const replay = await replayOf(t.url);
      assertEquals(replay.map((m) => m.text), ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
      assertNonDecreasing(replay);
    }
    {
      // A replay bound below the number of messages: loading returns the latest accepted ones.
      await using t = await startTestServer({ logDir, replay: 3 }, { now: clock.now });
      assertEquals((await replayOf(t.url)).map((m) => m.text), ["m5", "m6", "m7"]);
    }
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("message clock: stamps never go backwards, and observed stamps (history, other nodes) hold it forward", () => {
  const clock = wallClock("2026-11-22T10:00:00.000Z");
  const stamps = createMessageClock(clock.now);
  assertEquals(stamps.stamp().toISOString(), "2026-11-22T10:00:00.000Z");
  clock.set("2026-11-22T09:00:00.000Z");
  assertEquals(stamps.stamp().toISOString(), "2026-11-22T10:00:00.000Z");
  stamps.observe("2026-11-22T11:00:00.000Z");
  stamps.observe("not a time");
  stamps.observe("2026-11-01T00:00:00.000Z");
  assertEquals(stamps.stamp().toISOString(), "2026-11-22T11:00:00.000Z");
  clock.set("2026-11-22T12:00:00.000Z");
  assertEquals(stamps.stamp().toISOString(), "2026-11-22T12:00:00.000Z");
  assertEquals(stamps.last, Date.parse("2026-11-22T12:00:00.000Z"));
});

Deno.test("message clock: a clock passed to the room stamps its messages (shareable with a dialect)", () => {
  const wall = wallClock("2026-11-22T10:00:00.000Z");
  const shared = createMessageClock(wall.now);
  shared.observe("2026-11-22T11:00:00.000Z");
  const room = createRoom({ bus: createLocalBus(() => []), clock: shared });
  room.start();
  const peer = fakePeer();
  room.join(peer, "alice");
  room.say(peer, "hello");
  assertOk(peer.take().includes("MSG [2026-11-22T11:00:00.000Z] alice: hello"));
  assertEquals(shared.last, Date.parse("2026-11-22T11:00:00.000Z"));
});
