/**
 * Test helpers: a real server on 127.0.0.1 port 0, and a WebSocket client
 * that awaits lines and close events, each bounded by a timeout.
 *
 * @module
 */
import { defaultServerConfig, type ServerConfig } from "../server/ops/config.ts";
import { type ServerParts, startServer, type WirechatServer } from "../server/server.ts";

/** Default bound for awaiting one event in tests. */
export const WAIT_MS = 5000;

/** Polls `pred` every 10 ms until it holds, bounded: for server state that no client line announces. */
export async function waitUntil(what: string, pred: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
  // Monotonic: a test may step the wall clock (steppableWallClock) while it waits.
  for (const deadline = performance.now() + timeoutMs; !pred();) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A running test server with its temporary log folder. */
export interface TestServer extends AsyncDisposable {
  server: WirechatServer;
  url: string;
  logDir: string;
  port: number;
}

/** Starts a server on a free port with a fresh temporary log folder. */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  parts: ServerParts = {},
): Promise<TestServer> {
  const logDir = overrides.logDir ?? await Deno.makeTempDir({ prefix: "wirechat-test-" });
  const server = await startServer(defaultServerConfig({ port: 0, idleTimeout: 0, ...overrides, logDir }), parts);
  return {
    server,
    logDir,
    port: server.addr.port,
    url: `ws://127.0.0.1:${server.addr.port}/`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
      if (!overrides.logDir) await Deno.remove(logDir, { recursive: true }).catch(() => {});
    },
  };
}

/** How a WebSocket ended. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** A line-level WebSocket test client. */
export interface TestClient extends AsyncDisposable {
  ws: WebSocket;
  /** Every line received so far, in order. */
  lines: string[];
  /** The next line not yet consumed by `next`/`expect`. */
  next(timeoutMs?: number): Promise<string>;
  /** Consumes the next line and asserts it equals `line` (or matches the regexp). */
  expect(line: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Consumes lines until one matches; returns it. */
  until(line: string | RegExp, timeoutMs?: number): Promise<string>;
  send(line: string): void;
  /** Resolves when the socket closed. */
  closed: Promise<CloseInfo>;
  close(): Promise<CloseInfo>;
}

function matches(line: string, want: string | RegExp): boolean {
  return typeof want === "string" ? line === want : want.test(line);
}

/** Connects to `url`; resolves once open. Frames with `\n` (batch) are split into lines. */
export async function connect(url: string, protocols?: string | string[]): Promise<TestClient> {
  const ws = new WebSocket(url, protocols);
  const lines: string[] = [];
  let read = 0;
  let wake: (() => void) | undefined;
  const closed = Promise.withResolvers<CloseInfo>();
  ws.onmessage = (e) => {
    for (const l of String(e.data).split("\n")) lines.push(l);
    wake?.();
  };
  ws.onclose = (e) => {
    closed.resolve({ code: e.code, reason: e.reason });
    wake?.();
  };
  ws.onerror = () => {};
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.addEventListener("close", () => reject(new Error(`could not connect to ${url}`)));
  });
  let isClosed = false;
  closed.promise.then(() => isClosed = true);

  async function next(timeoutMs = WAIT_MS): Promise<string> {
    const signal = AbortSignal.timeout(timeoutMs);
    while (read >= lines.length) {
      if (isClosed) throw new Error(`socket closed while waiting; got ${JSON.stringify(lines)}`);
      if (signal.aborted) throw new Error(`timed out waiting for a line; got ${JSON.stringify(lines)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(50, timeoutMs));
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wake = undefined;
    }
    return lines[read++];
  }

  const client: TestClient = {
    ws,
    lines,
    next,
    async expect(want, timeoutMs) {
      const line = await next(timeoutMs);
      if (!matches(line, want)) throw new Error(`expected ${String(want)}, got ${JSON.stringify(line)}`);
      return line;
    },
    async until(want, timeoutMs) {
      for (;;) {
        const line = await next(timeoutMs);
        if (matches(line, want)) return line;
      }
    },
    send: (line) => ws.send(line),
    closed: closed.promise,
    async close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close();
      return await closed.promise;
    },
    async [Symbol.asyncDispose]() {
      await client.close();
    },
  };
  return client;
}

/** Connects and joins as `nick`, consuming the greeting and the own join line. */
export async function join(url: string, nick: string, protocols?: string | string[]): Promise<TestClient> {
  const c = await connect(url, protocols);
  await c.until("SYS Send: NICK <name>");
  c.send(`NICK ${nick}`);
  await c.until(`SYS ${nick} joined the chat!`);
  return c;
}

/** A stand-in wall clock: see {@linkcode steppableWallClock}. */
export interface SteppableWallClock {
  /** Moves the wall clock by `ms` (negative: back). */
  step(ms: number): void;
  /** Puts the real `Date` back. */
  restore(): void;
}

/**
 * Replaces the global wall clock (`Date.now`, `new Date()`) by one that
 * `step` moves, for injecting a clock step (NTP) or crossing midnight;
 * `restore` puts it back. Monotonic time (`performance.now`, timers) is
 * untouched.
 */
export function steppableWallClock(): SteppableWallClock {
  const RealDate = globalThis.Date;
  const realNow = RealDate.now;
  let offset = 0;
  class SteppedDate extends RealDate {
    constructor(...args: unknown[]) {
      // The year/month/… form passes through too: the cast only satisfies one overload.
      super(...((args.length === 0 ? [realNow() + offset] : args) as [number]));
    }
    static override now(): number {
      return realNow() + offset;
    }
  }
  globalThis.Date = SteppedDate as DateConstructor;
  return {
    step(ms: number) {
      offset += ms;
    },
    restore() {
      globalThis.Date = RealDate;
    },
  };
}
