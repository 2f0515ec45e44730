/**
 * Redis loses the room's data (FLUSHALL, a restart without persistence)
 * while members are connected: every node restores its members and their
 * nicks, lines are accepted again, no nick is ever held twice, replay is the
 * same everywhere, and the notices say what happened. One redis-server
 * (without persistence) serves every step.
 */
import type { RoomEvent } from "../server/core/bus.ts";
import { createRedisLink } from "../server/redis/link.ts";
import { startStreamReader } from "../server/redis/reader.ts";
import { nickKey } from "../protocol/mod.ts";
import { createRedisBus, nickVariants } from "../server/redis/bus.ts";
import {
  droppedNotice,
  REDIS_BACK_NOTICE,
  REDIS_LOST_NOTICE,
  REDIS_RESTORED_NOTICE,
  renamedNotice,
} from "../server/redis/setup.ts";
import { assertEquals } from "./assert.ts";
import { connect, join, startTestServer, type TestClient, type TestServer } from "./helpers.ts";
import { startRedis, type TestRedis, within } from "./redis_helpers.ts";

/** Short heartbeat TTL so the nodes check Redis often. */
const TTL_MS = 1500;

/** The replay a new member of `url` gets, as MSG lines. */
async function replayOf(url: string, nick: string): Promise<string[]> {
  await using c = await join(url, nick);
  await c.expect(/^SYS Replay start/);
  const out: string[] = [];
  for (let line = await c.next(); line !== "SYS Replay end"; line = await c.next()) out.push(line);
  return out;
}

/** A second `nick` is refused (while its holder is connected) and the refused socket is closed. */
async function refusedWhileHeld(url: string, nick: string) {
  await using dup = await connect(url);
  await dup.until("SYS Send: NICK <name>");
  dup.send(`NICK ${nick}`);
  await dup.expect(/^ERR (Nickname already in use|Service unavailable: .+)$/);
  await dup.closed;
}

/** Two nodes, alice on the first, bob and carol on the second, three messages seen by all. */
async function room(redis: TestRedis, prefix: string) {
  const shared = { redis: redis.url, redisNodeTtl: TTL_MS, redisPrefix: prefix };
  const a = await startTestServer(shared);
  const b = await startTestServer(shared);
  const alice = await join(a.url, "alice");
  const bob = await join(b.url, "bob");
  const carol = await join(b.url, "carol");
  await alice.until("SYS carol joined the chat!");
  const sent: string[] = [];
  for (const text of ["one", "two", "three"]) {
    alice.send(`MSG ${text}`);
    sent.push(await alice.until(/^MSG /));
  }
  await carol.until(sent[2]);
  return { shared, a, b, alice, bob, carol, sent };
}

/** Waits until the nodes' restoring window (new nicks refused) is over. */
async function restoringOver(redis: TestRedis, prefix: string) {
  const signal = AbortSignal.timeout(TTL_MS + 5000);
  while (await redis.cli(["EXISTS", `${prefix}restoring`]) !== "0") {
    if (signal.aborted) throw new Error("the restoring window did not end");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What must hold once both nodes restored: WHO, lines, nick uniqueness, one replay everywhere. */
async function assertRestored(
  redis: TestRedis,
  prefix: string,
  r: { shared: object; a: TestServer; b: TestServer; alice: TestClient; bob: TestClient; sent: string[] },
) {
  const { a, b, alice, bob } = r;
  for (const c of [alice, bob]) {
    c.send("WHO");
    await c.until("SYS Online (3): alice, bob, carol");
  }
  // The nick is held again in Redis, by alice's node: a second alice is refused on either node.
  const owner = JSON.parse(await redis.cli(["GET", `${prefix}nick:${nickKey("alice")}`])) as {
    node: string;
    id: number;
  };
  const held = await redis.cli(["HGET", `${prefix}members:${owner.node}`, String(owner.id)]);
  assertEquals(held, "alice", "alice's nick is held by the member alice");
  await refusedWhileHeld(b.url, "Alice");
  await refusedWhileHeld(a.url, "alice");
  await restoringOver(redis, prefix);
  await refusedWhileHeld(b.url, "ALICE");

  alice.send("MSG after");
  const after = await alice.until(/^MSG \[[^\]]+\] alice: after$/);
  await bob.until(after);
  bob.send("MSG reply");
  const reply = await bob.until(/^MSG \[[^\]]+\] bob: reply$/);
  await alice.until(reply);

  const expected = [...r.sent, after, reply];
  assertEquals(await replayOf(a.url, "late1"), expected, "replay on the first node");
  assertEquals(await replayOf(b.url, "late2"), expected, "replay on the second node");
  // A node started afterwards replays the history the first restoring node re-seeded: once.
  await using c = await startTestServer(r.shared);
  assertEquals(await replayOf(c.url, "late3"), expected, "replay on a node started after the loss");
  for (const line of [...alice.lines, ...bob.lines]) {
    if (line.startsWith("ERR")) throw new Error(`a member got ${line}`);
  }
}

/** Runs `fn` on a fresh {@linkcode room} under `prefix`, and closes it whatever happens. */
async function withRoom(
  redis: TestRedis,
  prefix: string,
  fn: (r: Awaited<ReturnType<typeof room>>) => Promise<void>,
) {
  const r = await room(redis, prefix);
  try {
    await fn(r);
  } finally {
    for (const c of [r.alice, r.bob, r.carol]) await c.close();
    for (const s of [r.a, r.b]) await s[Symbol.asyncDispose]();
  }
}

Deno.test("Redis loses its data: every node restores its members, nicks, lines and replay", async (t) => {
  await using redis = await startRedis({ persist: false });

  await t.step("FLUSHALL", async () => {
    const prefix = "flush:";
    await withRoom(redis, prefix, async (r) => {
      await redis.cli(["FLUSHALL"]);
      // Straight after the loss, before any node noticed: a second alice is still refused.
      await refusedWhileHeld(r.b.url, "alice");
      await r.alice.until(`SYS ${REDIS_RESTORED_NOTICE}`);
      await r.bob.until(`SYS ${REDIS_RESTORED_NOTICE}`);
      await assertRestored(redis, prefix, r);
      const wrong = [REDIS_LOST_NOTICE, REDIS_BACK_NOTICE].map((n) => `SYS ${n}`);
      assertEquals(r.alice.lines.filter((l) => wrong.includes(l)), [], "no link notices for a flush");
    });
  });

  await t.step("restart without persistence", async () => {
    const prefix = "restart:";
    await withRoom(redis, prefix, async (r) => {
      await redis.stop();
      await r.alice.until(`SYS ${REDIS_LOST_NOTICE}`);
      await r.bob.until(`SYS ${REDIS_LOST_NOTICE}`);
      await redis.start();
      await r.alice.until(`SYS ${REDIS_RESTORED_NOTICE}`);
      await r.bob.until(`SYS ${REDIS_RESTORED_NOTICE}`);
      await assertRestored(redis, prefix, r);
      const back = `SYS ${REDIS_BACK_NOTICE}`;
      assertEquals(r.alice.lines.filter((l) => l === back), [], "no plain 'reconnected' notice after a loss");
    });
  });

  await t.step("a nick taken meanwhile: its member is told and renamed, no nick held twice", async () => {
    const prefix = "taken:";
    await withRoom(redis, prefix, async (r) => {
      // In one step: the data is gone and someone else holds "alice".
      const other = JSON.stringify({ nick: "Alice", node: "elsewhere", id: 1 });
      await redis.cli([], `MULTI\nFLUSHALL\nSET ${prefix}nick:${nickKey("alice")} ${JSON.stringify(other)}\nEXEC\n`);
      await r.alice.until(`SYS ${renamedNotice("alice", "alice_2")}`);
      await r.alice.until("SYS alice is now known as alice_2");
      await r.bob.until("SYS alice is now known as alice_2");
      r.alice.send("MSG renamed");
      await r.bob.until(/^MSG \[[^\]]+\] alice_2: renamed$/);
      r.bob.send("WHO");
      await r.bob.until("SYS Online (3): alice_2, bob, carol");
      assertEquals(
        JSON.parse(await redis.cli(["GET", `${prefix}nick:${nickKey("alice")}`])).node,
        "elsewhere",
        "other owner kept",
      );
    });
  });

  await t.step("no free variant of a taken nick: its member is told and removed", async () => {
    const prefix = "full:";
    await withRoom(redis, prefix, async (r) => {
      const taken = ["alice", ...nickVariants("alice")].map((nick, i) =>
        `SET ${prefix}nick:${nickKey(nick)} ${JSON.stringify(JSON.stringify({ nick, node: "elsewhere", id: i }))}`
      );
      await redis.cli([], `MULTI\nFLUSHALL\n${taken.join("\n")}\nEXEC\n`);
      await r.alice.until(`SYS ${droppedNotice("alice")}`);
      assertEquals((await within(r.alice.closed, 5000, "alice's close")).code, 1013, "close code of a removed member");
      await r.bob.until("SYS alice left the chat!");
      r.bob.send("WHO");
      await r.bob.until("SYS Online (2): bob, carol");
    });
  });

  await t.step("what a node kept (bans) is kept again after the loss, with the time it has left", async () => {
    const bus = createRedisBus({ url: redis.url, nodeTtlMs: TTL_MS, prefix: "kept:" });
    try {
      await bus.start(() => {}, 0);
      await bus.keep("ban:mallory", "record", 60_000);
      await bus.keep("ban:gone", "record", 1);
      await redis.cli(["FLUSHALL"]);
      await bus.nicks(); // any command finds the loss and restores the node first
      const kept = await bus.kept();
      assertEquals(kept.map((k) => [k.name, k.value]), [["ban:mallory", "record"]], "kept again, expired ones not");
      if (!(kept[0].ttlMs > 50_000 && kept[0].ttlMs <= 60_000)) throw new Error(`time left ${kept[0].ttlMs} ms`);
    } finally {
      await bus.close();
    }
  });

  await t.step(
    "a reader moved to a recreated stream applies entries whose ids are below its old position",
    async () => {
      const link = createRedisLink({ url: redis.url });
      try {
        await link.ready(AbortSignal.timeout(5000));
        const seen: string[] = [];
        const apply = (ev: RoomEvent) => void seen.push(ev.kind === "typing" ? ev.nick : ev.kind);
        // The old stream's position is far ahead of any id the new stream will hand out.
        const reader = startStreamReader(link, "ids:old", "99999999999999-0", apply, 5000, "ids:wake");
        try {
          reader.switchTo("ids:new", "0-0");
          await link.call(["XADD", "ids:wake", "*", "w", 1]); // interrupts the blocked read at once
          const event = JSON.stringify({ kind: "typing", nick: "x", member: { node: "n", id: 1 } });
          const id = await link.call(["XADD", "ids:new", "*", "e", event]) as string;
          await reader.applied(id, 2000); // well under the 5 s block: the wake moved the read
          assertEquals(seen, ["x"], "applied from the new stream");
        } finally {
          const stopped = reader.stop();
          await link.close(); // interrupts the blocked read
          await stopped;
        }
      } finally {
        await link.close();
      }
    },
  );
});
