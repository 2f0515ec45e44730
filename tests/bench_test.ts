/**
 * The load generator runs end to end in a tiny configuration (a spawned
 * server, a few clients, about a second) and accounts for every delivery.
 * Not a timed test: throughput and latency figures are not asserted.
 */
import { assertEquals, assertMatch, assertOk as assert } from "./assert.ts";
import type { BenchResult } from "../bench/run.ts";
import { formatReport } from "../bench/report.ts";
import { parseListenCounters } from "../bench/server_process.ts";
import { isoMs } from "../bench/worker.ts";

const BENCH = new URL("../bench/main.ts", import.meta.url).pathname;

async function bench(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", BENCH, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("bench: a tiny spawned run delivers every message exactly once and times the replays", async () => {
  const { code, stdout, stderr } = await bench([
    "--spawn",
    "--clients=4",
    "--senders=2",
    "--duration=1",
    "--warmup=0.2",
    "--history=3",
    "--batch",
    "--json",
  ]);
  assertEquals(code, 0, stderr);
  const r: BenchResult = JSON.parse(stdout);
  assertEquals(r.clients.joined, 4);
  assertEquals(r.missing, 0);
  assertEquals(r.duplicated, 0);
  assertEquals(r.errors, 0);
  assertEquals(r.closedByServer, 0);
  assert(r.deliveredPerS > 0, "nothing delivered");
  assert(r.latencyMs.n > 0, "no latency samples");
  assertEquals(r.replayMs.n, 4, "every client's replay is timed");
  assert(r.server?.peakRssMiB !== undefined && r.server.peakRssMiB > 0, "server RSS read from /proc");
  assert(r.benchCpuUsPerDelivery !== undefined && r.benchCpuUsPerDelivery > 0, "load generator µs per delivery");
  // Machine-wide deltas: other listeners may add to them, never take away.
  assert(r.listenQueue !== undefined, "listen-queue counters read from /proc/net/netstat");
  assert(r.listenQueue.overflows >= 0 && r.listenQueue.drops >= r.listenQueue.overflows, JSON.stringify(r.listenQueue));
  assertMatch(
    formatReport(r),
    new RegExp(`^listen queue +${r.listenQueue.overflows} overflows, ${r.listenQueue.drops} drops .*machine-wide`, "m"),
  );
});

Deno.test("bench: the server's timestamp is read from the bytes as Date.parse reads it", () => {
  const enc = new TextEncoder();
  for (const t of [0, 951_782_400_000, 1_764_175_086_123, 4_102_444_799_999]) {
    const iso = new Date(t).toISOString();
    assertEquals(isoMs(enc.encode(`MSG [${iso}] n: x`), 5), Date.parse(iso), iso);
  }
  assert(Number.isNaN(isoMs(enc.encode("2026-11-26 16:38:06.123Z"), 0)), "a space for the T");
  assert(Number.isNaN(isoMs(enc.encode("2026-11-26T16:3a:06.123Z"), 0)), "a letter for a digit");
});

Deno.test("bench: the listen-queue counters are read from the TcpExt lines", () => {
  const names = "TcpExt: SyncookiesSent DelayedACKLost ListenOverflows ListenDrops TCPHPHits";
  assertEquals(parseListenCounters(`${names}\nTcpExt: 0 5 12 13 999\nIpExt: InNoRoutes\nIpExt: 0\n`), {
    overflows: 12,
    drops: 13,
  });
  assertEquals(parseListenCounters("TcpExt: SyncookiesSent\nTcpExt: 0\n"), undefined);
  assertEquals(parseListenCounters(""), undefined);
});

/**
 * `sampleListenCounters` in a child process: Deno lets only `--allow-all` read `/proc` (the bench task has it, the
 * test task does not; `deno eval` has every permission).
 */
async function listenCountersInChild(): Promise<{ overflows: number; drops: number }> {
  const module = new URL("../bench/server_process.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { sampleListenCounters } from "${module}"; console.log(JSON.stringify(sampleListenCounters() ?? null));`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const counters = JSON.parse(new TextDecoder().decode(out.stdout));
  assert(counters, "/proc/net/netstat readable");
  return counters;
}

Deno.test("bench: a listener whose accept queue is full shows up in the listen-queue counters", async () => {
  // A listener with a backlog of 1 in a process that stops accepting: the connections past the queue overflow it.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import net from "node:net";
      const s = net.createServer(() => {});
      s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
        console.log(s.address().port);
        for (const until = Date.now() + 1500; Date.now() < until;);
        s.close();
      });`,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  const port = Number(new TextDecoder().decode((await reader.read()).value).trim());
  reader.releaseLock();
  const before = await listenCountersInChild();
  const conns = await Promise.all(
    Array.from(
      { length: 8 },
      () => Deno.connect({ hostname: "127.0.0.1", port, signal: AbortSignal.timeout(500) }).catch(() => undefined),
    ),
  );
  const after = await listenCountersInChild();
  for (const c of conns) c?.close();
  await child.stdout.cancel();
  await child.status;
  assert(after.overflows - before.overflows >= 1, `no overflow counted: ${JSON.stringify({ before, after })}`);
  assert(after.drops - before.drops >= 1, `no drop counted: ${JSON.stringify({ before, after })}`);
});

Deno.test("bench: a line cut short in a frame does not swallow the next line", async () => {
  // A stand-in server: every message goes back to everyone followed, in the same frame, by a copy cut short after the
  // sender's number and by an ERR line. The cut copy is no delivery; the ERR line after it must still be counted.
  const sockets = new Set<WebSocket>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    let nick = "";
    const all = (line: string) => sockets.forEach((s) => s.readyState === WebSocket.OPEN && s.send(line));
    socket.onopen = () => sockets.add(socket);
    socket.onclose = () => sockets.delete(socket);
    socket.onmessage = (e) => {
      const line = String(e.data);
      if (line.startsWith("NICK ")) all(`SYS ${nick = line.slice(5)} joined the chat!`);
      else if (line.startsWith("MSG ")) {
        const head = `MSG [${new Date().toISOString()}] ${nick}: `, text = line.slice(4);
        all(`${head}${text}\n${head}${text.slice(0, 6)}\nERR 400 test`);
      }
    };
    return response;
  });
  try {
    const { code, stdout, stderr } = await bench([
      `--url=ws://127.0.0.1:${server.addr.port}/`,
      "--clients=2",
      "--senders=1",
      "--duration=0.5",
      "--warmup=0",
      "--json",
    ]);
    assertEquals(code, 0, stderr);
    const r: BenchResult = JSON.parse(stdout);
    assert(r.deliveredPerS > 0, "nothing delivered");
    assertEquals(r.missing, 0);
    assertEquals(r.duplicated, 0);
    assert(r.errors > 0, "the ERR lines after the cut lines were not counted");
    assert(r.errorSamples.every((l) => l === "ERR 400 test"), r.errorSamples.join("; "));
  } finally {
    for (const s of sockets) s.close();
    await server.shutdown();
  }
});

Deno.test("bench: refuses a non-loopback host unless allowed, and bad values", async () => {
  const remote = await bench(["--url=ws://192.0.2.1:1/", "--clients=1"]);
  assertEquals(remote.code, 2);
  assert(remote.stderr.includes("refusing non-loopback host 192.0.2.1"), remote.stderr);
  const bad = await bench(["--spawn", "--clients=0"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("--clients"), bad.stderr);
});
