/**
 * Test helpers for scale-out: a real `redis-server` on a free loopback port
 * with a temporary folder and an append-only file (or no persistence), that
 * can be stopped and started again on the same data, and asked anything
 * through `redis-cli`; and a Wirechat node run as a subprocess.
 *
 * @module
 */

/** Bound for starting a redis-server or a node subprocess. */
export const START_MS = 15_000;

/** A running (or stopped) test Redis. */
export interface TestRedis extends AsyncDisposable {
  url: string;
  port: number;
  dir: string;
  /** Stops Redis with SIGTERM (it writes its append-only file and exits). */
  stop(): Promise<void>;
  /** Starts Redis again on the same port and data. */
  start(): Promise<void>;
  /** Sends a signal to the running redis-server (SIGSTOP hangs it, SIGCONT resumes it). */
  signal(sig: Deno.Signal): void;
  /**
   * Runs `redis-cli` against this Redis with `args` as one command, or with
   * `stdin` as commands on one connection (`MULTI` … `EXEC`); returns its raw
   * output, trimmed.
   */
  cli(args: string[], stdin?: string): Promise<string>;
}

/** Options for {@linkcode startRedis}. */
export interface StartRedisOptions {
  /** Keep an append-only file, so a restart keeps the data (default true). */
  persist?: boolean;
}

/** Awaits `p`, failing after `ms`; clears its timer either way. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A free TCP port on 127.0.0.1 (released before it is returned). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Reads `stream` line by line until `match` is seen; keeps draining afterwards. */
async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  match: RegExp,
  what: string,
  keep: string[] = [],
): Promise<{ line: string; drained: Promise<void> }> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const timeout = AbortSignal.timeout(START_MS);
  const seen: string[] = [];
  for (;;) {
    const result = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) =>
        timeout.addEventListener("abort", () => reject(new Error(`${what} did not start: ${seen.join("\n")}`)), {
          once: true,
        })
      ),
    ]);
    if (result.done) throw new Error(`${what} exited before it was ready:\n${seen.join("\n")}`);
    buffer += result.value;
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      seen.push(line);
      if (match.test(line)) {
        const drained = (async () => {
          let rest = "";
          for (;;) {
            const r = await reader.read();
            if (r.done) break;
            const parts = (rest + r.value).split("\n");
            rest = parts.pop() ?? "";
            keep.push(...parts);
            if (keep.length > 50) keep.splice(0, keep.length - 50);
          }
        })();
        return { line, drained };
      }
    }
  }
}

/** Starts a redis-server with `--save ''` and (unless `persist` is false) `--appendonly yes` in a temporary folder. */
export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-redis-" });
  const port = freePort();
  let proc: Deno.ChildProcess | undefined;
  let drained: Promise<void> | undefined;

  async function start() {
    proc = new Deno.Command("redis-server", {
      args: [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        options.persist === false ? "no" : "yes",
        "--logfile",
        "",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    ({ drained } = await waitForLine(proc.stdout, /Ready to accept connections/, "redis-server"));
  }

  async function stop() {
    if (!proc) return;
    const p = proc;
    proc = undefined;
    try {
      p.kill("SIGTERM");
    } catch { /* already gone */ }
    await p.status;
    await drained;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    start,
    signal(sig) {
      proc?.kill(sig);
    },
    async cli(args, stdin) {
      const child = new Deno.Command("redis-cli", {
        args: ["-h", "127.0.0.1", "-p", String(port), ...args],
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(START_MS),
      }).spawn();
      if (stdin !== undefined) {
        const w = child.stdin.getWriter();
        await w.write(new TextEncoder().encode(stdin));
        await w.close();
      }
      const out = await child.output();
      const text = new TextDecoder().decode(out.stdout).trim();
      if (!out.success) throw new Error(`redis-cli ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
      return text;
    },
    async [Symbol.asyncDispose]() {
      proc?.kill("SIGCONT");
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Every key of `redis` and its whole content (strings, hashes, sets, lists, streams), for asserting what is stored. */
export async function dumpRedis(redis: TestRedis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const keys = (await redis.cli(["--raw", "KEYS", "*"])).split("\n").filter((k) => k);
  const read: Record<string, string[]> = {
    string: ["GET"],
    hash: ["HGETALL"],
    set: ["SMEMBERS"],
    list: ["LRANGE", "0", "-1"],
    stream: ["XRANGE"],
  };
  for (const key of keys) {
    const type = await redis.cli(["TYPE", key]);
    const cmd = read[type];
    if (!cmd) throw new Error(`dumpRedis: key ${key} has unexpected type ${type}`);
    const args = type === "stream" ? [...cmd, key, "-", "+"] : type === "list" ? [cmd[0], key, ...cmd.slice(1)] : [
      ...cmd,
      key,
    ];
    out.set(key, await redis.cli(["--raw", ...args]));
  }
  return out;
}

/** A Wirechat node running as `deno run -A main.ts serve …`. */
export interface NodeProcess extends AsyncDisposable {
  url: string;
  proc: Deno.ChildProcess;
  /** Sends SIGKILL and waits for the exit. */
  kill(): Promise<void>;
  /** The node's last stderr lines (its log), for failure messages. */
  log(): string;
}

/** Starts `main.ts serve --port 0 …args` and waits until it listens. */
export async function spawnNode(args: string[]): Promise<NodeProcess> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "serve", "--port", "0", "--idle-timeout", "0", ...args],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let found;
  const kept: string[] = [];
  try {
    found = await waitForLine(proc.stderr, /Listening on wss?:\/\/[^:]+:\d+\//, "wirechat node", kept);
  } catch (err) {
    proc.kill("SIGKILL");
    await proc.status;
    throw err;
  }
  const port = /:(\d+)\//.exec(found.line)![1];
  let done = false;
  async function kill() {
    if (!done) {
      done = true;
      try {
        proc.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await proc.status;
    await found!.drained;
  }
  return { url: `ws://127.0.0.1:${port}/`, proc, kill, log: () => kept.join("\n"), [Symbol.asyncDispose]: kill };
}
