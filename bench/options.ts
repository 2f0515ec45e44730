/**
 * The load generator's options: parsing, validation and the loopback rule
 * (it connects only to the hosts it is given, and only to loopback unless
 * `--allow-remote` says otherwise).
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Everything a run needs; see {@linkcode BENCH_USAGE}. */
export interface BenchOptions {
  urls: string[];
  spawn: boolean;
  serverArgs: string[];
  serverPid?: number;
  clients: number;
  senders: number;
  /** Total messages per second over all senders; 0 = unthrottled (bounded by `window`). */
  rate: number;
  window: number;
  size: number;
  durationS: number;
  warmupS: number;
  stallShare: number;
  batch: boolean;
  history: number;
  workers: number;
  connectConcurrency: number;
  connectTimeoutS: number;
  drainTimeoutS: number;
  json: boolean;
  /** Live progress on stderr even when it is not a terminal. */
  progress: boolean;
  allowRemote: boolean;
  pin: boolean;
}

/** Bounds that keep every run finite and the machine usable. */
export const LIMITS = {
  clients: [1, 20_000],
  senders: [0, 10_000],
  rate: [0, 10_000_000],
  window: [1, 10_000],
  size: [16, 2000],
  durationS: [0.1, 600],
  warmupS: [0, 120],
  stallShare: [0, 1],
  history: [0, 10_000],
  workers: [1, 16],
  connectConcurrency: [1, 20_000],
  connectTimeoutS: [1, 600],
  drainTimeoutS: [0.1, 120],
} as const satisfies Partial<Record<keyof BenchOptions, readonly [number, number]>>;

/** The load flags, shared with `deno task bench:scaleout`. */
export const BENCH_LOAD_USAGE = `Load:
  --clients N             connections, all joined [100]
  --senders N             clients that send (the first N) [10]
  --rate N                total messages/s over all senders; 0 = unthrottled [0]
  --window N              unthrottled: messages in flight per sender (sent, own echo not yet back) [8]
  --size N                message text size in bytes [64]
  --duration S            measured seconds [5]
  --warmup S              seconds of load before measuring [1]
  --stall-share F         share of clients that stop reading once joined (0-1) [0]
  --batch                 offer the wirechat.batch subprotocol (several lines per frame)
  --history N             send N messages before the clients join, then time every replay [0]`;

/** Usage text. */
export const BENCH_USAGE = `Usage: deno task bench [options]

Target (one of):
  --spawn                 start this project's server as a subprocess (reports its CPU time and peak RSS)
  --url URL               a running server speaking the Wirechat line protocol; repeat to spread
                          clients round-robin over several nodes
  --server-arg ARG        extra flag for the spawned server (repeatable), e.g. --server-arg=--max-outbound=65536
  --server-pid PID        read CPU time and RSS of an external server from /proc/PID
  --allow-remote          permit a non-loopback --url host

${BENCH_LOAD_USAGE}

Load generator:
  --workers N             worker threads running the clients [1, or 2 from 200 clients]
  --connect-concurrency N connections opened at once [256]
  --connect-timeout S     bound on connecting and joining everyone [30]
  --drain-timeout S       bound on waiting for in-flight deliveries after sending stops [5]
  --pin                   with --spawn: server on CPU 0, load generator on CPU 1 (taskset)
  --json                  print the result as JSON
  --progress              live progress on stderr even when it is not a terminal (on a terminal: always)
  --help                  show this help`;

/** A bad option: one line for the user, then usage. */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BenchUsageError";
  }
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

/** True when `hostname` is a loopback address. */
export function isLoopback(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

function num(raw: string | undefined, name: keyof typeof LIMITS, fallback: number, integer = true): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  const [min, max] = LIMITS[name];
  const flag = `--${name.replace(/S$/, "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (raw.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new BenchUsageError(
      `invalid value for ${flag}: ${JSON.stringify(raw)} (expected ${integer ? "an integer" : "a number"})`,
    );
  }
  if (n < min || n > max) {
    throw new BenchUsageError(`invalid value for ${flag}: ${raw} (must be between ${min} and ${max})`);
  }
  return n;
}

/**
 * Parses the command line; undefined for `--help`.
 *
 * @throws {BenchUsageError} on an unknown flag, a bad value or a refused host.
 */
export function parseBenchArgs(args: string[]): BenchOptions | undefined {
  let v: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: "string", multiple: true },
        spawn: { type: "boolean" },
        "server-arg": { type: "string", multiple: true },
        "server-pid": { type: "string" },
        "allow-remote": { type: "boolean" },
        clients: { type: "string" },
        senders: { type: "string" },
        rate: { type: "string" },
        window: { type: "string" },
        size: { type: "string" },
        duration: { type: "string" },
        warmup: { type: "string" },
        "stall-share": { type: "string" },
        batch: { type: "boolean" },
        history: { type: "string" },
        workers: { type: "string" },
        "connect-concurrency": { type: "string" },
        "connect-timeout": { type: "string" },
        "drain-timeout": { type: "string" },
        pin: { type: "boolean" },
        json: { type: "boolean" },
        progress: { type: "boolean" },
        help: { type: "boolean" },
      },
    }).values;
  } catch (err) {
    throw new BenchUsageError(err instanceof Error ? err.message.split("\n")[0] : String(err));
  }
  if (v.help) return undefined;
  const s = (k: string) => v[k] as string | undefined;
  const urls = (v.url as string[] | undefined) ?? [];
  const spawn = v.spawn === true;
  if (spawn === (urls.length > 0)) throw new BenchUsageError("give either --spawn or --url (at least one)");
  const allowRemote = v["allow-remote"] === true;
  for (const raw of urls) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new BenchUsageError(`invalid --url: ${JSON.stringify(raw)}`);
    }
    if (url.protocol !== "ws:") throw new BenchUsageError(`--url must be ws:// (got ${url.protocol})`);
    if (!allowRemote && !isLoopback(url.hostname)) {
      throw new BenchUsageError(`refusing non-loopback host ${url.hostname} (pass --allow-remote to permit it)`);
    }
  }
  const clients = num(s("clients"), "clients", 100);
  const senders = num(s("senders"), "senders", Math.min(10, clients));
  if (senders > clients) throw new BenchUsageError(`--senders (${senders}) exceeds --clients (${clients})`);
  const stallShare = num(s("stall-share"), "stallShare", 0, false);
  if (senders + Math.round(stallShare * clients) > clients) {
    throw new BenchUsageError("senders and stalled clients together exceed --clients");
  }
  const serverPid = s("server-pid") === undefined ? undefined : Number(s("server-pid"));
  if (serverPid !== undefined && !(Number.isInteger(serverPid) && serverPid > 0)) {
    throw new BenchUsageError(`invalid --server-pid: ${s("server-pid")}`);
  }
  if (v.pin && !spawn) throw new BenchUsageError("--pin needs --spawn");
  return {
    urls,
    spawn,
    serverArgs: (v["server-arg"] as string[] | undefined) ?? [],
    serverPid,
    clients,
    senders,
    rate: num(s("rate"), "rate", 0, false),
    window: num(s("window"), "window", 8),
    size: num(s("size"), "size", 64),
    durationS: num(s("duration"), "durationS", 5, false),
    warmupS: num(s("warmup"), "warmupS", 1, false),
    stallShare,
    batch: v.batch === true,
    history: num(s("history"), "history", 0),
    workers: num(s("workers"), "workers", clients >= 200 ? 2 : 1),
    connectConcurrency: num(s("connect-concurrency"), "connectConcurrency", 256),
    connectTimeoutS: num(s("connect-timeout"), "connectTimeoutS", 30, false),
    drainTimeoutS: num(s("drain-timeout"), "drainTimeoutS", 5, false),
    json: v.json === true,
    progress: v.progress === true,
    allowRemote,
    pin: v.pin === true,
  };
}
