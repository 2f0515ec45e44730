/**
 * The server under test: this project's server started as a subprocess on a
 * free loopback port with a temporary log folder, and its CPU time and
 * memory read from `/proc/<pid>`.
 *
 * @module
 */

/** Clock ticks per second in `/proc/<pid>/stat` (USER_HZ, 100 on Linux). */
export const CLOCK_TICKS = 100;
/** Bound on the spawned server becoming ready. */
export const SPAWN_READY_MS = 15_000;
/** Bound on the spawned server exiting after SIGTERM before it is killed. */
export const SPAWN_STOP_MS = 5_000;

/** CPU time and memory of a process. */
export interface ProcSample {
  /** User + system CPU seconds since the process started. */
  cpuS: number;
  /** Resident set size now, in KiB. */
  rssKiB: number;
  /** Peak resident set size, in KiB. */
  peakRssKiB: number;
}

/** Reads `/proc/<pid>`; undefined when the process is gone or this is not Linux. */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { cpuS, rssKiB: kib("VmRSS"), peakRssKiB: kib("VmHWM") };
  } catch {
    return undefined;
  }
}

/** The machine's load averages (`/proc/loadavg`), or "" when unavailable. */
export function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "";
  }
}

/** The kernel's accept-queue counters (`TcpExt:` in `/proc/net/netstat`), for the whole machine (network namespace). */
export interface ListenCounters {
  /** `ListenOverflows`: SYNs or handshake ACKs dropped because a listener's accept queue was full. */
  overflows: number;
  /** `ListenDrops`: every drop at a listener (the overflows included). */
  drops: number;
}

/**
 * `ListenOverflows` and `ListenDrops` from the text of `/proc/net/netstat` (a `TcpExt:` line of names, then one of
 * values); undefined when they are missing.
 *
 * @example
 * ```ts
 * import { parseListenCounters } from "./server_process.ts";
 * const c = parseListenCounters("TcpExt: A ListenOverflows ListenDrops\nTcpExt: 1 7 9\n");
 * if (c?.overflows !== 7 || c.drops !== 9) throw new Error(JSON.stringify(c));
 * ```
 */
export function parseListenCounters(netstat: string): ListenCounters | undefined {
  const lines = netstat.split("\n").filter((l) => l.startsWith("TcpExt:"));
  if (lines.length < 2) return undefined;
  const names = lines[0].trim().split(/\s+/), values = lines[1].trim().split(/\s+/);
  const get = (name: string) => {
    const i = names.indexOf(name);
    const v = i > 0 ? Number(values[i]) : NaN;
    return Number.isFinite(v) ? v : undefined;
  };
  const overflows = get("ListenOverflows"), drops = get("ListenDrops");
  return overflows === undefined || drops === undefined ? undefined : { overflows, drops };
}

/** Reads {@linkcode ListenCounters} now; undefined when `/proc/net/netstat` cannot be read (not Linux). */
export function sampleListenCounters(): ListenCounters | undefined {
  try {
    return parseListenCounters(Deno.readTextFileSync("/proc/net/netstat"));
  } catch {
    return undefined;
  }
}

/** A running server subprocess. */
export interface SpawnedServer {
  url: string;
  pid: number;
  /** SIGTERM, bounded wait, SIGKILL; removes the log folder. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts `main.ts serve` with flood control and heartbeats off, plus `extraArgs`; `cpu` pins it. */
export async function spawnServer(extraArgs: string[], cpu?: number): Promise<SpawnedServer> {
  const port = freePort();
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-bench-" });
  const main = new URL("../main.ts", import.meta.url).pathname;
  const serve = [
    Deno.execPath(),
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-write",
    "--allow-env=WIRECHAT_*,WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE",
    main,
    "serve",
    "--host=127.0.0.1",
    `--port=${port}`,
    `--log-dir=${logDir}`,
    "--rate-per-second=0",
    "--idle-timeout=0",
    "--max-clients=1000000",
    ...extraArgs,
  ];
  const argv = cpu === undefined ? serve : ["taskset", "-c", String(cpu), ...serve];
  const child = new Deno.Command(argv[0], { args: argv.slice(1), stdin: "null", stdout: "null", stderr: "piped" })
    .spawn();
  // Keep the last lines of stderr for error reports; never let the pipe fill.
  const tail: string[] = [];
  const drained = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      tail.push(...decoder.decode(chunk).split("\n").filter(Boolean));
      if (tail.length > 20) tail.splice(0, tail.length - 20);
    }
  })();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const url = `ws://127.0.0.1:${port}/`;
  const deadline = Date.now() + SPAWN_READY_MS;
  const cleanup = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killed = await Promise.race([
        status.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), SPAWN_STOP_MS)),
      ]);
      clearTimeout(timer);
      if (killed) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
    }
    await status;
    await drained;
    await Deno.remove(logDir, { recursive: true }).catch(() => {});
  };
  for (;;) {
    if (exited || Date.now() > deadline) {
      await cleanup();
      throw new Error(`the server did not start: ${tail.join(" | ") || "(no output)"}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, pid: child.pid, stop: cleanup };
}
