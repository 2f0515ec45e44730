/**
 * The load generator runs end to end in a tiny configuration (a spawned
 * server, a few clients, about a second) and accounts for every delivery.
 * Not a timed test: throughput and latency figures are not asserted.
 */
import { assertEquals, assertOk as assert } from "./assert.ts";
import type { BenchResult } from "../bench/run.ts";

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
});

Deno.test("bench: refuses a non-loopback host unless allowed, and bad values", async () => {
  const remote = await bench(["--url=ws://192.0.2.1:1/", "--clients=1"]);
  assertEquals(remote.code, 2);
  assert(remote.stderr.includes("refusing non-loopback host 192.0.2.1"), remote.stderr);
  const bad = await bench(["--spawn", "--clients=0"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("--clients"), bad.stderr);
});
