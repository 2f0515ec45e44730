/**
 * Moderation across nodes sharing one room through a real redis-server:
 * an operator on one node kicks and bans members of another, and a node
 * that starts later knows the bans made before it.
 */
import { assertEquals } from "./assert.ts";
import { connect, join, startTestServer, type TestClient } from "./helpers.ts";
import { startRedis } from "./redis_helpers.ts";

const TOKEN = "test-admin-token-0123456789";

/** Consumes lines until every one of `wanted` was seen, in any order. */
async function untilAll(c: TestClient, wanted: string[]) {
  const left = new Set(wanted);
  while (left.size > 0) left.delete(await c.next());
}

/** Proves nothing else reached `c` before the answer to a PING sent now. */
async function nothingBefore(c: TestClient, token: string) {
  c.send(`PING ${token}`);
  const seen: string[] = [];
  for (let line = await c.next(); line !== `PONG ${token}`; line = await c.next()) seen.push(line);
  assertEquals(seen, []);
}

async function refusedJoin(url: string, nick: string, err: string) {
  await using c = await connect(url);
  await c.until("SYS Send: NICK <name>");
  c.send(`NICK ${nick}`);
  await c.expect(err);
  assertEquals((await c.closed).code, 1000);
}

Deno.test("two Redis nodes: KICK of a member on the other node, one 'was kicked' line everywhere, no 'left' line", async () => {
  await using redis = await startRedis();
  const shared = { redis: redis.url, redisNodeTtl: 1500, adminToken: TOKEN };
  await using a = await startTestServer(shared);
  await using b = await startTestServer(shared);
  await using alice = await join(a.url, "alice");
  alice.send(`ADMIN ${TOKEN}`);
  await alice.expect("SYS Admin privileges granted");
  await using bob = await join(b.url, "bob");
  await using carol = await join(b.url, "carol");
  await using dave = await join(a.url, "dave");
  for (const c of [alice, bob, carol]) await c.until("SYS dave joined the chat!");
  alice.send("KICK nobody");
  await alice.expect("ERR User not found: nobody");
  alice.send("KICK Bob");
  await bob.until("SYS You were kicked by an admin");
  assertEquals(await bob.closed, { code: 4000, reason: "Kicked by admin" });
  for (const c of [alice, carol, dave]) {
    await c.expect("SYS bob was kicked by an admin");
    await nothingBefore(c, "after-kick");
  }
  // The nick was released on every node.
  await using _again = await join(a.url, "bob");
  await carol.expect("SYS bob joined the chat!");
});

Deno.test("two Redis nodes: BAN applies on every node, also on a node started after it; UNBAN lifts it everywhere", async () => {
  await using redis = await startRedis();
  // No exempt address: the test clients' 127.0.0.1 is banned with the nick.
  const shared = { redis: redis.url, redisNodeTtl: 1500, adminToken: TOKEN, limitExempt: "" };
  await using a = await startTestServer(shared);
  await using b = await startTestServer(shared);
  await using alice = await join(a.url, "alice");
  alice.send(`ADMIN ${TOKEN}`);
  await alice.expect("SYS Admin privileges granted");
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
  await using c = await startTestServer(shared);
  await refusedJoin(c.url, "bob", "ERR Banned: nickname bob, 10 minutes left");
  await refusedJoin(c.url, "eve", "ERR Banned: this address, 10 minutes left");
  alice.send("BANS");
  await alice.expect(/^SYS Bans \(1\): bob \(127\.0\.0\.1, 10 min left, by alice\)$/);

  alice.send("UNBAN bob");
  await alice.expect("SYS Unbanned bob");
  await using _back = await join(b.url, "bob");
  await carol.expect("SYS bob joined the chat!");
  await using late = await startTestServer(shared);
  await using _eve = await join(late.url, "eve");
});
