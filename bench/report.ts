/**
 * The human-readable report of a {@linkcode BenchResult}.
 *
 * @module
 */
import type { BenchResult, Summary } from "./run.ts";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n?: number) => n === undefined ? "-" : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0);
const dist = (s: Summary) =>
  s.n === 0 ? "-" : `p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  max ${ms(s.max)} ms  (n=${int(s.n)})`;

/** Formats the result as an aligned two-column table. */
export function formatReport(r: BenchResult): string {
  const o = r.options;
  const rows: [string, string][] = [
    ["target", `${r.target.join(", ")}${r.spawned ? " (spawned)" : ""}${o.batch ? " [wirechat.batch]" : ""}`],
    [
      "load",
      `${int(o.clients)} clients, ${o.senders} senders, ${
        o.rate > 0 ? `${int(o.rate)} msgs/s` : `unthrottled (window ${o.window})`
      }, ${o.size} B text, ${o.durationS} s (+${o.warmupS} s warm-up), ${r.clients.stalled} stalled, ${o.workers} worker(s)`,
    ],
    ["machine load", `${r.loadBefore} before, ${r.loadAfter} after (1/5/15-min averages)`],
    [
      "joined",
      `${int(r.clients.joined)} of ${int(r.clients.requested)}${
        r.clients.failed ? ` (${r.clients.failures.join("; ")})` : ""
      }`,
    ],
    ["sent", `${int(r.sentPerS)} msgs/s`],
    [
      "delivered",
      `${int(r.deliveredPerS)} msgs/s${
        r.offeredPerS ? ` (offered ${int(r.offeredPerS)})` : ""
      }, ${r.linesPerFrame} per frame`,
    ],
    ["latency", dist(r.latencyMs)],
    ["  to server", dist(r.latencySplitMs.toServer)],
    ["  from server", dist(r.latencySplitMs.fromServer)],
    ["missing", `${int(r.missing)}   duplicated ${int(r.duplicated)}`],
    ["ERR lines", r.errors ? `${int(r.errors)} (${r.errorSamples.join("; ")})` : "0"],
    ["closed by server", r.closedByServer ? `${r.closedByServer} readers (${r.closeSamples.join("; ")})` : "0 readers"],
    ["stalled cut off", `${r.stalledDisconnected} of ${r.clients.stalled}`],
    ["connect", dist(r.connectMs)],
    ["join", dist(r.joinMs)],
    ["replay complete", dist(r.replayMs)],
  ];
  rows.push([
    "listen queue",
    r.listenQueue
      ? `${int(r.listenQueue.overflows)} overflows, ${
        int(r.listenQueue.drops)
      } drops from join to end (kernel TcpExt ListenOverflows/ListenDrops, machine-wide)`
      : "- (no /proc/net/netstat)",
  ]);
  rows.push([
    "load generator",
    `CPU ${r.benchCpuPct ?? "-"}% of a core in window (${r.benchCpuUsPerDelivery ?? "-"} µs per delivery)`,
  ]);
  const s = r.server;
  if (s) {
    rows.push([
      "server",
      `pid ${s.pid}: CPU ${s.cpuJoinS ?? "-"} s joining, ${s.cpuS?.toFixed(2) ?? "-"} s in window (${
        s.cpuPct ?? "-"
      }% of a core, ${s.cpuUsPerDelivery ?? "-"} µs per delivery), RSS ${s.rssIdleMiB ?? "-"} MiB idle, ${
        s.rssJoinedMiB ?? "-"
      } MiB joined, ${s.rssEndMiB ?? "-"} MiB at end, peak ${s.peakRssMiB ?? "-"} MiB, ${
        s.rssPerConnectionKiB ?? "-"
      } KiB/connection`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}
