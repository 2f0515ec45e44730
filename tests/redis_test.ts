/**
 * Scale-out integration tests: several Wirechat nodes share one room through
 * a real redis-server (started per test on a free loopback port).
 */
import type { MessageStore } from "../server/core/history.ts";
import { createRedisBus } from "../server/redis/bus.ts";
import { REDIS_BACK_NOTICE, REDIS_LOST_NOTICE } from "../server/redis/setup.ts";
import { connect, join, startTestServer, type TestClient } from "./helpers.ts";
import { dumpRedis, type NodeProcess, spawnNode, startRedis, type TestRedis, within } from "./redis_helpers.ts";
import { capabilitySubprotocols } from "../protocol/mod.ts";

/** Short heartbeat TTL so dead nodes are detected quickly in tests. */
const TTL_MS = 1500;

function assertEquals<T>(actual: T, expected: T, what = "value") {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

/** Consumes lines until `n` MSG lines were seen; returns them. */
async function msgs(c: TestClient, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const line = await c.next();
    if (line.startsWith("MSG ")) out.push(line);
  }
  return out;
}

/**
 * Lets wall-clock time pass on purpose: used only where the test proves that a
 * time-based expiry did NOT cause an event, which cannot be awaited.
 */
function elapse(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn`; a failure carries the subprocess node's log. */
async function withNodeLog<T>(node: NodeProcess, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- node log ---\n${node.log()}`);
  }
}

/** Two nodes on `redis`, alice joined on the first and bob on the second (alice has seen bob join). */
async function twoNodes(redis: TestRedis) {
  const shared = { redis: redis.url, redisNodeTtl: TTL_MS };
  const a = await startTestServer(shared);
  const b = await startTestServer(shared);
  // Both show typing notices and the copies of their own PMs.
  const alice = await join(a.url, "alice", capabilitySubprotocols(["pm", "typing"]));
  const bob = await join(b.url, "bob", capabilitySubprotocols(["pm", "typing"]));
  await alice.until("SYS bob joined the chat!");
  return {
    shared,
    a,
    b,
    alice,
    bob,
    async [Symbol.asyncDispose]() {
      for (const d of [alice, bob, a, b]) await d[Symbol.asyncDispose]();
    },
  };
}

async function messageLog(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith("-messages.txt")) continue;
    lines.push(...(await Deno.readTextFile(`${dir}/${e.name}`)).split("\n").filter((l) => l));
  }
  return lines;
}

async function metric(port: number, name: string): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  return text.split("\n").find((l) => l.startsWith(`${name} `))?.slice(name.length + 1);
}

Deno.test("two nodes share one room: one order, WHO, PM, TYPING, nick collision, log rule", async () => {
  await using redis = await startRedis();
  const shared = { redis: redis.url, redisNodeTtl: TTL_MS };
  await using a = await startTestServer(shared);
  await using b = await startTestServer(shared);
  if (await metric(a.port, "wirechat_redis_up") !== "1") throw new Error("redis gauge should be 1");

  // alice shows typing notices and the copy of her own PMs.
  await using alice = await join(a.url, "alice", capabilitySubprotocols(["pm", "typing"]));
  await using bob = await join(b.url, "bob");
  await alice.expect("SYS bob joined the chat!");

  // The nick is held across nodes, case-insensitively and atomically.
  await using dup = await connect(b.url);
  await dup.until("SYS Send: NICK <name>");
  dup.send("NICK ALICE");
  await dup.expect("ERR Nickname already in use");
  assertEquals((await dup.closed).code, 1000, "close code");

  // Interleaved senders on two nodes: every member sees the same order.
  for (let i = 0; i < 5; i++) {
    alice.send(`MSG a${i}`);
    bob.send(`MSG b${i}`);
  }
  const seenByAlice = await msgs(alice, 10);
  const seenByBob = await msgs(bob, 10);
  assertEquals(seenByBob, seenByAlice, "order on both nodes");
  assertEquals(seenByAlice.filter((l) => l.endsWith(": a3")).length, 1, "each message once");

  alice.send("WHO");
  await alice.expect("SYS Online (2): alice, bob");
  bob.send("WHO a*");
  await bob.expect("SYS Online (1): alice");

  alice.send("PM BOB psst");
  await bob.expect(/^PM \[[^\]]+\] alice -> bob: psst$/);
  await alice.expect(/^PM \[[^\]]+\] alice -> bob: psst$/);
  alice.send("PM nobody hi");
  await alice.expect("ERR No such user: nobody");

  bob.send("TYPING");
  await alice.expect("TYPING bob");

  // Rename across nodes: the old nick is free again, the new one is held.
  bob.send("NICK robert");
  await alice.expect("SYS bob is now known as robert");
  await bob.expect("SYS bob is now known as robert");
  alice.send("WHO");
  await alice.expect("SYS Online (2): alice, robert");
  await using newBob = await join(a.url, "Bob"); // the old nick is free on every node
  await bob.until("SYS Bob joined the chat!");
  await newBob.close();
  await bob.until("SYS Bob left the chat!");
  await alice.until("SYS Bob left the chat!");

  // PM and TYPING never enter the history; each node logs every message it delivered.
  await using late = await join(a.url, "late");
  const replay = await late.until(/^SYS Replay start/);
  assertEquals(replay, "SYS Replay start (10 messages)", "replay header");
  assertEquals(await msgs(late, 10), seenByAlice, "replay is the shared order");
  await late.expect("SYS Replay end");
  const strip = (l: string) => l.slice(4);
  assertEquals(await messageLog(a.logDir), seenByAlice.map(strip), "node A log");
  assertEquals(await messageLog(b.logDir), seenByAlice.map(strip), "node B log");
});

Deno.test("replay survives a node restart; leave notices cross nodes once", async () => {
  await using redis = await startRedis();
  const shared = { redis: redis.url, redisNodeTtl: TTL_MS };
  await using b = await startTestServer(shared);
  await using bob = await join(b.url, "bob");
  const first = await startTestServer(shared);
  const sent: string[] = [];
  try {
    await using alice = await join(first.url, "alice");
    await bob.expect("SYS alice joined the chat!");
    for (const text of ["one", "two", "three"]) {
      alice.send(`MSG ${text}`);
      sent.push(await alice.until(/^MSG /));
    }
  } finally {
    await first.server.shutdown();
  }
  assertEquals(await msgs(bob, 3), sent, "bob saw alice's messages");
  await bob.expect("SYS alice left the chat!");

  await using again = await startTestServer(shared);
  await using carol = await join(again.url, "carol");
  await carol.expect("SYS Replay start (3 messages)");
  assertEquals(await msgs(carol, 3), sent, "replay from Redis after the restart");
  await carol.expect("SYS Replay end");
  await bob.expect("SYS carol joined the chat!");
  bob.send("WHO");
  await bob.expect("SYS Online (2): bob, carol");

  // The replay bound is per node, at its edge: a node with --replay 2 replays the newest two.
  await using small = await startTestServer({ ...shared, replay: 2 });
  await using erin = await join(small.url, "erin");
  await erin.expect("SYS Replay start (2 messages)");
  assertEquals(await msgs(erin, 2), sent.slice(1), "the newest two");
  await erin.expect("SYS Replay end");
  await bob.expect("SYS erin joined the chat!");
  if (bob.lines.filter((l) => l === "SYS alice left the chat!").length !== 1) throw new Error("one leave notice");
});

Deno.test("a node killed with kill -9: its members leave within the bound, their nicks are freed", async () => {
  await using redis = await startRedis();
  await using b = await startTestServer({ redis: redis.url, redisNodeTtl: TTL_MS });
  await using bob = await join(b.url, "bob");
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-node-" });
  try {
    await using node = await spawnNode(["--redis", redis.url, "--redis-node-ttl", String(TTL_MS), "--log-dir", logDir]);
    await withNodeLog(node, async () => {
      const dave = await join(node.url, "dave");
      await bob.expect("SYS dave joined the chat!");
      dave.send("MSG from the doomed node");
      await bob.expect(/^MSG \[[^\]]+\] dave: from the doomed node$/);

      const killedAt = Date.now();
      await node.kill();
      await dave.closed;
      // Detection: the TTL plus one heartbeat period, plus the survivor's own start-up grace.
      const bound = TTL_MS + TTL_MS / 3 + 3000;
      await bob.expect("SYS dave left the chat!", bound);
      const took = Date.now() - killedAt;
      if (took < TTL_MS / 2) throw new Error(`leave came before the heartbeat could expire (${took} ms)`);

      bob.send("WHO");
      await bob.expect("SYS Online (1): bob");
      await using dave2 = await join(b.url, "dave");
      await bob.expect("SYS dave joined the chat!");
      await dave2.expect("SYS Replay start (1 messages)");
      if (bob.lines.filter((l) => l === "SYS dave left the chat!").length !== 1) throw new Error("one leave notice");
    });
  } finally {
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("Redis stops and restarts: clear notices, refusals, recovery, nothing acknowledged lost", async () => {
  await using redis = await startRedis();
  await using nodes = await twoNodes(redis);
  const { a, b, alice, bob } = nodes;
  const carl = await join(b.url, "carl");
  await alice.until("SYS carl joined the chat!");
  alice.send("MSG before");
  const before = await alice.until(/^MSG /);
  await bob.until(before);

  await redis.stop();
  await alice.until(`SYS ${REDIS_LOST_NOTICE}`);
  await bob.until(`SYS ${REDIS_LOST_NOTICE}`);
  assertEquals(await metric(a.port, "wirechat_redis_up"), "0", "gauge while down");
  alice.send("MSG during");
  await alice.expect(/^ERR Service unavailable: .+/);
  bob.send("WHO");
  await bob.expect(/^ERR Service unavailable: .+/);
  await using newcomer = await connect(a.url);
  await newcomer.until("SYS Send: NICK <name>");
  newcomer.send("NICK newbie");
  await newcomer.expect(/^ERR Service unavailable: .+/);
  assertEquals((await newcomer.closed).code, 1000, "refused join closes");
  await carl.close(); // leaves while Redis is down: announced once it is back
  // Stay down longer than the heartbeat TTL: every node's heartbeat expires inside Redis.
  await elapse(TTL_MS + 200);

  await redis.start();
  await alice.until(`SYS ${REDIS_BACK_NOTICE}`);
  await bob.until(`SYS ${REDIS_BACK_NOTICE}`);
  assertEquals(await metric(a.port, "wirechat_redis_up"), "1", "gauge after recovery");
  await alice.expect("SYS carl left the chat!");
  alice.send("MSG after");
  const after = await alice.until(/^MSG /);
  await bob.until(after);

  await using dora = await join(b.url, "dora");
  await dora.expect("SYS Replay start (2 messages)");
  assertEquals(await msgs(dora, 2), [before, after], "history kept across the Redis restart");
  alice.send("WHO");
  await alice.until("SYS Online (3): alice, bob, dora");
  if (alice.lines.some((l) => l.includes(": during"))) throw new Error("a refused message was broadcast");

  // The nodes beat again on reconnecting, so after the reap grace has passed nobody reaped anybody.
  await elapse(TTL_MS + 2 * 500 + TTL_MS / 3 + 500);
  alice.send("WHO");
  await alice.until("SYS Online (3): alice, bob, dora");
  const spurious = [...alice.lines, ...bob.lines].filter((l) => /^SYS (alice|bob|dora) left/.test(l));
  assertEquals(spurious, [], "no live member announced as gone after the outage");
  assertEquals(alice.lines.filter((l) => l === "SYS carl left the chat!").length, 1, "carl left once");
});

Deno.test("a node frozen longer than the TTL is declared dead; on resuming its members are removed and may rejoin", async () => {
  await using redis = await startRedis();
  await using b = await startTestServer({ redis: redis.url, redisNodeTtl: TTL_MS });
  await using bob = await join(b.url, "bob");
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-node-" });
  try {
    await using node = await spawnNode(["--redis", redis.url, "--redis-node-ttl", String(TTL_MS), "--log-dir", logDir]);
    await withNodeLog(node, async () => {
      await using dave = await join(node.url, "dave");
      await bob.expect("SYS dave joined the chat!");
      dave.send("PING settled"); // answered once the join command has completed on the node
      await dave.until("PONG settled");

      node.proc.kill("SIGSTOP");
      try {
        await bob.expect("SYS dave left the chat!", TTL_MS + TTL_MS / 3 + 3000);
      } finally {
        node.proc.kill("SIGCONT");
      }
      await dave.until("SYS You were removed from the room (this server lost contact with it)");
      assertEquals((await dave.closed).code, 1013, "close code of a removed member");

      await using again = await join(node.url, "dave");
      await bob.expect("SYS dave joined the chat!");
      again.send("MSG back");
      await bob.expect(/^MSG \[[^\]]+\] dave: back$/);
      bob.send("WHO");
      await bob.expect("SYS Online (2): bob, dave");
      assertEquals(bob.lines.filter((l) => l === "SYS dave left the chat!").length, 1, "one leave notice");
    });
  } finally {
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a hung Redis (SIGSTOP): commands time out with ERR, the link is dropped and comes back", async () => {
  await using redis = await startRedis();
  const states: boolean[] = [];
  let changed = Promise.withResolvers<void>();
  const bus = createRedisBus({
    url: redis.url,
    nodeTtlMs: TTL_MS,
    idleTimeoutMs: 1000,
    commandTimeoutMs: 500,
    onLinkChange(up) {
      states.push(up);
      changed.resolve();
    },
  });
  await using server = await startTestServer({}, { bus });
  await using alice = await join(server.url, "alice");

  redis.signal("SIGSTOP");
  try {
    alice.send("MSG while hung");
    await alice.expect(/^ERR Service unavailable: .+/);
    await within(changed.promise, 5000, "the link to be declared down");
    assertEquals(states, [false], "link declared down by the idle timeout");
    changed = Promise.withResolvers<void>();
  } finally {
    redis.signal("SIGCONT");
  }
  await within(changed.promise, 5000, "the link to come back");
  assertEquals(states, [false, true], "link back after the resume");
  alice.send("MSG after");
  await alice.until(/^MSG \[[^\]]+\] alice: after$/);
});

Deno.test("two nodes (two processes) sharing one log folder write each message once, in the room's order", async () => {
  await using redis = await startRedis();
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-shared-log-" });
  try {
    const shared = { redis: redis.url, redisNodeTtl: TTL_MS, logDir };
    await using node = await spawnNode(["--redis", redis.url, "--redis-node-ttl", String(TTL_MS), "--log-dir", logDir]);
    await withNodeLog(node, async () => {
      await using b = await startTestServer(shared);
      await using alice = await join(node.url, "alice");
      await using bob = await join(b.url, "bob");
      await alice.until("SYS bob joined the chat!");
      for (let i = 0; i < 5; i++) {
        alice.send(`MSG a${i}`);
        bob.send(`MSG b${i}`);
      }
      const seen = await msgs(alice, 10);
      assertEquals(await msgs(bob, 10), seen, "one order");
      // Both nodes have written (or skipped) every message before their members got it.
      assertEquals(await messageLog(logDir), seen.map((l) => l.slice(4)), "every message exactly once, in order");
    });
  } finally {
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("a message delivered by a node is in that node's log although its sender's node never wrote it", async () => {
  await using redis = await startRedis();
  const shared = { redis: redis.url, redisNodeTtl: TTL_MS };
  // The sending node's log write never happens (a node frozen, or dead, before writing).
  const blocked: MessageStore = { load: () => [], append: () => {}, flush: () => {}, close: () => {} };
  await using a = await startTestServer(shared, { store: blocked });
  await using b = await startTestServer(shared);
  await using alice = await join(a.url, "alice");
  await using bob = await join(b.url, "bob");
  await alice.until("SYS bob joined the chat!");
  for (const text of ["first", "second"]) {
    alice.send(`MSG ${text}`);
    const line = await bob.until(/^MSG /);
    // At the moment bob has the line, bob's node has already written it.
    const logged = await messageLog(b.logDir);
    if (!logged.includes(line.slice(4))) throw new Error(`${line} was delivered but is in no log: ${logged}`);
  }
});

Deno.test("different --redis-prefix values are different rooms on one Redis", async () => {
  await using redis = await startRedis();
  await using one = await startTestServer({ redis: redis.url, redisNodeTtl: TTL_MS, redisPrefix: "one:" });
  await using two = await startTestServer({ redis: redis.url, redisNodeTtl: TTL_MS, redisPrefix: "two:" });
  await using alice = await join(one.url, "alice");
  await using alice2 = await join(two.url, "alice"); // the same nick, another room
  alice.send("MSG only in one");
  await alice.until(/: only in one$/);
  alice2.send("WHO");
  await alice2.expect("SYS Online (1): alice");
  if (alice2.lines.some((l) => l.includes("only in one"))) throw new Error("a message crossed rooms");
});

Deno.test("bench:scaleout runs tiny: one node, one node + Redis, two nodes; every delivery once", async () => {
  const tool = new URL("../tools/bench_scaleout.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", tool, "--clients=4", "--senders=2", "--duration=0.5", "--warmup=0.1", "--json"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  assertEquals(out.code, 0, dec.decode(out.stderr));
  const rows = JSON.parse(dec.decode(out.stdout)) as {
    name: string;
    result: { target: string[]; clients: { joined: number }; missing: number; duplicated: number; errors: number };
  }[];
  assertEquals(rows.map((r) => r.name), ["one node", "one node + Redis", "two nodes + Redis"]);
  assertEquals(rows.map((r) => r.result.target.length), [1, 1, 2], "nodes per configuration");
  for (const { name, result } of rows) {
    assertEquals([result.clients.joined, result.missing, result.duplicated, result.errors], [4, 0, 0, 0], name);
  }
});

Deno.test("the reaper runs on a monotonic clock: with the wall clock stepped back an hour a dead node is still reaped", async () => {
  await using redis = await startRedis();
  await using b = await startTestServer({ redis: redis.url, redisNodeTtl: TTL_MS });
  await using bob = await join(b.url, "bob");
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-node-" });
  const realNow = Date.now;
  try {
    await using node = await spawnNode(["--redis", redis.url, "--redis-node-ttl", String(TTL_MS), "--log-dir", logDir]);
    await withNodeLog(node, async () => {
      const dave = await join(node.url, "dave");
      await bob.expect("SYS dave joined the chat!");
      // An NTP step back by an hour in the surviving node's process (B runs in this process).
      Date.now = () => realNow() - 3_600_000;
      await node.kill();
      await dave.closed;
      // The TTL plus one heartbeat period, plus a generous margin for a busy machine.
      await bob.expect("SYS dave left the chat!", TTL_MS + TTL_MS / 3 + 3000);
      bob.send("WHO");
      await bob.expect("SYS Online (1): bob");
      await using _dave2 = await join(b.url, "dave"); // the nick was freed
      await bob.expect("SYS dave joined the chat!");
    });
  } finally {
    Date.now = realNow;
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("PMs and typing notices cross nodes through a channel that keeps nothing: no stream or key holds them", async () => {
  await using redis = await startRedis();
  await using nodes = await twoNodes(redis);
  const { alice, bob } = nodes;
  alice.send("PM bob private-words-7f3a");
  await bob.until(/^PM \[[^\]]+\] alice -> bob: private-words-7f3a$/);
  await alice.until(/^PM \[[^\]]+\] alice -> bob: private-words-7f3a$/);
  bob.send("PM alice answer-words-9c1e");
  await alice.until(/^PM \[[^\]]+\] bob -> alice: answer-words-9c1e$/);
  bob.send("TYPING");
  await alice.until("TYPING bob");
  alice.send("MSG public-words-2b8d");
  await bob.until(/: public-words-2b8d$/);

  const stored = await dumpRedis(redis);
  const all = [...stored].map(([k, v]) => `${k}\n${v}`).join("\n");
  if (!all.includes("public-words-2b8d")) throw new Error(`the public message should be stored:\n${all}`);
  for (const secret of ["private-words-7f3a", "answer-words-9c1e", '"pm"', '"typing"']) {
    if (all.includes(secret)) throw new Error(`Redis holds ${secret}:\n${all}`);
  }
});
