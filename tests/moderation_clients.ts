/**
 * Helpers of the moderation tests: an operator client, waits for lines in
 * any order, a check that nothing else arrived, and a refused join.
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
