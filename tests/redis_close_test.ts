/**
 * Issue 17 finding 7: in Redis mode, complete lines that arrive just before
 * the client's FIN are applied (the join, then every message), and only then
 * does the member leave. A real redis-server, a real TCP client.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { connectTcp } from "./line_client.ts";
import { startRedis } from "./redis_helpers.ts";

/** Connections tried; the finding saw 0 of 15 delivered. */
const REPETITIONS = 15;

Deno.test("redis mode: NICK, three MSG and FIN over TCP are all applied, then one leave (15 of 15)", async () => {
  await using redis = await startRedis();
  await using t = await startTestServer({ redis: redis.url, tcpPort: 0 });
  await using watcher = await join(t.url, "watcher");
  for (let i = 0; i < REPETITIONS; i++) {
    const nick = `fin${i}`;
    await using c = await connectTcp(t.server.tcpAddr!.port);
    // Everything in one go, FIN right behind it: nothing waits for the server's answers.
    c.send(`NICK ${nick}`);
    for (const text of ["one", "two", "three"]) c.send(`MSG ${text}`);
    await c.finish();
    await watcher.expect(`SYS ${nick} joined the chat!`);
    for (const text of ["one", "two", "three"]) {
      assertMatch(await watcher.next(), new RegExp(`^MSG \\[[^\\]]+\\] ${nick}: ${text}$`));
    }
    assertEquals(await watcher.next(), `SYS ${nick} left the chat!`);
    await c.closed;
  }
});
