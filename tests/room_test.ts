import { assertEquals, assertOk } from "./assert.ts";
import { fakePeer } from "./fake_peer.ts";
import { createLocalBus } from "../server/core/bus.ts";
import { createMemoryStore } from "../server/core/history.ts";
import { createRoom, type Room } from "../server/core/room.ts";
import { createSession, type Session } from "../server/core/session.ts";
import type { ChatMessage } from "../protocol/mod.ts";

/** A room with a manual clock and an in-memory store. */
function setup(opts: { replay?: number; history?: ChatMessage[] } = {}) {
  let t = Date.parse("2026-11-22T10:00:00.000Z");
  const clock = {
    now: () => new Date(t),
    ms: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
  const store = createMemoryStore(opts.history);
  const room = createRoom({
    bus: createLocalBus((n) => store.load(n)),
    replayLimit: opts.replay ?? 3,
    now: clock.now,
    elapsed: clock.ms,
    onMessage: (m) => store.append(m),
  });
  room.start();
  const client = (nick?: string) => {
    const peer = fakePeer(() => session.closed());
    const session: Session = createSession({ room, peer, now: clock.ms, rateLimit: { burst: 1000, perSecond: 1000 } });
    session.open();
    if (nick) session.receive(`NICK ${nick}`);
    peer.take();
    return { peer, session };
  };
  return { room, store, clock, client };
}

Deno.test("join: greeting, everyone including the joiner hears it, no replay when history is empty", () => {
  const { client } = setup();
  const a = client("alice");
  const b = client();
  assertEquals(b.peer.lines, ["SYS Welcome to Wirechat 0.1.0", "SYS Send: NICK <name>"]);
  b.session.receive("NICK bob");
  assertEquals(b.peer.take(), ["SYS bob joined the chat!"]);
  assertEquals(a.peer.take(), ["SYS bob joined the chat!"]);
});

Deno.test("replay: joiner alone gets the newest N messages, oldest first, exactly as broadcast", () => {
  const { client, clock } = setup({ replay: 3 });
  const a = client("alice");
  const sent: string[] = [];
  for (let i = 1; i <= 5; i++) {
    a.session.receive(`MSG m${i}`);
    sent.push(...a.peer.take());
    clock.advance(1000);
  }
  const b = client();
  b.session.receive("NICK bob");
  assertEquals(b.peer.take(), [
    "SYS bob joined the chat!",
    "SYS Replay start (3 messages)",
    ...sent.slice(2),
    "SYS Replay end",
  ]);
  assertEquals(a.peer.take(), ["SYS bob joined the chat!"]);
  assertEquals(sent[0], "MSG [2026-11-22T10:00:00.000Z] alice: m1");
});

Deno.test("replay is seeded from the store and a message after the join follows the block", () => {
  const history = [{ ts: "2026-11-21T09:00:00.000Z", nick: "old", text: "from yesterday" }];
  const { client } = setup({ history });
  const b = client();
  b.session.receive("NICK bob");
  const a = client("alice");
  a.session.receive("MSG live");
  assertEquals(b.peer.take(), [
    "SYS bob joined the chat!",
    "SYS Replay start (1 messages)",
    "MSG [2026-11-21T09:00:00.000Z] old: from yesterday",
    "SYS Replay end",
    "SYS alice joined the chat!",
    "MSG [2026-11-22T10:00:00.000Z] alice: live",
  ]);
});

Deno.test("nicknames are unique case-insensitively; refusals close with 1000", () => {
  const { client } = setup();
  client("Alice");
  const b = client();
  b.session.receive("NICK alice");
  assertEquals(b.peer.take(), ["ERR Nickname already in use"]);
  assertEquals(b.peer.closedWith?.code, 1000);
  const c = client();
  c.session.receive("NICK bad nick");
  assertEquals(c.peer.take(), ["ERR Invalid nickname"]);
  assertEquals(c.peer.closedWith?.code, 1000);
  const d = client();
  d.session.receive("MSG hi");
  assertEquals(d.peer.take(), ["ERR Expected: NICK <name>"]);
  assertEquals(d.peer.closedWith?.code, 1000);
});

Deno.test("a too-large first line is refused but the connection stays open", () => {
  const { client } = setup();
  const a = client();
  a.session.receive("NICK " + "x".repeat(3000));
  assertEquals(a.peer.take(), ["ERR Message too large"]);
  assertEquals(a.peer.closedWith, undefined);
  a.session.receive("NICK alice");
  assertEquals(a.peer.take(), ["SYS alice joined the chat!"]);
});

Deno.test("leave notice exactly once, whatever ends the connection", () => {
  const { client, room } = setup();
  const a = client("alice");
  const b = client("bob");
  a.peer.take();
  b.session.receive("QUIT");
  assertEquals(b.peer.closedWith?.code, 1000);
  b.session.closed();
  b.session.closed();
  room.leave(b.peer);
  assertEquals(a.peer.take(), ["SYS bob left the chat!"]);
  const c = client("carol");
  a.peer.take();
  c.session.closed();
  c.session.closed();
  assertEquals(a.peer.take(), ["SYS carol left the chat!"]);
  // The nick is free again.
  const d = client("carol");
  assertEquals(d.peer.closedWith, undefined);
  assertEquals(room.size, 2);
});

Deno.test("WHO lists every member sorted; pattern filters", () => {
  const { client } = setup();
  const a = client("alice");
  client("Bob");
  client("carol");
  a.session.receive("WHO");
  a.session.receive("who *o*");
  a.session.receive("WHO zz*");
  assertEquals(a.peer.take().slice(-3), [
    "SYS Online (3): Bob, alice, carol",
    "SYS Online (2): Bob, carol",
    "SYS Online (0):",
  ]);
});

Deno.test("rename: broadcast, old nick freed, errors keep the connection", () => {
  const { client } = setup();
  const a = client("alice");
  const b = client("bob");
  a.peer.take();
  a.session.receive("NICK bob");
  assertEquals(a.peer.take(), ["ERR Nickname already in use"]);
  a.session.receive("NICK al ice");
  assertEquals(a.peer.take(), ["ERR Invalid nickname"]);
  a.session.receive("NICK Al");
  assertEquals(a.peer.take(), ["SYS alice is now known as Al"]);
  assertEquals(b.peer.take(), ["SYS alice is now known as Al"]);
  a.session.receive("MSG hi");
  assertOk(b.peer.take()[0].endsWith(" Al: hi"));
  assertEquals(client("alice").peer.closedWith, undefined);
  a.peer.take();
  a.session.receive("NICK AL");
  assertEquals(a.peer.take()[0], "SYS Al is now known as AL");
  assertEquals(a.peer.closedWith, undefined);
});

Deno.test("PM reaches sender and recipient only, never the history", () => {
  const { client, store } = setup();
  const a = client("alice");
  const b = client("bob");
  const c = client("carol");
  a.peer.take();
  b.peer.take();
  a.session.receive("PM BOB secret");
  const line = "PM [2026-11-22T10:00:00.000Z] alice -> bob: secret";
  assertEquals(a.peer.take(), [line]);
  assertEquals(b.peer.take(), [line]);
  assertEquals(c.peer.take(), []);
  a.session.receive("PM zed hi");
  assertEquals(a.peer.take(), ["ERR No such user: zed"]);
  assertEquals(store.messages.length, 0);
  a.session.receive("HISTORY");
  assertEquals(a.peer.take(), ["SYS Replay start (0 messages)", "SYS Replay end"]);
});

Deno.test("TYPING is relayed to the others at most once per 2 s", () => {
  const { client, clock } = setup();
  const a = client("alice");
  const b = client("bob");
  a.peer.take();
  a.session.receive("TYPING");
  a.session.receive("TYPING");
  clock.advance(1999);
  a.session.receive("TYPING");
  assertEquals(b.peer.take(), ["TYPING alice"]);
  assertEquals(a.peer.take(), []);
  clock.advance(1);
  a.session.receive("TYPING");
  assertEquals(b.peer.take(), ["TYPING alice"]);
});

Deno.test("HISTORY n is capped by the replay bound; PING, VERSION, HELP answer", () => {
  const { client, clock } = setup({ replay: 3 });
  const a = client("alice");
  for (let i = 0; i < 4; i++) {
    a.session.receive(`MSG ${i}`);
    clock.advance(1);
  }
  a.peer.take();
  a.session.receive("HISTORY 2");
  assertEquals(a.peer.take().length, 4);
  a.session.receive("HISTORY 99");
  assertEquals(a.peer.take()[0], "SYS Replay start (3 messages)");
  a.session.receive("PING x y");
  a.session.receive("PING");
  a.session.receive("VERSION");
  a.session.receive("HELP");
  const [pong1, pong2, version, help] = a.peer.take();
  assertEquals([pong1, pong2, version], ["PONG x y", "PONG", "SYS Wirechat 0.1.0 (protocol wirechat/1)"]);
  assertOk(help.startsWith("SYS Commands: NICK <name>, MSG <text>"));
});

Deno.test("flood control: a burst passes, the rest is refused, sustained abuse is closed with 1008", () => {
  let t = 0;
  const store = createMemoryStore();
  const room: Room = createRoom({ bus: createLocalBus(() => []), now: () => new Date(t) });
  room.start();
  const peer = fakePeer(() => session.closed());
  const session = createSession({ room, peer, now: () => t, rateLimit: { burst: 5, perSecond: 1 } });
  session.open();
  session.receive("NICK flood");
  for (let i = 0; i < 4; i++) session.receive(`MSG ${i}`);
  assertEquals(peer.take().filter((l) => l.startsWith("ERR")).length, 0);
  session.receive("MSG refused");
  assertEquals(peer.take().at(-1), "ERR Rate limit exceeded");
  t += 1000;
  session.receive("MSG allowed again");
  assertOk(peer.take().at(-1)?.endsWith("flood: allowed again"));
  for (let i = 0; i < 100 && !peer.closedWith; i++) session.receive("MSG spam");
  assertEquals(peer.closedWith?.code, 1008);
  assertEquals(store.messages.length, 0);
});
