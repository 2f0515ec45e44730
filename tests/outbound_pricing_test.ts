/**
 * Outbound pricing (issue 17 finding 2), against a real server with readers
 * in another process: a reader that reads is never cut for what one turn
 * queued — bursts from senders within flood control, a long replay, a huge
 * line in the message log — while a reader that stalls still is (see also
 * slow_consumer_test.ts for its memory and the room's latency).
 */
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer, WAIT_MS } from "./helpers.ts";
import { rawJoin } from "./raw_ws.ts";
import { spawnLineProcess } from "./server_process.ts";
import type { ReaderReport } from "./reader_crowd.ts";
import { formatLogLine, messageFileName } from "../server/core/message_log.ts";
import { DEFAULT_MAX_OUTBOUND } from "../server/ops/config.ts";
import { DEFAULT_RATE_BURST, DEFAULT_RATE_PER_SECOND } from "../server/core/rate_limit.ts";

const CROWD = new URL("./reader_crowd.ts", import.meta.url).pathname;

/** Starts `readers` reading clients in a subprocess; `joined` resolves once all have joined. */
function spawnCrowd(url: string, readers: number, pattern: string, count: number) {
  const crowd = spawnLineProcess(Deno.execPath(), [
    "run",
    "--allow-all",
    CROWD,
    url,
    String(readers),
    pattern,
    String(count),
  ]);
  return {
    joined: crowd.nextLine(WAIT_MS * 4).then((line) => assertEquals(line, "joined")),
    async reports(): Promise<ReaderReport[]> {
      const reports = JSON.parse(await crowd.nextLine(40_000)) as ReaderReport[];
      assertEquals(await crowd.finish(), 0);
      return reports;
    },
  };
}

Deno.test("pricing: four senders at the allowed rate with 8 KiB lines cut none of 20 readers in another process", async () => {
  // A bound far below one burst (the kernel's socket buffers would otherwise absorb much of it on loopback).
  const maxOutbound = 128 * 1024;
  await using t = await startTestServer({ maxLine: 8192, replay: 0, maxOutbound });
  const senders = await Promise.all([0, 1, 2, 3].map((i) => join(t.url, `sender${i}`)));
  const burst = DEFAULT_RATE_BURST - 1; // NICK took one token
  const paced = 10; // after the burst, at the sustained rate
  const perSender = burst + paced;
  const crowd = spawnCrowd(t.url, 20, " sender\\d: ", 4 * perSender);
  await crowd.joined;
  const text = "x".repeat(8192 - 20);
  // Every sender's whole burst in one go: 4 × 99 lines of 8 KiB queued for each reader within a turn or two,
  // 3 MiB each: about three times the default --max-outbound, 25 times the one set here.
  for (const [i, s] of senders.entries()) for (let n = 0; n < burst; n++) s.send(`MSG ${i}/${n} ${text}`);
  assertOk(4 * burst * 8192 > 3 * DEFAULT_MAX_OUTBOUND && 4 * burst * 8192 > 16 * maxOutbound);
  for (let n = 0; n < paced; n++) {
    await new Promise((r) => setTimeout(r, 1000 / DEFAULT_RATE_PER_SECOND + 10));
    for (const [i, s] of senders.entries()) s.send(`MSG ${i}/p${n} ${text}`);
  }
  const reports = await crowd.reports();
  assertEquals(reports.filter((r) => r.closed).map((r) => r.closed), [], "no reader was cut");
  assertEquals(reports.map((r) => r.matched), Array(20).fill(4 * perSender), "every reader got every line");
  assertEquals(t.server.metrics.value("wirechat_slow_consumer_disconnects_total"), 0);
  for (const s of senders) {
    assertEquals(s.lines.filter((l) => l.startsWith("ERR")).length, 0, "the senders stayed within flood control");
    await s.close();
  }
});

Deno.test("pricing: --replay 200 with long lines kicks none of 20 joiners; each gets the whole replay", async () => {
  await using t = await startTestServer({ maxLine: 8192, replay: 200, rateBurst: 300, maxOutbound: 128 * 1024 });
  await using writer = await join(t.url, "writer");
  const text = "y".repeat(8000);
  for (let n = 0; n < 200; n++) writer.send(`MSG ${n} ${text}`);
  await writer.until(/ writer: 199 /);
  const crowd = spawnCrowd(t.url, 20, "^SYS Replay end$", 1);
  await crowd.joined;
  const reports = await crowd.reports();
  assertEquals(reports.filter((r) => r.closed).map((r) => r.closed), [], "no joiner was cut");
  assertEquals(reports.map((r) => r.messages), Array(20).fill(200), "every joiner got the 1.6 MB replay");
  assertEquals(t.server.metrics.value("wirechat_slow_consumer_disconnects_total"), 0);
});

Deno.test("pricing: a 10 MB line in the message log is skipped and counted on load; joiners are not kicked", async () => {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-hugeline-" });
  const ts = new Date().toISOString();
  const line = (text: string) => formatLogLine({ ts, nick: "old", text });
  await Deno.writeTextFile(
    `${logDir}/${messageFileName(ts)}`,
    line("before") + line("z".repeat(10 * 1024 * 1024)) + line("after"),
  );
  try {
    await using t = await startTestServer({ logDir });
    assertEquals(t.server.metrics.value("wirechat_log_lines_skipped_total"), 1);
    const crowd = spawnCrowd(t.url, 5, "^SYS Replay end$", 1);
    await crowd.joined;
    const reports = await crowd.reports();
    assertEquals(reports.filter((r) => r.closed).map((r) => r.closed), [], "no joiner was cut");
    assertEquals(reports.map((r) => r.messages), Array(5).fill(2), "the two normal lines are replayed");
    await using c = await join(t.url, "check");
    c.send("HISTORY");
    await c.until("SYS Replay start (2 messages)");
    await c.expect(`MSG [${ts}] old: before`);
    await c.expect(`MSG [${ts}] old: after`);
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
});

Deno.test("pricing: a stalled reader is still cut with 1008 once its unsent bytes stay above --max-outbound", async () => {
  await using t = await startTestServer({ maxOutbound: 64 * 1024, rateBurst: 1_000_000, ratePerSecond: 1_000_000 });
  await using talker = await join(t.url, "talker");
  const stalled = await rawJoin(t.port, "stalled"); // joins, then never reads again
  const text = "s".repeat(2000);
  let sent = 0;
  const signal = AbortSignal.timeout(30_000);
  while (!talker.lines.includes("SYS stalled left the chat!") && !signal.aborted) {
    for (let i = 0; i < 50; i++) talker.send(`MSG ${sent++} ${text}`);
    await talker.until(new RegExp(`talker: ${sent - 1} `));
  }
  assertOk(talker.lines.includes("SYS stalled left the chat!"), `never cut after ${sent} lines`);
  assertEquals(t.server.metrics.value("wirechat_slow_consumer_disconnects_total"), 1);
  stalled.close();
});
