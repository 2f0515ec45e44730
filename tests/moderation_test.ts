/**
 * Moderation over real sockets (issue 15 items 3 and 5): ADMIN with and
 * without a token, failure limits, KICK and BAN of line, TCP, JSON and
 * RiftChat members, UNBAN and BANS, and the forbidden-words filter.
 */
import { ADMIN_FAILURES_PER_ADDRESS, ADMIN_FAILURES_PER_CONNECTION } from "../server/core/admin_auth.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { connectJsonWs, connectRift } from "./dialect_clients.ts";
import { join, startTestServer, waitUntil } from "./helpers.ts";
import { assertKick, joinAdmin, nothingBefore, refusedJoin, TOKEN, untilAll } from "./moderation_clients.ts";
import { connectTcp } from "./line_client.ts";
import { rawConnect, type RawSocket } from "./raw_ws.ts";
import { freePort, spawnNode } from "./redis_helpers.ts";

Deno.test("ADMIN without a token: the server runs and refuses ADMIN and the operator commands with a clear ERR", async () => {
  await using t = await startTestServer();
  await using alice = await join(t.url, "alice");
  alice.send(`ADMIN ${TOKEN}`);
  await alice.expect("ERR Admin commands are disabled on this server (no admin token is set)");
  alice.send("ADMIN");
  await alice.expect("ERR Expected: ADMIN <token>");
  for (const line of ["KICK bob", "BAN bob", "UNBAN bob", "BANS"]) {
    alice.send(line);
    await alice.expect("ERR Admin only command");
  }
  alice.send("MSG still here");
  await alice.expect(/^MSG \[[^\]]+\] alice: still here$/);
});

Deno.test("ADMIN: a wrong token is refused, the right one grants; after ADMIN_FAILURES_PER_CONNECTION failures even the right one is refused", async () => {
  await using t = await startTestServer({ adminToken: TOKEN });
  await using alice = await join(t.url, "alice");
  alice.send("KICK bob");
  await alice.expect("ERR Admin only command");
  for (let i = 0; i < ADMIN_FAILURES_PER_CONNECTION; i++) {
    alice.send(`ADMIN ${TOKEN.slice(0, -1)}`);
    await alice.expect("ERR Invalid admin token");
  }
  alice.send(`ADMIN ${TOKEN}`);
  await alice.expect("ERR Too many failed admin attempts, try again later");
  alice.send("HELP");
  const help = await alice.next();
  assertOk(help.includes("ADMIN <token>") && !help.includes("KICK"), help);
  await using bob = await join(t.url, "bob");
  bob.send(`admin  ${TOKEN} `);
  await bob.expect("SYS Admin privileges granted");
  bob.send("HELP");
  await bob.next();
  await bob.expect("SYS Operator commands: KICK <nick>, BAN <nick> [<minutes>], UNBAN <nick>, BANS");
});

Deno.test("ADMIN: ADMIN_FAILURES_PER_ADDRESS failures over many connections lock the address out", async () => {
  await using t = await startTestServer({ adminToken: TOKEN });
  let failures = 0;
  for (let n = 0; failures < ADMIN_FAILURES_PER_ADDRESS; n++) {
    await using c = await join(t.url, `guesser${n}`);
    for (let i = 0; i < ADMIN_FAILURES_PER_CONNECTION && failures < ADMIN_FAILURES_PER_ADDRESS; i++, failures++) {
      c.send(`ADMIN guess-${n}-${i}`);
      await c.expect("ERR Invalid admin token");
    }
  }
  await using late = await join(t.url, "late");
  late.send(`ADMIN ${TOKEN}`);
  await late.expect("ERR Too many failed admin attempts, try again later");
});

Deno.test("ADMIN: the token comes from --admin-token-file; failed attempts are logged without the attempt", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, `${TOKEN}\n`);
    await using node = await spawnNode(["--admin-token-file", `${dir}/token`, "--log-dir", dir]);
    await using alice = await join(node.url, "alice");
    alice.send("ADMIN not-the-token-guess");
    await alice.expect("ERR Invalid admin token");
    alice.send(`ADMIN ${TOKEN}`);
    await alice.expect("SYS Admin privileges granted");
    alice.send("QUIT");
    await alice.closed;
    // The quit is logged after the failure: once it is there, the whole exchange is.
    await waitUntil("the quit in the node's log", () => node.log().includes("alice quit"));
    const log = node.log();
    assertOk(/Failed ADMIN attempt by alice from 127\.0\.0\.1:\d+/.test(log), log);
    assertOk(!log.includes("not-the-token-guess") && !log.includes(TOKEN), "the log shows no token");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KICK: the target gets the notice and close 4000, the others one 'was kicked' line and no 'left' line", async () => {
  await using t = await startTestServer({ adminToken: TOKEN });
  await using alice = await joinAdmin(t.url, "alice");
  await using bob = await join(t.url, "bob");
  await using carol = await join(t.url, "carol");
  await alice.until("SYS carol joined the chat!");
  await bob.until("SYS carol joined the chat!");
  await using dave = await join(t.url, "dave");
  await alice.until("SYS dave joined the chat!");
  await carol.until("SYS dave joined the chat!");
  dave.send("KICK bob");
  await dave.expect("ERR Admin only command");
  // A kick is not a ban: bob may come back.
  await assertKick(alice, bob, "bob", [alice, carol, dave], t.url, carol);
});

Deno.test("KICK reaches a plain-TCP member; its close code reaches the log (TCP has no close frame)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, TOKEN);
    const tcpPort = freePort();
    await using node = await spawnNode([
      "--admin-token-file",
      `${dir}/token`,
      "--log-dir",
      dir,
      "--tcp-port",
      String(tcpPort),
    ]);
    await using alice = await joinAdmin(node.url, "alice");
    await using tcp = await connectTcp(tcpPort);
    while (await tcp.next() !== "SYS Send: NICK <name>");
    tcp.send("NICK tina");
    await alice.until("SYS tina joined the chat!");
    alice.send("KICK tina");
    while (await tcp.next() !== "SYS You were kicked by an admin");
    await tcp.closed;
    await alice.until("SYS tina was kicked by an admin");
    await nothingBefore(alice, "tcp");
    await waitUntil(
      "the TCP close code in the log",
      () => /Closing tcp\S* 127\.0\.0\.1:\d+: 4000 Kicked by admin/.test(node.log()),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KICK reaches JSON and RiftChat members of the in-process server", async () => {
  await using t = await startTestServer({ adminToken: TOKEN, riftchatPort: 0 });
  await using alice = await joinAdmin(t.url, "alice");
  await using json = await connectJsonWs(t.url, "wirechat.json");
  json.send({ v: 1, type: "nick", nick: "jason" });
  await alice.until("SYS jason joined the chat!");
  alice.send("KICK jason");
  let frame;
  do frame = await json.next(); while (!(frame.type === "notice" && frame.text === "You were kicked by an admin"));
  assertEquals(await json.closed, { code: 4000, reason: "Kicked by admin" });
  await alice.until("SYS jason was kicked by an admin");

  await using rift = await connectRift(t.server.riftchatAddr!.port);
  const given = await rift.next();
  await alice.until(`SYS ${given.new} joined the chat!`);
  alice.send(`KICK ${given.new}`);
  await rift.closed;
  await alice.until(`SYS ${given.new} was kicked by an admin`);
  await nothingBefore(alice, "rift");
});

Deno.test("BAN: kicks (close 4001), refuses the nick in any case and the address; UNBAN lifts it; BANS lists", async () => {
  // No exempt address: every test client comes from 127.0.0.1, which is then banned too.
  await using t = await startTestServer({ adminToken: TOKEN, limitExempt: "", riftchatPort: 0 });
  await using alice = await joinAdmin(t.url, "alice");
  await using bob = await join(t.url, "bob");
  await using carol = await join(t.url, "carol");
  await alice.until("SYS carol joined the chat!");
  alice.send("BAN bob 0");
  await alice.expect("ERR Expected: BAN <nick> [<minutes>] (1 to 43200 minutes)");
  alice.send("BAN bob 5");
  await untilAll(alice, ["SYS Banned bob for 5 minutes", "SYS bob was banned by an admin"]);
  await bob.until("SYS You were banned by an admin for 5 minutes");
  assertEquals(await bob.closed, { code: 4001, reason: "Banned by admin" });
  await carol.until("SYS bob was banned by an admin");
  await nothingBefore(carol, "ban");
  await refusedJoin(t.url, "BOB", "ERR Banned: nickname bob, 5 minutes left");
  await refusedJoin(t.url, "eve", "ERR Banned: this address, 5 minutes left");
  // Dialects that join on their own (wschat, RiftChat) are refused from a banned address too.
  for (const client of [await connectJsonWs(`${t.url}wschat`), await connectRift(t.server.riftchatAddr!.port)]) {
    await using c = client;
    const frames = [];
    for (;;) {
      try {
        frames.push(await c.next()); // rejects once the server closed (or after a bounded wait)
      } catch {
        break;
      }
    }
    assertOk(JSON.stringify(frames).includes("Banned: this address"), JSON.stringify(frames));
  }
  // A member already in the room cannot take the banned nick either.
  carol.send("NICK Bob");
  await carol.expect("ERR Banned: nickname bob, 5 minutes left");
  alice.send("BANS");
  await alice.expect(/^SYS Bans \(1\): bob \(127\.0\.0\.1, 5 min left, by alice\)$/);
  alice.send("UNBAN nobody");
  await alice.expect("ERR Not banned: nobody");
  alice.send("UNBAN Bob");
  await alice.expect("SYS Unbanned Bob");
  alice.send("BANS");
  await alice.expect("SYS Bans (0)");
  await using _back = await join(t.url, "bob");
});

/** Joins `nick` through a reverse proxy on this host (an exempt address) that names the client `clientIp`. */
async function joinProxied(port: number, nick: string, clientIp: string, header = "X-Real-IP"): Promise<RawSocket> {
  const sock = await rawConnect(port, { [header]: clientIp });
  await sock.until("SYS Send: NICK <name>");
  await sock.sendText(`NICK ${nick}`);
  return sock;
}

Deno.test("ADMIN behind a proxy: failures count per client address the proxy names, so a guesser cannot lock the operator out", async () => {
  await using t = await startTestServer({ adminToken: TOKEN });
  let failures = 0;
  for (let n = 0; failures < ADMIN_FAILURES_PER_ADDRESS; n++) {
    const c = await joinProxied(t.port, `guesser${n}`, "203.0.113.66");
    await c.until(`SYS guesser${n} joined the chat!`);
    for (let i = 0; i < ADMIN_FAILURES_PER_CONNECTION && failures < ADMIN_FAILURES_PER_ADDRESS; i++, failures++) {
      await c.sendText(`ADMIN guess-${n}-${i}`);
      await c.until("ERR Invalid admin token");
    }
    c.close();
  }
  const late = await joinProxied(t.port, "late", "203.0.113.66");
  await late.sendText(`ADMIN ${TOKEN}`);
  await late.until("ERR Too many failed admin attempts, try again later");
  late.close();
  const operator = await joinProxied(t.port, "operator", "203.0.113.1");
  await operator.sendText(`ADMIN ${TOKEN}`);
  await operator.until("SYS Admin privileges granted");
  operator.close();
});

Deno.test("BAN from an exempt (loopback) address: a direct client's address is banned, so it cannot come back under another nick", async () => {
  // Default --limit-exempt: loopback. A client that connects to it directly is banned with its address.
  await using t = await startTestServer({ adminToken: TOKEN, banMinutes: 7 });
  await using alice = await joinAdmin(t.url, "alice");
  await using bob = await join(t.url, "bob");
  await alice.until("SYS bob joined the chat!");
  alice.send("BAN bob");
  await untilAll(alice, ["SYS Banned bob for 7 minutes", "SYS bob was banned by an admin"]);
  await bob.closed;
  await refusedJoin(t.url, "bob", "ERR Banned: nickname bob, 7 minutes left");
  await refusedJoin(t.url, "bobby", "ERR Banned: this address, 7 minutes left");
  alice.send("BANS");
  await alice.expect("SYS Bans (1): bob (127.0.0.1, 7 min left, by alice)");
  alice.send("UNBAN bob");
  await alice.expect("SYS Unbanned bob");
  await using _back = await join(t.url, "bobby");
});

Deno.test("BAN behind a proxy: the client address the proxy names is banned, not the proxy; a proxy that names none: only the nick (and its look-alikes)", async () => {
  await using t = await startTestServer({ adminToken: TOKEN, banMinutes: 7 });
  await using alice = await joinAdmin(t.url, "alice");
  const bob = await joinProxied(t.port, "bob", "203.0.113.7");
  await alice.until("SYS bob joined the chat!");
  alice.send("BAN bob");
  await untilAll(alice, ["SYS Banned bob for 7 minutes", "SYS bob was banned by an admin"]);
  assertEquals(await bob.closeCode(), 4001);
  bob.close();
  // The same client under another nick (the nearest proxy's X-Forwarded-For entry counts) is refused...
  const again = await joinProxied(t.port, "robert", "198.51.100.1, 203.0.113.7", "X-Forwarded-For");
  await again.until("ERR Banned: this address, 7 minutes left");
  again.close();
  // ...another client behind the same proxy is not, nor is a direct local client.
  const carol = await joinProxied(t.port, "carol", "203.0.113.8");
  await carol.until("SYS carol joined the chat!");
  carol.close();
  await using _eve = await join(t.url, "eve");
  await alice.until("SYS eve joined the chat!");
  // A proxy header that names no address: the member is banned by nick only.
  const odd = await joinProxied(t.port, "oddball", "unknown");
  await alice.until("SYS oddball joined the chat!");
  alice.send("BAN oddball");
  await untilAll(alice, ["SYS Banned oddball for 7 minutes", "SYS oddball was banned by an admin"]);
  odd.close();
  alice.send("BAN mallory 3");
  await alice.expect("SYS Banned mallory for 3 minutes");
  await refusedJoin(t.url, "Mallory", "ERR Banned: nickname mallory, 3 minutes left");
  // The ban holds the nickname's key (its confusable skeleton): look-alikes are refused too.
  await refusedJoin(t.url, "m\u0430llory", "ERR Banned: nickname mallory, 3 minutes left");
  await refusedJoin(t.url, "rnallory", "ERR Banned: nickname mallory, 3 minutes left");
  alice.send("BANS");
  await alice.expect(
    "SYS Bans (3): bob (203.0.113.7, 7 min left, by alice), mallory (nickname only, 3 min left, by alice), " +
      "oddball (nickname only, 7 min left, by alice)",
  );
});

Deno.test("forbidden words: MSG, PM and IMG refused with ERR, nothing delivered; NICK refused at join (closed) and at rename (kept)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/words.txt`, "darn\nheck it\n");
    await using t = await startTestServer({ forbiddenWordsFile: `${dir}/words.txt` });
    await using alice = await join(t.url, "alice");
    await using bob = await join(t.url, "bob");
    await alice.until("SYS bob joined the chat!");
    alice.send("MSG oh D4RN!");
    await alice.expect("ERR Message contains forbidden content");
    alice.send("MSG h3ck, it");
    await alice.expect("ERR Message contains forbidden content");
    alice.send("PM bob darn");
    await alice.expect("ERR Message contains forbidden content");
    alice.send("IMG https://example.org/pics/d4rn.png");
    await alice.expect("ERR Message contains forbidden content");
    alice.send("MSG darnation is fine");
    await bob.expect(/^MSG \[[^\]]+\] alice: darnation is fine$/);
    alice.send("NICK d4rn_it");
    await alice.until("ERR Nickname contains forbidden words");
    alice.send("MSG still alice");
    await bob.expect(/^MSG \[[^\]]+\] alice: still alice$/);
    await refusedJoin(t.url, "DARN", "ERR Nickname contains forbidden words");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("wirechat.json clients moderate with the same commands as objects", async () => {
  await using t = await startTestServer({ adminToken: TOKEN });
  await using bob = await join(t.url, "bob");
  await using json = await connectJsonWs(t.url, "wirechat.json");
  json.send({ v: 1, type: "nick", nick: "jason" });
  await bob.until("SYS jason joined the chat!");
  const next = async (type: string) => {
    for (let f = await json.next();; f = await json.next()) if (f.type === type) return f;
  };
  json.send({ type: "kick", nick: "bob" });
  assertEquals((await next("error")).code, "admin_only");
  json.send({ type: "admin", token: TOKEN });
  assertEquals((await next("notice")).text, "Admin privileges granted");
  json.send({ type: "ban", nick: "mallory", minutes: "ten" });
  assertEquals((await next("error")).code, "bad_message");
  json.send({ type: "ban", nick: "mallory", minutes: 10 });
  assertEquals((await next("notice")).text, "Banned mallory for 10 minutes");
  json.send({ type: "bans" });
  assertEquals((await next("notice")).text, "Bans (1): mallory (nickname only, 10 min left, by jason)");
  json.send({ type: "unban", nick: "Mallory" });
  assertEquals((await next("notice")).text, "Unbanned Mallory");
  json.send({ type: "kick", nick: "bob" });
  await bob.until("SYS You were kicked by an admin");
  assertEquals((await bob.closed).code, 4000);
});
