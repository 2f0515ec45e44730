/**
 * The plain-TCP transport against a real server: one room with WebSocket
 * users, abrupt disconnects, split reads, slow consumers and shutdown. The
 * per-command behaviour is covered by the conformance scripts.
 */
import { startServer } from "../server/server.ts";
import { defaultServerConfig, type ServerConfig } from "../server/ops/config.ts";
import { connectTcp, connectWs, type LineClient } from "./line_client.ts";
import { WAIT_MS } from "./helpers.ts";

async function withServer(
  overrides: Partial<ServerConfig>,
  fn: (s: Awaited<ReturnType<typeof startServer>>) => Promise<void>,
) {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-tcp-test-" });
  const server = await startServer(defaultServerConfig({ port: 0, tcpPort: 0, idleTimeout: 0, logDir, ...overrides }));
  try {
    await fn(server);
  } finally {
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
}

async function expect(c: LineClient, want: string | RegExp) {
  const line = await c.next();
  const ok = typeof want === "string" ? line === want : want.test(line);
  if (!ok) throw new Error(`expected ${String(want)}, got ${JSON.stringify(line)}`);
}

async function joinAs(c: LineClient, nick: string) {
  await expect(c, /^SYS Welcome/);
  await expect(c, "SYS Send: NICK <name>");
  c.send(`NICK ${nick}`);
  await expect(c, `SYS ${nick} joined the chat!`);
}

/** Asserts nothing else is pending for `c` with a PING round trip. */
async function silent(c: LineClient, token = "sync") {
  c.send(`PING ${token}`);
  await expect(c, `PONG ${token}`);
}

Deno.test("tcp: off unless --tcp-port is given", async () => {
  await withServer({ tcpPort: undefined }, (server) => {
    if (server.tcpAddr !== undefined) throw new Error("TCP listener started without --tcp-port");
    return Promise.resolve();
  });
});

Deno.test("tcp: TCP and WebSocket users share one room, WHO and replay", async () => {
  await withServer({}, async (server) => {
    await using ws = await connectWs(`ws://127.0.0.1:${server.addr.port}/`);
    await joinAs(ws, "webby");
    ws.send("MSG from the browser");
    await expect(ws, /^MSG \[.*\] webby: from the browser$/);
    await using tcp = await connectTcp(server.tcpAddr!.port);
    await joinAs(tcp, "netcat");
    await expect(ws, "SYS netcat joined the chat!");
    await expect(tcp, "SYS Replay start (1 messages)");
    await expect(tcp, /^MSG \[.*\] webby: from the browser$/);
    await expect(tcp, "SYS Replay end");
    tcp.send("MSG from nc");
    await expect(tcp, /^MSG \[.*\] netcat: from nc$/);
    await expect(ws, /^MSG \[.*\] netcat: from nc$/);
    // Over TCP a client declares capabilities with CAP: netcat shows the copy of its own PMs.
    tcp.send("CAP pm");
    await expect(tcp, "SYS Capabilities: pm");
    tcp.send("PM webby psst");
    await expect(tcp, /^PM \[.*\] netcat -> webby: psst$/);
    await expect(ws, /^PM \[.*\] netcat -> webby: psst$/);
    ws.send("WHO");
    await expect(ws, "SYS Online (2): netcat, webby");
    tcp.send("who");
    await expect(tcp, "SYS Online (2): netcat, webby");
  });
});

Deno.test("tcp: an abrupt disconnect leaves exactly once and frees the nickname", async () => {
  await withServer({}, async (server) => {
    await using ws = await connectWs(`ws://127.0.0.1:${server.addr.port}/`);
    await joinAs(ws, "watcher");
    const tcp = await connectTcp(server.tcpAddr!.port);
    await joinAs(tcp, "dropper");
    await expect(ws, "SYS dropper joined the chat!");
    // Half a line in flight, then the socket goes away.
    tcp.send(new TextEncoder().encode("MSG never fini"));
    await tcp.disconnect();
    await expect(ws, "SYS dropper left the chat!");
    await silent(ws);
    ws.send("WHO");
    await expect(ws, "SYS Online (1): watcher");
    if (server.context.connections.size !== 1) throw new Error(`ghost connection: ${server.context.connections.size}`);
    await using again = await connectTcp(server.tcpAddr!.port);
    await joinAs(again, "dropper");
    await expect(ws, "SYS dropper joined the chat!");
  });
});

Deno.test("tcp: a line written in pieces, with \\r\\n, is one line", async () => {
  await withServer({}, async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.tcpAddr!.port });
    await using watcher = await connectWs(`ws://127.0.0.1:${server.addr.port}/`);
    await joinAs(watcher, "watcher");
    const enc = new TextEncoder();
    const dec = new TextDecoder();
    let got = "";
    const buf = new Uint8Array(4096);
    async function readUntil(text: string) {
      const signal = AbortSignal.timeout(5000);
      while (!got.includes(text)) {
        if (signal.aborted) throw new Error(`timed out; got ${JSON.stringify(got)}`);
        const n = await conn.read(buf);
        if (n === null) throw new Error(`closed; got ${JSON.stringify(got)}`);
        got += dec.decode(buf.subarray(0, n), { stream: true });
      }
    }
    try {
      await readUntil("SYS Send: NICK <name>\n");
      for (const piece of ["NI", "CK pie", "cemeal\r", "\nMSG h\u00e9", "llo\r\n"]) {
        // Separate writes, usually separate reads (the exact splitting is unit-tested).
        await conn.write(enc.encode(piece));
      }
      await expect(watcher, "SYS piecemeal joined the chat!");
      await expect(watcher, /^MSG \[.*\] piecemeal: h\u00e9llo$/);
      await readUntil("piecemeal: h\u00e9llo\n");
      // Blank lines (a bare Enter) are ignored, not answered.
      await conn.write(enc.encode("\n\r\nPING x\n"));
      await readUntil("PONG x\n");
      if (got.includes("ERR")) throw new Error(`unexpected ERR in ${JSON.stringify(got)}`);
    } finally {
      conn.close();
    }
    await expect(watcher, "SYS piecemeal left the chat!");
  });
});

Deno.test("tcp: a client that never sends a newline is cut off at the hard cap", async () => {
  await withServer({}, async (server) => {
    await using ws = await connectWs(`ws://127.0.0.1:${server.addr.port}/`);
    await joinAs(ws, "watcher");
    await using tcp = await connectTcp(server.tcpAddr!.port);
    await joinAs(tcp, "endless");
    await expect(ws, "SYS endless joined the chat!");
    const chunk = new TextEncoder().encode("y".repeat(8192));
    for (let i = 0; i < 9; i++) tcp.send(chunk); // 72 KiB, no newline
    await expect(tcp, "ERR Message too large");
    await tcp.closed;
    await expect(ws, "SYS endless left the chat!");
    await silent(ws);
  });
});

Deno.test("tcp: a client that stops reading is disconnected without blocking the room", async () => {
  await withServer({ ratePerSecond: 0, maxOutbound: 64 * 1024 }, async (server) => {
    // A raw socket that joins and then never reads again.
    const stalled = await Deno.connect({ hostname: "127.0.0.1", port: server.tcpAddr!.port });
    try {
      await stalled.write(new TextEncoder().encode("NICK stalled\n"));
      // Read up to its own join line (then never again): the talker must join after it, or the talker's first
      // line could be "SYS stalled joined the chat!" (two sockets, no order between them).
      const buf = new Uint8Array(4096);
      const signal = AbortSignal.timeout(WAIT_MS);
      const timedOut = new Promise<never>((_, reject) =>
        signal.addEventListener("abort", () => reject(new Error("stalled did not join in time")), { once: true })
      );
      for (let got = ""; !got.includes("SYS stalled joined the chat!\n");) {
        const n = await Promise.race([stalled.read(buf), timedOut]);
        if (n === null) throw new Error(`closed before the join: ${JSON.stringify(got)}`);
        got += new TextDecoder().decode(buf.subarray(0, n));
      }
      await using talker = await connectWs(`ws://127.0.0.1:${server.addr.port}/`);
      await joinAs(talker, "talker");
      const text = "z".repeat(2000);
      const deadline = Date.now() + 20_000;
      let sent = 0;
      let sawLeave = false;
      while (server.metrics.value("wirechat_slow_consumer_disconnects_total") === 0) {
        if (Date.now() > deadline || sent >= 50_000) throw new Error(`no disconnect after ${sent} messages`);
        // 20 lines of 2 KB per round stay below the talker's own 64 KiB bound.
        for (let i = 0; i < 20; i++) talker.send(`MSG ${text}`);
        sent += 20;
        // The talker gets all its echoes: the stalled reader does not block the room.
        for (let echoes = 0; echoes < 20;) {
          const line = await talker.next();
          if (line === "SYS stalled left the chat!") sawLeave = true;
          else if (line.endsWith(`talker: ${text}`)) echoes++;
          else throw new Error(`unexpected ${line.slice(0, 80)}`);
        }
      }
      if (!sawLeave) await expect(talker, "SYS stalled left the chat!");
      talker.send("WHO");
      await expect(talker, "SYS Online (1): talker");
    } finally {
      stalled.close();
    }
  });
});

Deno.test("tcp: shutdown tells TCP clients and closes them promptly", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-tcp-test-" });
  const server = await startServer(defaultServerConfig({ port: 0, tcpPort: 0, idleTimeout: 0, logDir }));
  try {
    await using a = await connectTcp(server.tcpAddr!.port);
    await joinAs(a, "a");
    await using b = await connectTcp(server.tcpAddr!.port);
    await expect(b, /^SYS Welcome/);
    await expect(b, "SYS Send: NICK <name>");
    const started = performance.now();
    const stopping = server.shutdown();
    await expect(a, "SYS Server shutting down");
    await expect(b, "SYS Server shutting down");
    await a.closed;
    await b.closed;
    await stopping;
    const took = performance.now() - started;
    if (took > 1000) throw new Error(`shutdown took ${took} ms`);
    if (a.unread().length || b.unread().length) throw new Error("lines after the shutdown notice");
    let refused = false;
    try {
      const late = await Deno.connect({ hostname: "127.0.0.1", port: server.tcpAddr!.port });
      late.close();
    } catch {
      refused = true;
    }
    if (!refused) throw new Error("a connection was accepted after shutdown");
  } finally {
    await server.shutdown();
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("tcp: the client limit covers TCP: ERR Server full, then close", async () => {
  await withServer({ maxClients: 1 }, async (server) => {
    await using first = await connectTcp(server.tcpAddr!.port);
    await joinAs(first, "first");
    await using second = await connectTcp(server.tcpAddr!.port);
    await expect(second, "ERR Server full");
    await second.closed;
    if (second.unread().length) throw new Error(`more after the refusal: ${second.unread()}`);
    await silent(first);
    if (server.metrics.value("wirechat_connections_refused_total", { reason: "server_full" }) !== 1) {
      throw new Error("refusal not counted");
    }
  });
});

Deno.test("tcp: an unregistered TCP client is closed at the registration deadline", async () => {
  await withServer({ registrationTimeout: 1 }, async (server) => {
    await using idle = await connectTcp(server.tcpAddr!.port);
    await expect(idle, /^SYS Welcome/);
    await expect(idle, "SYS Send: NICK <name>");
    await expect(idle, "ERR Registration timeout");
    await idle.closed;
  });
});
