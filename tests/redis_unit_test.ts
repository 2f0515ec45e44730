/**
 * Scale-out pieces that need no Redis server: stream id order, the
 * configuration rows, URL redaction, and a bus that cannot reach Redis.
 */
import { parseServerArgs, UsageError } from "../server/ops/config.ts";
import { createRedisBus } from "../server/redis/bus.ts";
import { redact } from "../server/redis/link.ts";
import { DEFAULT_REDIS_NODE_TTL_MS } from "../server/redis/presence.ts";
import { compareStreamIds } from "../server/redis/reader.ts";
import { freePort } from "./redis_helpers.ts";

function assertEquals<T>(actual: T, expected: T, what = "value") {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

Deno.test("stream ids compare by time, then sequence, beyond 2^53", () => {
  assertEquals(compareStreamIds("1-0", "1-0"), 0);
  assertEquals(compareStreamIds("1-1", "1-0"), 1);
  assertEquals(compareStreamIds("1-9", "2-0"), -1);
  assertEquals(compareStreamIds("10-0", "9-99"), 1, "numeric, not lexical");
  assertEquals(compareStreamIds("9007199254740993-0", "9007199254740992-0"), 1, "no float rounding");
  assertEquals(compareStreamIds("0-0", "1795320525533-0"), -1);
});

Deno.test("--redis and --redis-node-ttl: off by default, env, edges", () => {
  const noEnv = () => undefined;
  const run = (args: string[], env: (n: string) => string | undefined = noEnv) => {
    const parsed = parseServerArgs(args, env);
    if (parsed.kind !== "run") throw new Error("expected a run");
    return parsed.config;
  };
  assertEquals(run([]).redis, undefined, "Redis is off unless given");
  assertEquals(run([]).redisNodeTtl, DEFAULT_REDIS_NODE_TTL_MS);
  assertEquals(run([]).redisPrefix, "wirechat:");
  assertEquals(run(["--redis-prefix", "room2:"]).redisPrefix, "room2:");
  assertEquals(run(["--redis", "redis://127.0.0.1:6379"]).redis, "redis://127.0.0.1:6379");
  const env = (n: string) => ({ WIRECHAT_REDIS: "redis://10.0.0.1:6380", WIRECHAT_REDIS_NODE_TTL: "5000" })[n];
  assertEquals(run([], env).redis, "redis://10.0.0.1:6380", "from the environment");
  assertEquals(run([], env).redisNodeTtl, 5000);
  assertEquals(run(["--redis-node-ttl", "300"]).redisNodeTtl, 300);
  assertEquals(run(["--redis-node-ttl", "600000"]).redisNodeTtl, 600000);
  for (const bad of ["299", "600001", "1.5", "soon"]) {
    let threw = false;
    try {
      run(["--redis-node-ttl", bad]);
    } catch (err) {
      threw = err instanceof UsageError;
    }
    if (!threw) throw new Error(`--redis-node-ttl ${bad} should be a usage error`);
  }
});

Deno.test("redact hides a Redis password in logs", () => {
  assertEquals(redact("redis://user:s3cret@127.0.0.1:6379/0"), "redis://user:***@127.0.0.1:6379/0");
  assertEquals(redact("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
});

Deno.test("a bus that cannot reach Redis refuses to start with one clear error and leaks nothing", async () => {
  const url = `redis://127.0.0.1:${freePort()}`; // nothing listens there
  const bus = createRedisBus({ url, startTimeoutMs: 300 });
  let message = "";
  try {
    await bus.start(() => {}, 10);
  } catch (err) {
    message = err instanceof Error ? err.message : String(err);
  }
  assertEquals(
    message,
    `cannot reach Redis for --redis ${url} (no answer within 300 ms); check that redis-server runs there and accepts connections, or correct --redis.`,
  );
  assertEquals(bus.up, false);
  await bus.close();
});
