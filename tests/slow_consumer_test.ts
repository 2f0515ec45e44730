/**
 * A client that never reads while others chat: it is disconnected once its
 * unsent output passes `--max-outbound`, the room's latency stays normal, the
 * server's memory stays bounded, and the dead socket keeps counting against
 * the connection limits until it is really gone.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { parseExposition } from "./exposition.ts";
import { join, startTestServer, type TestClient, waitUntil } from "./helpers.ts";
import { encodeFrame, Op, rawJoin, writeAll } from "./raw_ws.ts";
import { spawnServer } from "./server_process.ts";

const MiB = 1024 * 1024;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function rtt(c: TestClient, token: string): Promise<number> {
  const t0 = performance.now();
  c.send(`PING ${token}`);
  await c.until(`PONG ${token}`);
  return performance.now() - t0;
}

Deno.test("slow consumer: disconnected with 1008, room latency normal, memory bounded", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-slow-" });
  try {
    await using server = await spawnServer([
      "--port=0",
      `--log-dir=${logDir}`,
      "--rate-burst=1000000",
      "--rate-per-second=1000000",
      "--max-outbound=262144",
    ]);
    await using prober = await join(server.url, "prober");
    await using talker = await join(server.url, "talker");
    const baseline: number[] = [];
    for (let i = 0; i < 20; i++) baseline.push(await rtt(prober, `b${i}`));
    const rssStart = server.rss();

    const slow = await rawJoin(server.port, "slow"); // joins, then never reads again
    const text = "x".repeat(2000);
    const during: number[] = [];
    let sent = 0;
    const deadline = Date.now() + 30_000;
    while (!prober.lines.includes("SYS slow left the chat!") && Date.now() < deadline) {
      for (let i = 0; i < 50; i++) talker.send(`MSG ${sent++} ${text}`);
      await talker.until(new RegExp(`talker: ${sent - 1} `), 10_000);
      during.push(await rtt(prober, `d${sent}`));
    }
    const rssAtDisconnect = server.rss();
    assertOk(prober.lines.includes("SYS slow left the chat!"), `slow consumer never disconnected after ${sent} lines`);

    // More chat after the disconnect: nothing more is queued for the dead socket.
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) talker.send(`MSG ${sent++} ${text}`);
      await talker.until(new RegExp(`talker: ${sent - 1} `), 10_000);
    }
    const rssEnd = server.rss();

    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    const m = parseExposition(await res.text());
    assertEquals(m.get("wirechat_slow_consumer_disconnects_total"), 1);
    assertEquals(prober.lines.filter((l) => l === "SYS slow left the chat!").length, 1);
    assertEquals(talker.lines.filter((l) => l === "SYS slow left the chat!").length, 1);

    const p50 = percentile(baseline, 50);
    const d50 = percentile(during, 50);
    const d95 = percentile(during, 95);
    console.log(
      `slow consumer: out after ${sent - 1000} lines of 2 KB; prober RTT p50 ${p50.toFixed(1)} ms before, ` +
        `p50 ${d50.toFixed(1)} / p95 ${d95.toFixed(1)} ms during; server RSS ${(rssStart / MiB).toFixed(1)} → ` +
        `${(rssAtDisconnect / MiB).toFixed(1)} at disconnect → ${(rssEnd / MiB).toFixed(1)} MiB after 1000 more lines`,
    );
    // Latency: the prober shares the server with a talker pushing ~100 KB per round; a p95 of a
    // quarter second on a shared 2-core machine means the slow reader did not stall the room.
    assertOk(d95 < 250, `p95 RTT during ${d95} ms`);
    assertOk(rssAtDisconnect - rssStart < 64 * MiB, `RSS grew ${(rssAtDisconnect - rssStart) / MiB} MiB`);
    assertOk(rssEnd - rssAtDisconnect < 32 * MiB, `RSS kept growing after the disconnect`);
    // SIGTERM while the dead socket still holds unsent output: a clean, prompt exit.
    await prober.close();
    await talker.close();
    const t0 = performance.now();
    assertEquals(await server.stop(), 0);
    assertOk(performance.now() - t0 < 2000, "exit took too long");
    slow.close();
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("slow consumer: its dead socket counts against the limits until the TCP connection ends", async () => {
  await using t = await startTestServer({
    maxClientsPerAddress: 2,
    limitExempt: "",
    replay: 0,
    maxOutbound: 256 * 1024, // the talker's echo of a 100 KB round stays under this
    rateBurst: 1_000_000,
    ratePerSecond: 1_000_000,
  });
  await using talker = await join(t.url, "talker");
  const slow = await rawJoin(t.port, "slow");
  const text = "y".repeat(2000);
  let sent = 0;
  while (!talker.lines.includes("SYS slow left the chat!") && sent < 50_000) {
    for (let i = 0; i < 50; i++) talker.send(`MSG ${sent++} ${text}`);
    await talker.until(new RegExp(`talker: ${sent - 1} `));
  }
  assertOk(talker.lines.includes("SYS slow left the chat!"));
  assertEquals(t.server.context.connections.size, 1, "the session ended");
  assertEquals(t.server.context.admission.openFrom("127.0.0.1"), 2, "the socket still counts");
  const third = await join(t.url, "third").catch((err) => String(err));
  assertOk(String(third).includes("ERR Server full"), String(third));
  // Once the never-reading peer really goes away, its slot is free again.
  slow.close();
  await waitUntil("the slow peer's slot to be released", () => t.server.context.admission.total() <= 1);
  await using fourth = await join(t.url, "fourth");
  fourth.send("WHO");
  await fourth.until("SYS Online (2): fourth, talker");
});

Deno.test("slow consumer: a client that floods pings and never reads its pongs is disconnected, and leaves once", async () => {
  const maxOutbound = 64 * 1024;
  await using t = await startTestServer({ maxOutbound });
  await using watcher = await join(t.url, "watcher");
  const flooder = await rawJoin(t.port, "flooder");
  await watcher.until("SYS flooder joined the chat!");
  const ping = encodeFrame("p".repeat(125), { opcode: Op.PING });
  const batch = new Uint8Array(ping.length * 1000);
  for (let i = 0; i < 1000; i++) batch.set(ping, i * ping.length);
  // Pongs are output like any other: unread, they must not pile up without bound. Send at most 64 MiB of pings
  // (every pong unread), far past the ceiling (16 × 64 KiB) and what the loopback buffers hold.
  const cut = () => t.server.metrics.value("wirechat_slow_consumer_disconnects_total") > 0;
  let sent = 0;
  try {
    while (!cut() && sent < 64 * MiB && await writeAll(flooder.conn, batch)) sent += batch.length;
    await waitUntil(`the flooder cut (sent ${sent} bytes of pings)`, cut, 10_000);
    await watcher.until("SYS flooder left the chat!");
  } finally {
    flooder.close();
  }
  watcher.send("WHO");
  await watcher.until("SYS Online (1): watcher");
  assertEquals(watcher.lines.filter((l) => l === "SYS flooder left the chat!").length, 1);
});

Deno.test("slow consumer: a client that asks for HISTORY again and again and never reads is cut (one replay at a time is uncharged)", async () => {
  const maxOutbound = 64 * 1024;
  await using t = await startTestServer({ maxOutbound, replay: 50 });
  await using writer = await join(t.url, "writer");
  // A history of 50 long lines (about 8 KiB each): one replay is some 400 KiB, above --max-outbound.
  for (let i = 0; i < 50; i++) writer.send(`MSG ${i} ${"😀".repeat(2000)}`);
  await writer.until(new RegExp(`^MSG \\[[^\\]]+\\] writer: 49 `));
  const hoarder = await rawJoin(t.port, "hoarder");
  await writer.until("SYS hoarder joined the chat!");
  const cut = () => t.server.metrics.value("wirechat_slow_consumer_disconnects_total") > 0;
  // 100 replays (the rate burst), about 40 MiB if every one were uncharged; none of it is read.
  let asked = 0;
  try {
    while (!cut() && asked < 100 && await writeAll(hoarder.conn, encodeFrame("HISTORY"))) asked++;
    await waitUntil(`the hoarder cut (asked ${asked} times)`, cut, 10_000);
    await writer.until("SYS hoarder left the chat!");
  } finally {
    hoarder.close();
  }
  // A joiner that reads still gets its whole replay and stays.
  await using reader = await join(t.url, "reader");
  reader.send("HISTORY");
  await reader.until("SYS Replay end");
  reader.send("PING still");
  await reader.until("PONG still");
  assertEquals(t.server.metrics.value("wirechat_slow_consumer_disconnects_total"), 1);
});
