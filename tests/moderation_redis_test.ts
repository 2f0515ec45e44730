/**
 * Moderation across nodes sharing one room through a real redis-server:
 * an operator on one node kicks and bans members of another, and a node
 * that starts later knows the bans made before it.
 */
import type { ServerConfig } from "../server/ops/config.ts";
import { assertEquals } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { assertKick, joinAdmin, nothingBefore, refusedJoin, TOKEN, untilAll } from "./moderation_clients.ts";
import { startRedis } from "./redis_helpers.ts";

/** Redis, two nodes sharing it (with `extra` settings) and an operator "alice" on the first. */
async function twoNodesWithAdmin(extra: Partial<ServerConfig> = {}) {
  const redis = await startRedis();
  const shared = { redis: redis.url, redisNodeTtl: 1500, adminToken: TOKEN, ...extra };
  const a = await startTestServer(shared);
  const b = await startTestServer(shared);
  const alice = await joinAdmin(a.url, "alice");
  return {
    a,
    b,
    alice,
    /** Starts one more node on the same Redis. */
    another: () => startTestServer(shared),
    async [Symbol.asyncDispose]() {
      await alice.close();
      await b[Symbol.asyncDispose]();
      await a[Symbol.asyncDispose]();
      await redis[Symbol.asyncDispose]();
    },
  };
}

Deno.test("two Redis nodes: KICK of a member on the other node, one 'was kicked' line everywhere, no 'left' line", async () => {
  await using nodes = await twoNodesWithAdmin();
  const { a, b, alice } = nodes;
  await using bob = await join(b.url, "bob");
  await using carol = await join(b.url, "carol");
  await using dave = await join(a.url, "dave");
  for (const c of [alice, bob, carol]) await c.until("SYS dave joined the chat!");
  // The nick is released on every node: bob comes back on the other node.
  await assertKick(alice, bob, "bob", [alice, carol, dave], a.url, carol);
});

Deno.test("two Redis nodes: BAN applies on every node, also on a node started after it; UNBAN lifts it everywhere", async () => {
  // No exempt address: the test clients' 127.0.0.1 is banned with the nick.
  await using nodes = await twoNodesWithAdmin({ limitExempt: "" });
  const { a, b, alice } = nodes;
  await using bob = await join(b.url, "bob");
  await using carol = await join(b.url, "carol");
  await alice.until("SYS carol joined the chat!");
  alice.send("BAN bob 10");
  await untilAll(alice, ["SYS Banned bob for 10 minutes", "SYS bob was banned by an admin"]);
  await bob.until("SYS You were banned by an admin for 10 minutes");
  assertEquals(await bob.closed, { code: 4001, reason: "Banned by admin" });
  await carol.expect("SYS bob was banned by an admin");
  await nothingBefore(carol, "after-ban");
  for (const url of [a.url, b.url]) {
    await refusedJoin(url, "BOB", "ERR Banned: nickname bob, 10 minutes left");
    await refusedJoin(url, "eve", "ERR Banned: this address, 10 minutes left");
  }
  // A node that starts now learns the ban (with the address B added) from Redis.
  await using c = await nodes.another();
  await refusedJoin(c.url, "bob", "ERR Banned: nickname bob, 10 minutes left");
  await refusedJoin(c.url, "eve", "ERR Banned: this address, 10 minutes left");
  alice.send("BANS");
  await alice.expect(/^SYS Bans \(1\): bob \(127\.0\.0\.1, 10 min left, by alice\)$/);

  alice.send("UNBAN bob");
  await alice.expect("SYS Unbanned bob");
  await using _back = await join(b.url, "bob");
  await carol.expect("SYS bob joined the chat!");
  await using late = await nodes.another();
  await using _eve = await join(late.url, "eve");
});
