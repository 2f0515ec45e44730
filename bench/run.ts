/**
 * The load generator's coordinator: starts (or finds) the server, seeds the
 * history, spreads the clients over worker threads and the target URLs
 * (round-robin), runs warm-up, measurement and drain phases on one clock,
 * and merges the workers' reports into a {@linkcode BenchResult}.
 *
 * @module
 */
import { createHistogram, type Histogram, merge, summarize } from "./histogram.ts";
import type { BenchOptions } from "./options.ts";
import { openRawSocket } from "./raw_socket.ts";
import {
  type ListenCounters,
  loadAverage,
  type ProcSample,
  sampleListenCounters,
  sampleProcess,
  type SpawnedServer,
  spawnServer,
} from "./server_process.ts";
import { type ClientSpec, clock, type FinalReport, type JoinReport, type Tally, type WorkerReport } from "./worker.ts";

/** Wait for a join notice before falling back to barrier messages. */
export const BARRIER_AFTER_MS = 2_000;
/** Gap between barrier messages while waiting for servers that do not announce joins. */
export const BARRIER_INTERVAL_MS = 500;
/** Bound on workers closing their clients at the end. */
export const CLOSE_WAIT_MS = 5_000;

/** p50/p99/max in milliseconds and the sample count. */
export interface Summary {
  n: number;
  p50?: number;
  p99?: number;
  max?: number;
}

/** What a run measured. */
export interface BenchResult extends Tally {
  target: string[];
  spawned: boolean;
  options: BenchOptions;
  /** `/proc/loadavg` before and after the run. */
  loadBefore: string;
  loadAfter: string;
  clients: { requested: number; joined: number; failed: number; failures: string[]; stalled: number };
  /** Messages/s the senders sent during the measured window. */
  sentPerS: number;
  /** Deliveries/s received by the reading clients during the measured window. */
  deliveredPerS: number;
  /** Deliveries per text frame received during the window (1 without batching). */
  linesPerFrame: number;
  /** With `--rate`: deliveries/s that rate asks of the server (rate × joined clients, stalled ones included). */
  offeredPerS?: number;
  latencyMs: Summary;
  /**
   * Sampled deliveries split at the server's timestamp in the line (millisecond resolution): send → stamped
   * (load generator write, server read and processing) and stamped → received (fan-out, kernel, load generator read).
   */
  latencySplitMs: { toServer: Summary; fromServer: Summary };
  /** Stalled clients whose leave notice the others received (the server cut them off). */
  stalledDisconnected: number;
  /** CPU used by the load generator itself during the window, as a share of one core. */
  benchCpuPct?: number;
  /** The load generator's CPU microseconds per delivery in the window (its own cost, workers and coordinator). */
  benchCpuUsPerDelivery?: number;
  /**
   * The kernel's listen-queue drops from just before the clients connect to the end of the drain, machine-wide
   * (`TcpExt: ListenOverflows` and `ListenDrops` in `/proc/net/netstat`, every listener, not only the server's). A
   * join storm that overflows the accept backlog makes clients resend their SYN after 1 s, which inflates connect,
   * join and replay times without any error.
   */
  listenQueue?: ListenCounters;
  connectMs: Summary;
  joinMs: Summary;
  replayMs: Summary;
  server?: {
    pid: number;
    /** CPU seconds used during the measured window, and as a share of one core. */
    cpuS?: number;
    cpuPct?: number;
    /** Server CPU seconds spent while the clients connected and joined (replays included). */
    cpuJoinS?: number;
    /** Server CPU microseconds per delivery in the window: what a delivery costs, less sensitive to a busy machine. */
    cpuUsPerDelivery?: number;
    rssIdleMiB?: number;
    rssJoinedMiB?: number;
    peakRssMiB?: number;
    /** RSS at the end of the measured window. */
    rssEndMiB?: number;
    /** (RSS at the end of the window − RSS before connecting) / joined clients; run idle for a clean figure. */
    rssPerConnectionKiB?: number;
  };
}

function summary(values: number[]): Summary {
  if (values.length === 0) return { n: 0 };
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.max(0, Math.ceil(q * v.length) - 1))];
  return { n: v.length, p50: at(0.5), p99: at(0.99), max: v[v.length - 1] };
}

function randomRunId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return [...bytes].map((b) => String.fromCharCode(97 + (b % 26))).join("");
}

/** A worker thread with an awaitable stream of its reports. */
function startWorker() {
  const worker = new Worker(new URL("./worker_main.ts", import.meta.url).href, { type: "module" });
  const inbox: WorkerReport[] = [];
  let wake: (() => void) | undefined;
  let crashed: string | undefined;
  worker.onmessage = (e: MessageEvent<WorkerReport>) => {
    inbox.push(e.data);
    wake?.();
  };
  worker.onerror = (e) => {
    e.preventDefault();
    crashed = e.message;
    wake?.();
  };
  return {
    worker,
    /** True once a report of `type` arrived (it stays in the inbox). */
    saw: (type: WorkerReport["type"]) => inbox.some((r) => r.type === type),
    /** The next report of `type`, bounded by `deadline` (absolute clock ms). */
    async next<T extends WorkerReport["type"]>(type: T, deadline: number): Promise<Extract<WorkerReport, { type: T }>> {
      for (;;) {
        const i = inbox.findIndex((r) => r.type === type || r.type === "fatal");
        if (i >= 0) {
          const r = inbox.splice(i, 1)[0];
          if (r.type === "fatal") throw new Error(`bench worker failed: ${r.error}`);
          return r as Extract<WorkerReport, { type: T }>;
        }
        if (crashed) throw new Error(`bench worker crashed: ${crashed}`);
        const left = deadline - clock();
        if (left <= 0) throw new Error(`bench worker: timed out waiting for "${type}"`);
        let timer: ReturnType<typeof setTimeout> | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, left);
        });
        clearTimeout(timer);
        wake = undefined;
      }
    },
  };
}

/** Seeds `count` history messages through one extra client and waits for their echo. */
async function seedHistory(url: string, runId: string, count: number, deadline: number, batch: boolean) {
  let echoed = 0;
  const done = Promise.withResolvers<void>();
  const decoder = new TextDecoder();
  const marker = `${runId} h `;
  const socket = await openRawSocket(new URL(url), {
    protocols: batch ? ["wirechat.batch"] : undefined,
    now: clock,
    signal: AbortSignal.timeout(Math.max(1, deadline - clock())),
    onText(buf, s, e) {
      for (const line of decoder.decode(buf.subarray(s, e)).split("\n")) {
        if (line.startsWith("MSG ") && line.includes(marker) && ++echoed === count) done.resolve();
      }
    },
  });
  try {
    socket.send(`NICK r${runId}seed`);
    for (let i = 0; i < count; i++) socket.send(`MSG ${marker}${i}`);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) =>
      timer = setTimeout(
        () => reject(new Error(`history seeding: ${echoed} of ${count} echoed in time`)),
        Math.max(0, deadline - clock()),
      )
    );
    await Promise.race([
      done.promise,
      timeout,
      socket.closed.then((c) => Promise.reject(new Error(`seed closed: ${c.code} ${c.reason}`))),
    ]);
    clearTimeout(timer);
  } finally {
    socket.close();
    await socket.closed;
  }
}

async function pinSelf(cpu: number) {
  const out = await new Deno.Command("taskset", {
    args: ["-a", "-p", "-c", String(cpu), String(Deno.pid)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`taskset failed: ${new TextDecoder().decode(out.stderr).trim()}`);
}

/**
 * Runs one benchmark; `progress` gets one line per phase, and with the line
 * that starts the load, how many seconds the load will last.
 */
export async function runBench(
  o: BenchOptions,
  progress: (line: string, loadSeconds?: number) => void = () => {},
): Promise<BenchResult> {
  const loadBefore = loadAverage();
  const runId = randomRunId();
  let spawned: SpawnedServer | undefined;
  const workers: ReturnType<typeof startWorker>[] = [];
  try {
    if (o.spawn) {
      progress("starting the server");
      spawned = await spawnServer(o.serverArgs, o.pin ? 0 : undefined);
      if (o.pin) await pinSelf(1);
    }
    const urls = spawned ? [spawned.url] : o.urls;
    const pid = spawned?.pid ?? o.serverPid;
    const sample = (): ProcSample | undefined => pid === undefined ? undefined : sampleProcess(pid);
    const joinDeadline = clock() + o.connectTimeoutS * 1000;

    if (o.history > 0) {
      progress(`seeding ${o.history} history messages`);
      await seedHistory(urls[0], runId, o.history, joinDeadline, o.batch);
    }
    const idle = sample();

    const stallCount = Math.round(o.stallShare * o.clients);
    const perWorker: ClientSpec[][] = Array.from({ length: Math.min(o.workers, o.clients) }, () => []);
    for (let i = 0; i < o.clients; i++) {
      perWorker[i % perWorker.length].push({
        nick: `r${runId}c${i}`,
        url: urls[i % urls.length],
        sender: i < o.senders ? i : -1,
        stall: i >= o.clients - stallCount,
      });
    }
    const listenBefore = sampleListenCounters();
    const epoch = clock();
    progress(`connecting ${o.clients} clients over ${perWorker.length} worker(s)`);
    for (const clients of perWorker) {
      const w = startWorker();
      workers.push(w);
      w.worker.postMessage({
        type: "init",
        setup: {
          runId,
          clients,
          senders: o.senders,
          batch: o.batch,
          ratePerSender: o.senders > 0 ? o.rate / o.senders : 0,
          window: o.window,
          size: o.size,
          history: o.history,
          connectConcurrency: Math.max(1, Math.ceil(o.connectConcurrency / perWorker.length)),
          joinDeadline,
          epoch,
        },
      });
    }
    const slack = joinDeadline + 5_000;
    await Promise.all(workers.map((w) => w.next("nicked", slack)));
    // Servers that do not announce joins (the baseline peers): a barrier message proves a client joined.
    // It also enters the history, so it is sent only when no join notice came at all.
    let joinedCount = 0;
    const barrierFrom = clock() + BARRIER_AFTER_MS;
    const barrier = setInterval(() => {
      if (joinedCount < workers.length && clock() > barrierFrom && !workers.some((w) => w.saw("announced"))) {
        workers[0].worker.postMessage({ type: "barrier" });
      }
    }, BARRIER_INTERVAL_MS);
    let joins: JoinReport[];
    try {
      joins = await Promise.all(workers.map(async (w) => {
        const r = await w.next("joined", slack);
        joinedCount++;
        return r;
      }));
    } finally {
      clearInterval(barrier);
    }
    const failed = joins.reduce((n, j) => n + j.failed, 0);
    const joined = o.clients - failed;
    if (joined === 0) throw new Error(`no client joined: ${joins.flatMap((j) => j.failures).slice(0, 3).join("; ")}`);
    progress(
      `${joined} joined${failed ? `, ${failed} failed` : ""}; load for ${o.warmupS} s warm-up + ${o.durationS} s`,
      o.warmupS + o.durationS,
    );
    const joinedSample = sample();

    const start = clock() + 20;
    const warmEnd = start + o.warmupS * 1000;
    const end = warmEnd + o.durationS * 1000;
    for (const w of workers) w.worker.postMessage({ type: "go", start, warmEnd, end });
    let atWarmEnd: ProcSample | undefined, atEnd: ProcSample | undefined;
    let selfWarm: ProcSample | undefined, selfEnd: ProcSample | undefined;
    const t1 = setTimeout(() => {
      atWarmEnd = sample();
      selfWarm = sampleProcess(Deno.pid);
    }, Math.max(0, warmEnd - clock()));
    const t2 = setTimeout(() => {
      atEnd = sample();
      selfEnd = sampleProcess(Deno.pid);
    }, Math.max(0, end - clock()));
    let sent: [number, number][][];
    try {
      sent = await Promise.all(workers.map(async (w) => (await w.next("sent", end + 10_000)).sent));
    } finally {
      clearTimeout(t1);
      clearTimeout(t2);
    }
    atEnd ??= sample();
    selfEnd ??= sampleProcess(Deno.pid);
    const totals = new Array<number>(o.senders).fill(0);
    for (const list of sent) for (const [s, n] of list) totals[s] = n;
    const drainDeadline = clock() + o.drainTimeoutS * 1000;
    for (const w of workers) w.worker.postMessage({ type: "drain", totals, deadline: drainDeadline });
    const finals: FinalReport[] = await Promise.all(workers.map((w) => w.next("result", drainDeadline + 10_000)));
    const last = sample();
    const listenAfter = sampleListenCounters();
    progress("closing");
    for (const w of workers) w.worker.postMessage({ type: "close" });
    await Promise.all(workers.map((w) => w.next("closed", clock() + CLOSE_WAIT_MS).catch(() => undefined)));

    const hist: Histogram = createHistogram();
    const toServer = createHistogram(), fromServer = createHistogram();
    for (const f of finals) {
      merge(hist, f.hist);
      merge(toServer, f.toServer);
      merge(fromServer, f.fromServer);
    }
    const sum = (k: keyof FinalReport) => finals.reduce((n, f) => n + (f[k] as number), 0);
    const windowS = o.durationS;
    const benchCpuS = selfWarm && selfEnd ? selfEnd.cpuS - selfWarm.cpuS : undefined;
    const stalledLeft = new Set(finals.flatMap((f) => f.stalledLeft));
    const mib = (kib?: number) => kib === undefined ? undefined : Math.round(kib / 102.4) / 10;
    const cpuS = atWarmEnd && atEnd ? atEnd.cpuS - atWarmEnd.cpuS : undefined;
    return {
      target: urls,
      spawned: spawned !== undefined,
      options: o,
      loadBefore,
      loadAfter: loadAverage(),
      clients: {
        requested: o.clients,
        joined,
        failed,
        failures: joins.flatMap((j) => j.failures).slice(0, 5),
        stalled: stallCount,
      },
      sentPerS: sum("sentInWindow") / windowS,
      deliveredPerS: sum("deliveredInWindow") / windowS,
      linesPerFrame: sum("framesInWindow")
        ? Math.round((sum("deliveredInWindow") / sum("framesInWindow")) * 100) / 100
        : 0,
      offeredPerS: o.rate > 0 ? o.rate * joined : undefined,
      latencyMs: summarize(hist),
      latencySplitMs: { toServer: summarize(toServer), fromServer: summarize(fromServer) },
      missing: sum("missing"),
      duplicated: sum("duplicated"),
      errors: sum("errors"),
      errorSamples: finals.flatMap((f) => f.errorSamples).slice(0, 5),
      closedByServer: sum("closedByServer"),
      closeSamples: finals.flatMap((f) => f.closeSamples).slice(0, 5),
      stalledDisconnected: stalledLeft.size,
      benchCpuPct: benchCpuS === undefined ? undefined : Math.round((benchCpuS / windowS) * 1000) / 10,
      benchCpuUsPerDelivery: benchCpuS === undefined || sum("deliveredInWindow") === 0
        ? undefined
        : Math.round((benchCpuS * 1e6 / sum("deliveredInWindow")) * 100) / 100,
      listenQueue: listenBefore && listenAfter
        ? {
          overflows: listenAfter.overflows - listenBefore.overflows,
          drops: listenAfter.drops - listenBefore.drops,
        }
        : undefined,
      connectMs: summary(joins.flatMap((j) => j.connectMs)),
      joinMs: summary(joins.flatMap((j) => j.joinMs)),
      replayMs: summary(joins.flatMap((j) => j.replayMs)),
      server: pid === undefined ? undefined : {
        pid,
        cpuS,
        cpuPct: cpuS === undefined ? undefined : Math.round((cpuS / windowS) * 1000) / 10,
        cpuJoinS: idle && joinedSample ? Math.round((joinedSample.cpuS - idle.cpuS) * 100) / 100 : undefined,
        cpuUsPerDelivery: cpuS === undefined || sum("deliveredInWindow") === 0
          ? undefined
          : Math.round((cpuS * 1e6 / sum("deliveredInWindow")) * 100) / 100,
        rssIdleMiB: mib(idle?.rssKiB),
        rssJoinedMiB: mib(joinedSample?.rssKiB),
        peakRssMiB: mib(last?.peakRssKiB ?? atEnd?.peakRssKiB),
        rssEndMiB: mib(atEnd?.rssKiB),
        rssPerConnectionKiB: idle && atEnd && joined > 0
          ? Math.round(((atEnd.rssKiB - idle.rssKiB) / joined) * 10) / 10
          : undefined,
      },
    };
  } finally {
    for (const w of workers) w.worker.terminate();
    await spawned?.stop();
  }
}
