/**
 * The shared client connection wrapper against real servers: join, refusal,
 * batch frames, reconnect across a real server restart on the same port
 * without duplicates, no reconnect after QUIT; backoff and de-duplication
 * as pure functions.
 */
import {
  backoffDelay,
  ConnectError,
  type Connection,
  type ConnectionOptions,
  createConnection,
  createSeenLines,
  JoinRefusedError,
  type LineInfo,
  type StatusChange,
} from "../client/connection.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer, WAIT_MS } from "./helpers.ts";

/** A connection that records lines and statuses, with waits bounded by WAIT_MS. */
function recorder(url: string, extra: Partial<ConnectionOptions> = {}) {
  const lines: LineInfo[] = [];
  const statuses: StatusChange[] = [];
  let wake: (() => void) | undefined;
  const conn = createConnection({
    url,
    backoff: { initialMs: 40, maxMs: 200 },
    ...extra,
    onLine: (info) => {
      lines.push(info);
      wake?.();
    },
    onStatus: (s) => {
      statuses.push(s);
      wake?.();
    },
  });
  async function waitFor(what: string, pred: () => boolean): Promise<void> {
    const signal = AbortSignal.timeout(WAIT_MS);
    while (!pred()) {
      if (signal.aborted) {
        throw new Error(`timed out waiting for ${what}; lines ${JSON.stringify(lines.map((l) => l.line))}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
  }
  return { conn, lines, statuses, waitFor, raw: () => lines.map((l) => l.line) };
}

async function ends(conn: Connection): Promise<void> {
  if (conn.state !== "closed") conn.close();
  await conn.closed;
}

Deno.test("backoffDelay grows exponentially, is capped, and jitters within [base/2, base)", () => {
  const o = { initialMs: 100, maxMs: 1000, factor: 2 };
  assertEquals([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o, () => 0)), [50, 100, 200, 400, 500, 500]);
  assertEquals(backoffDelay(2, o, () => 0.5), 150);
  assertOk(backoffDelay(30, o, () => 0.9999999) < 1000);
});

Deno.test("seen lines: each shown copy cancels one replayed copy; memory is bounded", () => {
  const seen = createSeenLines(3);
  seen.add("a");
  seen.add("a");
  seen.add("b");
  seen.beginReplay();
  assertEquals(["a", "a", "a", "b", "c"].map((l) => seen.isDuplicate(l)), [true, true, false, true, false]);
  seen.add("c"); // evicts the oldest "a"
  seen.beginReplay();
  assertEquals(["a", "a", "b", "c"].map((l) => seen.isDuplicate(l)), [true, false, true, true]);
});

Deno.test("join: greeting, own join line, status order, then QUIT closes without reconnecting", async () => {
  await using srv = await startTestServer();
  const r = recorder(srv.url);
  await r.conn.join("alice");
  assertEquals(r.conn.nick, "alice");
  assertEquals(r.conn.state, "connected");
  assertEquals(r.raw().at(-1), "SYS alice joined the chat!");
  assertOk(r.conn.send({ type: "msg", text: "hi" }));
  await r.waitFor("own message", () => r.raw().some((l) => / alice: hi$/.test(l)));
  await r.conn.quit();
  assertEquals(r.statuses.map((s) => s.status), ["connecting", "connected", "closed"]);
  assertEquals(r.statuses.at(-1), { status: "closed" });
  assertEquals(r.conn.send({ type: "msg", text: "late" }), false);
});

Deno.test("join: a taken nickname rejects with its code, and join can be retried on the same handle", async () => {
  await using srv = await startTestServer();
  await using bob = await join(srv.url, "Bob");
  const r = recorder(srv.url);
  const err = await r.conn.join("bob").then(() => undefined, (e) => e);
  assertOk(err instanceof JoinRefusedError, String(err));
  assertEquals(err.code, "nick_in_use");
  assertEquals(r.conn.state, "idle");
  const bad = await r.conn.join("has space").then(() => undefined, (e) => e);
  assertOk(bad instanceof JoinRefusedError && bad.code === "invalid_nick");
  await r.conn.join("carol");
  await bob.until("SYS carol joined the chat!");
  await r.conn.quit();
  assertOk(!r.statuses.some((s) => s.status === "reconnecting"));
});

Deno.test("join: an unreachable server rejects with ConnectError and ends closed", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const r = recorder(`ws://127.0.0.1:${port}/`);
  const err = await r.conn.join("alice").then(() => undefined, (e) => e);
  assertOk(err instanceof ConnectError, String(err));
  assertEquals(r.conn.state, "closed");
});

Deno.test("reconnect: a server restart on the same port rejoins with the same nick and shows no line twice", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-client-test-" });
  try {
    const first = await startTestServer({ logDir });
    const port = first.port;
    const r = recorder(first.url);
    await r.conn.join("alice");
    {
      await using bob = await join(first.url, "bob");
      bob.send("MSG one");
      bob.send("MSG two");
      await r.waitFor("two live messages", () => r.raw().some((l) => / bob: two$/.test(l)));
    }
    await first[Symbol.asyncDispose]();
    await r.waitFor("reconnecting", () => r.statuses.some((s) => s.status === "reconnecting"));
    await using second = await startTestServer({ logDir, port });
    await r.waitFor("rejoined", () => r.statuses.filter((s) => s.status === "connected").length === 2);
    assertEquals(r.statuses.find((s) => s.status === "connected" && s.reconnected)?.status, "connected");
    const replayEnd = r.lines.find((l) => l.event.type === "replay_end" && l.reconnected);
    assertEquals(replayEnd?.skipped, 2, "both replayed messages were already shown");

    await using carol = await join(second.url, "carol");
    carol.send("MSG three");
    await r.waitFor("live after rejoin", () => r.raw().some((l) => / carol: three$/.test(l)));
    const msgs = r.lines.filter((l) => l.event.type === "msg").map((l) => l.line);
    assertEquals(new Set(msgs).size, msgs.length, `a message shown twice: ${JSON.stringify(msgs)}`);
    assertEquals(msgs.length, 3);

    // HISTORY on demand is not de-duplicated: the user asked to see it again.
    r.conn.send({ type: "history", count: 2 });
    await r.waitFor(
      "history block",
      () => r.lines.some((l) => l.replay === "history" && l.event.type === "replay_end"),
    );
    assertEquals(r.lines.filter((l) => l.replay === "history" && l.event.type === "msg").length, 2);
    await r.conn.quit();
    assertEquals(r.statuses.at(-1), { status: "closed" });
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("reconnect: gives up after maxAttempts and reports why", async () => {
  const srv = await startTestServer();
  const r = recorder(srv.url, { maxAttempts: 2 });
  await r.conn.join("alice");
  await srv[Symbol.asyncDispose]();
  await r.conn.closed;
  const attempts = r.statuses.filter((s) => s.status === "reconnecting");
  assertEquals(attempts.map((s) => s.status === "reconnecting" && s.attempt), [1, 2]);
  const last = r.statuses.at(-1);
  assertOk(last?.status === "closed" && /gave up after 2 attempts/.test(last.error ?? ""), JSON.stringify(last));
  await ends(r.conn);
});

Deno.test("reconnect is off when asked: a drop ends the connection with an error", async () => {
  const srv = await startTestServer();
  const r = recorder(srv.url, { reconnect: false });
  await r.conn.join("alice");
  await srv[Symbol.asyncDispose]();
  await r.conn.closed;
  const last = r.statuses.at(-1);
  assertOk(last?.status === "closed" && last.error, JSON.stringify(last));
  assertOk(r.raw().includes("SYS Server shutting down"));
});

Deno.test("frames: a batch frame is split into lines; without the subprotocol a frame is one line", async () => {
  // A minimal server: on /batch it accepts the batch subprotocol and sends multi-line frames.
  const ac = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} }, (req) => {
    const batch = new URL(req.url).pathname === "/batch";
    const { socket, response } = Deno.upgradeWebSocket(req, batch ? { protocol: "wirechat.batch" } : {});
    socket.onopen = () => {
      if (batch) socket.send("SYS hello\nSYS Send: NICK <name>");
      else ["SYS hello", "SYS Send: NICK <name>\r\n"].forEach((l) => socket.send(l));
    };
    socket.onmessage = (e) => {
      if (e.data === "NICK zed") socket.send("SYS zed joined the chat!\nSYS Online (1): zed");
      if (e.data === "QUIT") socket.close(1000);
    };
    return response;
  });
  try {
    const b = recorder(`ws://127.0.0.1:${server.addr.port}/batch`);
    await b.conn.join("zed");
    await b.waitFor("who", () => b.raw().includes("SYS Online (1): zed"));
    assertEquals(b.raw(), ["SYS hello", "SYS Send: NICK <name>", "SYS zed joined the chat!", "SYS Online (1): zed"]);
    await b.conn.quit();

    const p = recorder(`ws://127.0.0.1:${server.addr.port}/plain`, { joinTimeoutMs: 300 });
    const err = await p.conn.join("zed").then(() => undefined, (e) => e);
    // The one frame "SYS zed joined…\nSYS Online…" is one (odd) line, not a join: no join happened.
    assertOk(err instanceof ConnectError, String(err));
    assertEquals(p.raw(), ["SYS hello", "SYS Send: NICK <name>", "SYS zed joined the chat!\nSYS Online (1): zed"]);
    await ends(p.conn);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("reconnect: a nickname still held (a ghost) is retried with backoff until it is free", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-client-test-" });
  try {
    const first = await startTestServer({ logDir });
    const port = first.port;
    // The client goes through a proxy that refuses its reconnects until the ghost holds the nick. Without it,
    // an attempt (the first after 300 ms) reaching the new server before the ghost's join would rejoin as
    // alice, and the ghost's join would be the one refused.
    const proxy = startProxy(port);
    try {
      // Fixed jitter: attempts after 300 ms, 600 ms, 1200 ms…
      const r = recorder(`ws://127.0.0.1:${proxy.port}/`, {
        backoff: { initialMs: 600, maxMs: 2000 },
        random: () => 0,
      });
      await r.conn.join("alice");
      proxy.cut();
      await first[Symbol.asyncDispose]();
      await using second = await startTestServer({ logDir, port });
      const ghost = await join(second.url, "alice");
      proxy.resume();
      await r.waitFor(
        "a refused rejoin",
        () => r.statuses.some((s) => s.status === "reconnecting" && /still held/.test(s.reason)),
      );
      await ghost.close();
      await r.waitFor("rejoined", () => r.statuses.filter((s) => s.status === "connected").length === 2);
      assertEquals(r.conn.nick, "alice");
      await r.conn.quit();
    } finally {
      await proxy.close();
    }
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

/** Copies bytes until either side ends or is closed. */
async function pump(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(16 * 1024);
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) return;
      for (let off = 0; off < n;) off += await to.write(buf.subarray(off, n));
    }
  } catch {
    // closed by cut() or by the other pump
  }
}

/** A TCP proxy in front of a server whose connections the test can cut, and which can refuse new ones. */
function startProxy(targetPort: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const pipes: Promise<unknown>[] = [];
  let accepting = true;
  const loop = (async () => {
    for await (const down of listener) {
      if (!accepting) {
        down.close();
        continue;
      }
      const up = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      conns.add(down).add(up);
      const close = () => {
        for (const c of [down, up]) {
          if (conns.delete(c)) c.close();
        }
      };
      pipes.push(pump(down, up).finally(close), pump(up, down).finally(close));
    }
  })();
  return {
    port: listener.addr.port,
    /** Drops every proxied connection and refuses new ones until `resume`. */
    cut() {
      accepting = false;
      for (const c of [...conns]) {
        conns.delete(c);
        c.close();
      }
    },
    resume() {
      accepting = true;
    },
    async close() {
      this.cut();
      listener.close();
      await loop.catch(() => {});
      await Promise.all(pipes);
    },
  };
}

Deno.test("reconnect: a cut connection rejoins; a message missed meanwhile is shown once, old ones are skipped", async () => {
  await using srv = await startTestServer();
  const proxy = startProxy(srv.port);
  try {
    const r = recorder(`ws://127.0.0.1:${proxy.port}/`, { backoff: { initialMs: 100, maxMs: 400 } });
    await r.conn.join("alice");
    await using bob = await join(srv.url, "bob");
    bob.send("MSG one");
    await r.waitFor("one", () => r.raw().some((l) => / bob: one$/.test(l)));
    proxy.cut();
    await bob.until("SYS alice left the chat!");
    await r.waitFor("reconnecting", () => r.statuses.some((s) => s.status === "reconnecting"));
    bob.send("MSG two, while alice was away");
    await bob.until(/ bob: two, while alice was away$/);
    proxy.resume();
    await r.waitFor("the rejoin replay", () => r.lines.some((l) => l.reconnected && l.event.type === "replay_end"));
    const end = r.lines.find((l) => l.reconnected && l.event.type === "replay_end")!;
    assertEquals(end.skipped, 1, "'one' was already shown");
    const missed = r.lines.filter((l) => / bob: two, while alice was away$/.test(l.line));
    assertEquals(missed.map((l) => l.replay), ["join"], "the missed message once, from the replay");
    assertEquals(r.lines.filter((l) => / bob: one$/.test(l.line)).length, 1);
    assertEquals(r.conn.nick, "alice");
    await r.conn.quit();
  } finally {
    await proxy.close();
  }
});
