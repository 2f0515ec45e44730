/**
 * The benchmark's two-node mode: the same load, measured by `bench/`, against
 * (1) one node alone, (2) one node with `--redis`, and (3) two nodes sharing
 * one Redis with the clients spread round-robin over them. Every node is a
 * subprocess started as `deno task bench --spawn` starts its server (flood
 * control and heartbeats off); Redis is a `redis-server` of its own on a free
 * loopback port with a temporary folder, stopped at the end.
 *
 * Usage: `deno run --allow-all tools/bench_scaleout.ts [load flags]`, with the
 * bench's load flags (`--clients`, `--senders`, `--rate`, `--duration`, …; no
 * `--url`/`--spawn`). Prints one line per configuration (or JSON with `--json`).
 *
 * @module
 */
import { BENCH_LOAD_USAGE, type BenchOptions, BenchUsageError, parseBenchArgs } from "../bench/options.ts";
import { type Progress, stderrProgress } from "../bench/progress.ts";
import { type BenchResult, runBench } from "../bench/run.ts";
import { type SpawnedServer, spawnServer } from "../bench/server_process.ts";
import { startRedis } from "../tests/redis_helpers.ts";

/** Usage text. */
export const SCALEOUT_USAGE = `Usage: deno task bench:scaleout [options]

Runs the same load three times and prints one line for each: one node alone, one node
with --redis, and two nodes sharing one Redis (clients spread round-robin over them).
It starts the nodes and its own redis-server on loopback, and stops them at the end.

${BENCH_LOAD_USAGE}

Other:
  --workers N             worker threads running the clients [1, or 2 from 200 clients]
  --json                  print the results as JSON
  --progress              live progress on stderr even when it is not a terminal (on a terminal: always)
  --help                  show this help`;

/** One measured configuration. */
interface Row {
  name: string;
  result: BenchResult;
}

/** Milliseconds with two decimals, or "-" when there was no sample. */
const ms = (v: number | null | undefined) => typeof v === "number" ? v.toFixed(2) : "-";

function line(row: Row): string {
  const r = row.result;
  const lat = r.latencyMs;
  return [
    row.name.padEnd(22),
    `sent ${r.sentPerS.toFixed(0).padStart(6)} msg/s`,
    `delivered ${r.deliveredPerS.toFixed(0).padStart(7)}/s`,
    `p50 ${ms(lat.p50).padStart(7)} ms`,
    `p99 ${ms(lat.p99).padStart(7)} ms`,
    `missing ${r.missing}`,
    `duplicated ${r.duplicated}`,
    `errors ${r.errors}`,
  ].join("  ");
}

async function measure(name: string, base: BenchOptions, nodeArgs: string[][], progress: Progress): Promise<Row> {
  const nodes: SpawnedServer[] = [];
  try {
    progress.phase(`${name}: starting ${nodeArgs.length} node(s)`);
    for (const args of nodeArgs) nodes.push(await spawnServer(args));
    const result = await runBench({ ...base, spawn: false, urls: nodes.map((n) => n.url) }, (line, loadSeconds) => {
      progress.phase(`${name}: ${line}`);
      if (loadSeconds !== undefined) progress.countdown(`${name}: load`, loadSeconds);
    });
    progress.stop();
    return { name, result };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

async function main(args: string[]): Promise<number> {
  const targetFlag = args.find((a) => /^--(url|spawn|pin|server-pid|server-arg)(=|$)/.test(a));
  if (targetFlag !== undefined) {
    console.error(
      `bench:scaleout: ${targetFlag} is not accepted here: it starts the nodes itself; give load flags only.\n\n${SCALEOUT_USAGE}`,
    );
    return 2;
  }
  let base: BenchOptions | undefined;
  try {
    base = parseBenchArgs([...args, "--url", "ws://127.0.0.1:1/"]);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    console.error(`bench:scaleout: ${err.message}\n\n${SCALEOUT_USAGE}`);
    return 2;
  }
  if (!base) {
    console.log(SCALEOUT_USAGE);
    return 0;
  }
  const progress = stderrProgress("bench:scaleout", base.progress);
  progress.phase("starting redis-server");
  await using redis = await startRedis();
  const viaRedis = ["--redis", redis.url];
  const rows: Row[] = [];
  rows.push(await measure("one node", base, [[]], progress));
  rows.push(await measure("one node + Redis", base, [viaRedis], progress));
  rows.push(await measure("two nodes + Redis", base, [viaRedis, viaRedis], progress));
  if (base.json) console.log(JSON.stringify(rows, null, 2));
  else for (const row of rows) console.log(line(row));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
