/**
 * Helpers of the moderation tests: an operator client, waits for lines in
 * any order, a check that nothing else arrived, a refused join, and the
 * kick every test of one or two nodes expects.
 *
 * @module
 */
import { assertEquals } from "./assert.ts";
import { connect, join, type TestClient } from "./helpers.ts";

/** The admin token the moderation tests give their servers. */
export const TOKEN = "test-admin-token-0123456789";

/** Joins `nick` and makes it an operator with {@linkcode TOKEN}. */
export async function joinAdmin(url: string, nick: string): Promise<TestClient> {
  const c = await join(url, nick);
  c.send(`ADMIN ${TOKEN}`);
  await c.until("SYS Admin privileges granted");
  return c;
}

/** Consumes lines until every one of `wanted` was seen, in any order. */
export async function untilAll(c: TestClient, wanted: string[]): Promise<void> {
  const left = new Set(wanted);
  while (left.size > 0) left.delete(await c.next());
}

/** Proves nothing else reached `c` before the answer to a PING sent now. */
export async function nothingBefore(c: TestClient, token: string): Promise<void> {
  c.send(`PING ${token}`);
  const seen: string[] = [];
  for (let line = await c.next(); line !== `PONG ${token}`; line = await c.next()) seen.push(line);
  assertEquals(seen, []);
}

/** A refused join of `nick`: the ERR line `err`, then close 1000. */
export async function refusedJoin(url: string, nick: string, err: string): Promise<void> {
  await using c = await connect(url);
  await c.until("SYS Send: NICK <name>");
  c.send(`NICK ${nick}`);
  await c.expect(err);
  assertEquals((await c.closed).code, 1000);
}

/**
 * The kick of `target` (joined as `nick`) by `admin`, one node or several: `KICK nobody` is refused; `KICK` with the
 * nick in upper case sends the target its notice and close 4000; every member in `others` (the admin among them) gets
 * exactly one "was kicked" line and nothing else (no "left" line); the nick is free again: a new `nick` at
 * `rejoinUrl` is announced to `watcher`.
 */
export async function assertKick(
  admin: TestClient,
  target: TestClient,
  nick: string,
  others: TestClient[],
  rejoinUrl: string,
  watcher: TestClient,
): Promise<void> {
  admin.send("KICK nobody");
  await admin.expect("ERR User not found: nobody");
  admin.send(`KICK ${nick.toUpperCase()}`);
  await target.until("SYS You were kicked by an admin");
  assertEquals(await target.closed, { code: 4000, reason: "Kicked by admin" });
  for (const c of others) {
    await c.expect(`SYS ${nick} was kicked by an admin`);
    await nothingBefore(c, "after-kick");
  }
  await using _again = await join(rejoinUrl, nick);
  await watcher.expect(`SYS ${nick} joined the chat!`);
}
