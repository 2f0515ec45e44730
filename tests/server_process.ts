/**
 * A real server in a subprocess, started like the `serve` task (its
 * permissions read from deno.json), for tests that need its own memory
 * figures (`/proc/<pid>/status`) or its operational log on stderr.
 *
 * @module
 */
import { WAIT_MS } from "./helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SERVE_TASK: string = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks.serve.command;
/** The serve task's permission flags. */
export const SERVE_FLAGS: string[] = SERVE_TASK.split(" ").filter((w) => w.startsWith("--allow-"));

/** A running server subprocess. */
export interface ServerProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  pid: number;
  port: number;
  url: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Resident set size of the server process in bytes (Linux `/proc`). */
  rss(): number;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number>;
}

/**
 * Resident set size of process `pid`, in bytes, from `/proc/<pid>/status`
 * (read through `cat`: Deno grants /proc reads only with --allow-all).
 */
export function rssOf(pid: number): number {
  const out = new Deno.Command("cat", { args: [`/proc/${pid}/status`], stdout: "piped", stderr: "null" }).outputSync();
  const status = new TextDecoder().decode(out.stdout);
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) * 1024;
}

/** What a finished subprocess printed. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main.ts ...args` with the serve task's permissions to its end (stdin closed, bounded). */
export async function runMain(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVE_FLAGS, `${ROOT}main.ts`, ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    signal: AbortSignal.timeout(WAIT_MS * 6),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Runs `deno task <task> ...args` in the repository to its end (stdin closed, bounded by `timeoutMs`). */
export async function runTask(task: string, args: string[], timeoutMs = WAIT_MS * 12): Promise<RunResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", task, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Spawns `main.ts serve ...args` (add `--port 0`) and waits for its listening line. */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVE_FLAGS, `${ROOT}main.ts`, "serve", ...args],
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  const port = await (async () => {
    const signal = AbortSignal.timeout(WAIT_MS * 3);
    while (!signal.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
      const m = /Listening on wss?:\/\/[^:]+:(\d+)\//.exec(text);
      if (m) return Number(m[1]);
    }
    child.kill("SIGKILL");
    await child.status;
    throw new Error(`server did not start: ${text}`);
  })();
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
  })();
  let stopped: Promise<number> | undefined;
  const proc: ServerProcess = {
    child,
    pid: child.pid,
    port,
    url: `ws://127.0.0.1:${port}/`,
    stderr: () => text,
    rss: () => rssOf(child.pid),
    stop: () =>
      stopped ??= (async () => {
        try {
          child.kill("SIGTERM");
        } catch { /* already exited */ }
        const status = await child.status;
        await drained;
        return status.code;
      })(),
    async [Symbol.asyncDispose]() {
      await proc.stop();
    },
  };
  return proc;
}

/** A subprocess whose standard output is read line by line. */
export interface LineProcess {
  /** The next line it printed, bounded by `timeoutMs`. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Stops reading and waits for its exit; resolves with its exit code. */
  finish(): Promise<number>;
}

/** Spawns `program args…` (stdin closed, stderr inherited) and reads its output by lines. */
export function spawnLineProcess(program: string, args: string[]): LineProcess {
  const child = new Deno.Command(program, { args, stdin: "null", stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return {
    async nextLine(timeoutMs = WAIT_MS) {
      const signal = AbortSignal.timeout(timeoutMs);
      while (!buffered.includes("\n")) {
        const timeout = new Promise<"timeout">((r) => signal.addEventListener("abort", () => r("timeout")));
        const got = await Promise.race([reader.read(), timeout]);
        if (got === "timeout") {
          throw new Error(`${program}: no line within ${timeoutMs} ms; got ${buffered.slice(0, 200)}`);
        }
        if (got.done) throw new Error(`${program} ended early; printed ${JSON.stringify(buffered.slice(0, 200))}`);
        buffered += got.value;
      }
      const at = buffered.indexOf("\n");
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      return line;
    },
    async finish() {
      await reader.cancel();
      return (await child.status).code;
    },
  };
}
