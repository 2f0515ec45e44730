/**
 * Soak run (not a test): N WebSocket clients chat for M seconds at a steady
 * rate against a server subprocess (or `--url`), and the script reports the
 * server's memory at the start and the end, with samples along the way.
 * Flags: see {@linkcode SOAK_USAGE}.
 *
 *     deno task soak --clients 1000 --seconds 600 --interval 20
 *
 * @module
 */
import { parseArgs } from "node:util";
import { stderrProgress } from "../bench/progress.ts";
import { BATCH_SUBPROTOCOL } from "../protocol/mod.ts";

/** Usage text. */
export const SOAK_USAGE = `Usage: deno task soak [options]

Not a test: N clients chat for M seconds at a steady rate; prints the server's memory
(RSS) at the start, every --sample seconds and at the end, with echo latency and counts.

Options:
  --clients N      clients, all joined [100]
  --seconds M      how long the load runs [60]
  --interval S     seconds between two messages of one client [10]
  --sample S       seconds between two printed samples [30]
  --url URL        use a running server (ws://…) instead of starting one; memory is then
                   read from its /metrics
  --no-batch       clients do not offer the wirechat.batch subprotocol (they do by default)
  --progress       live progress on stderr even when it is not a terminal (on a terminal: always)
  --help           show this help`;

/** A bad option: one line, then usage, exit 2. */
class SoakUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SoakUsageError";
  }
}

const ROOT = new URL("..", import.meta.url).pathname;
const MiB = 1024 * 1024;

interface Options {
  clients: number;
  seconds: number;
  interval: number;
  sample: number;
  url?: string;
  batch: boolean;
  progress: boolean;
}

function options(args: string[]): Options | undefined {
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        clients: { type: "string", default: "100" },
        seconds: { type: "string", default: "60" },
        interval: { type: "string", default: "10" },
        sample: { type: "string", default: "30" },
        url: { type: "string" },
        batch: { type: "boolean", default: true },
        "no-batch": { type: "boolean", default: false },
        progress: { type: "boolean", default: false },
        help: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    throw new SoakUsageError(err instanceof Error ? err.message.split("\n")[0] : String(err));
  }
  if (values.help) return undefined;
  const num = (name: string, v: string | undefined, min: number, max: number) => {
    const n = Number(v);
    if (v?.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
      throw new SoakUsageError(`invalid value for --${name}: ${JSON.stringify(v)} (must be between ${min} and ${max})`);
    }
    return n;
  };
  if (values.url !== undefined && !/^wss?:\/\//.test(values.url)) {
    throw new SoakUsageError(`invalid value for --url: ${JSON.stringify(values.url)} (expected ws://host:port/)`);
  }
  return {
    clients: num("clients", values.clients, 1, 20_000),
    seconds: num("seconds", values.seconds, 1, 24 * 3600),
    interval: num("interval", values.interval, 0.05, 3600),
    sample: num("sample", values.sample, 1, 3600),
    url: values.url,
    batch: values.batch && !values["no-batch"],
    progress: values.progress,
  };
}

interface Server {
  url: string;
  httpUrl: string;
  rss(): Promise<number>;
  stop(): Promise<void>;
}

async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

async function startServer(): Promise<Server> {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-soak-" });
  const task: string = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)).tasks.serve.command;
  const flags = task.split(" ").filter((w) => w.startsWith("--allow-"));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, `${ROOT}main.ts`, "serve", "--port=0", `--log-dir=${logDir}`, "--max-clients=20000"],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  while (!port) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server did not start: ${text}`);
    text += value;
    port = Number(/Listening on ws:\/\/[^:]+:(\d+)\//.exec(text)?.[1] ?? 0);
  }
  // Keep draining the operational log (it is also in the log folder).
  const drained = (async () => {
    while (!(await reader.read()).done) { /* discard */ }
  })();
  return {
    url: `ws://127.0.0.1:${port}/`,
    httpUrl: `http://127.0.0.1:${port}`,
    rss: async () => {
      // /proc/<pid>/status through cat: Deno grants /proc reads only with --allow-all.
      const out = await new Deno.Command("cat", { args: [`/proc/${child.pid}/status`], stdout: "piped" }).output();
      return Number(/^VmRSS:\s+(\d+) kB$/m.exec(new TextDecoder().decode(out.stdout))![1]) * 1024;
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
      await Deno.remove(logDir, { recursive: true });
    },
  };
}

interface Stats {
  sent: number;
  delivered: number;
  rtts: number[];
  errors: number;
  closedEarly: number;
}

interface SoakClient {
  /** Sends the next message. */
  tick(): void;
  /** Closes without counting it as an early close. */
  stop(): void;
}

async function connectClient(url: string, id: number, batch: boolean, stats: Stats): Promise<SoakClient> {
  const nick = `soak${id}`;
  const ws = new WebSocket(url, batch ? [BATCH_SUBPROTOCOL] : []);
  const pending = new Map<number, number>();
  let seq = 0;
  let running = true;
  const joined = Promise.withResolvers<void>();
  const mine = `] ${nick}: s${id}-`;
  ws.onmessage = (e) => {
    for (const line of String(e.data).split("\n")) {
      if (line.startsWith("MSG ")) {
        stats.delivered++;
        const at = line.indexOf(mine);
        if (at > 0) {
          const n = Number(line.slice(at + mine.length));
          const t0 = pending.get(n);
          if (t0 !== undefined) {
            stats.rtts.push(performance.now() - t0);
            pending.delete(n);
          }
        }
      } else if (line === "SYS Send: NICK <name>") ws.send(`NICK ${nick}`);
      else if (line === `SYS ${nick} joined the chat!`) joined.resolve();
      else if (line.startsWith("ERR ")) stats.errors++;
    }
  };
  ws.onclose = () => {
    if (running) stats.closedEarly++;
    joined.reject(new Error(`${nick} closed before joining`));
  };
  ws.onerror = () => {};
  await joined.promise;
  return {
    tick() {
      if (ws.readyState !== WebSocket.OPEN) return;
      pending.set(seq, performance.now());
      ws.send(`MSG s${id}-${seq++}`);
      stats.sent++;
      if (pending.size > 100) pending.clear(); // a lost echo must not grow the map
    },
    stop() {
      running = false;
      ws.close();
    },
  };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(args: string[]): Promise<number> {
  let opt: Options | undefined;
  try {
    opt = options(args);
  } catch (err) {
    if (!(err instanceof SoakUsageError)) throw err;
    console.error(`soak: ${err.message}\n\n${SOAK_USAGE}`);
    return 2;
  }
  if (opt === undefined) {
    console.log(SOAK_USAGE);
    return 0;
  }
  const progress = stderrProgress("soak", opt.progress);
  const server: Server = opt.url
    ? (() => {
      const httpUrl = opt.url!.replace(/^ws/, "http").replace(/\/$/, "");
      return {
        url: opt.url!,
        httpUrl,
        rss: () => metric(httpUrl, "wirechat_process_resident_memory_bytes"),
        stop: () => Promise.resolve(),
      };
    })()
    : await startServer();
  // Ctrl-C stops the server this run started too (it would outlive us otherwise).
  const interrupted = () => {
    progress.stop();
    void server.stop().finally(() => Deno.exit(130));
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, interrupted);
  const load = (() => {
    try {
      return Deno.loadavg().map((n) => n.toFixed(2)).join(" ");
    } catch {
      return "?";
    }
  })();
  console.log(
    `soak: ${opt.clients} clients, ${opt.seconds} s, one message per client every ${opt.interval} s ` +
      `(${(opt.clients / opt.interval).toFixed(1)} msg/s, ${(opt.clients * opt.clients / opt.interval).toFixed(0)} ` +
      `deliveries/s), batch=${opt.batch}, load average at start: ${load}`,
  );
  const rssIdle = await server.rss();
  const stats: Stats = { sent: 0, delivered: 0, rtts: [], errors: 0, closedEarly: 0 };
  const clients: SoakClient[] = [];
  const t0 = performance.now();
  progress.phase(`joining ${opt.clients} clients`);
  for (let i = 0; i < opt.clients; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(opt.clients, i + 50); j++) batch.push(connectClient(server.url, j, opt.batch, stats));
    clients.push(...await Promise.all(batch));
  }
  const rssStart = await server.rss();
  console.log(
    `joined ${clients.length} clients in ${((performance.now() - t0) / 1000).toFixed(1)} s; server RSS ` +
      `${(rssIdle / MiB).toFixed(1)} MiB idle, ${(rssStart / MiB).toFixed(1)} MiB with everyone joined (start)`,
  );

  // Spread each client's sends evenly over the interval; a late timer catches up (at most one
  // round of all clients at once), so the rate stays steady on a busy machine.
  const period = (opt.interval * 1000) / clients.length;
  let next = 0;
  const begin = performance.now();
  const sender = setInterval(() => {
    const due = Math.min(clients.length, Math.floor((performance.now() - begin) / period) - next);
    for (let k = 0; k < due; k++) clients[next++ % clients.length].tick();
  }, Math.max(10, period));
  const samples: string[] = [];
  let lastSent = 0;
  let lastDelivered = 0;
  progress.countdown(
    "load",
    opt.seconds,
    () => `sent ${stats.sent} delivered ${stats.delivered} errors ${stats.errors}`,
  );
  while (performance.now() - begin < opt.seconds * 1000) {
    await new Promise((r) =>
      setTimeout(r, Math.min(opt.sample * 1000, opt.seconds * 1000 - (performance.now() - begin)))
    );
    const rss = await server.rss();
    const rtts = stats.rtts.splice(0);
    const line = `t=${((performance.now() - begin) / 1000).toFixed(0)}s rss=${(rss / MiB).toFixed(1)} MiB sent=+${
      stats.sent - lastSent
    } delivered=+${stats.delivered - lastDelivered} echo p50=${percentile(rtts, 50).toFixed(1)} ms p99=${
      percentile(rtts, 99).toFixed(1)
    } ms errors=${stats.errors} closed=${stats.closedEarly}`;
    lastSent = stats.sent;
    lastDelivered = stats.delivered;
    samples.push(line);
    progress.interrupt();
    console.log(line);
  }
  progress.phase("letting the last messages arrive");
  clearInterval(sender);
  // Let the last messages arrive before counting.
  await new Promise((r) => setTimeout(r, 2000));
  const rssEnd = await server.rss();
  const expected = stats.sent * clients.length;
  console.log(
    `result: server RSS start ${(rssStart / MiB).toFixed(1)} MiB, end ${(rssEnd / MiB).toFixed(1)} MiB ` +
      `(${rssEnd >= rssStart ? "+" : ""}${((rssEnd - rssStart) / MiB).toFixed(1)} MiB); sent ${stats.sent}, ` +
      `delivered ${stats.delivered} of ${expected} expected; ERR lines ${stats.errors}; closed early ${stats.closedEarly}`,
  );
  for (const c of clients) c.stop();
  await server.stop();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
