/**
 * Release smoke test: `deno run -A tools/smoke.ts <server command> [args…]`
 * starts the server command (a built `wirechat-server`, or its `deno run`
 * equivalent) with `--port 0` in an empty temporary working directory, then
 * checks the page and `/healthz`, has two clients chat over WebSocket, sends
 * SIGTERM and requires exit code 0. Prints one line per step; on failure one
 * line saying which step failed, exit 1.
 *
 * @module
 */

/** Bound on each step (start, one line, exit). */
export const STEP_MS = 10_000;

const decoder = new TextDecoder();

interface LineSocket {
  next(): Promise<string>;
  until(want: RegExp | string): Promise<string>;
  send(line: string): void;
  closed: Promise<number>;
}

function lineSocket(url: string): Promise<LineSocket> {
  const ws = new WebSocket(url);
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  const closed = Promise.withResolvers<number>();
  ws.onmessage = (e) => {
    lines.push(...String(e.data).split("\n"));
    wake?.();
  };
  ws.onclose = (e) => {
    closed.resolve(e.code);
    wake?.();
  };
  ws.onerror = () => {};
  let ended = false;
  closed.promise.then(() => ended = true);
  async function next(): Promise<string> {
    const signal = AbortSignal.timeout(STEP_MS);
    while (lines.length === 0) {
      if (ended) throw new Error(`socket closed while waiting for a line`);
      if (signal.aborted) throw new Error(`no line within ${STEP_MS} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 100);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return lines.shift()!;
  }
  const socket: LineSocket = {
    next,
    async until(want) {
      for (;;) {
        const line = await next();
        if (typeof want === "string" ? line === want : want.test(line)) return line;
      }
    },
    send: (line) => ws.send(line),
    closed: closed.promise,
  };
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(socket);
    closed.promise.then(() => reject(new Error(`could not connect to ${url}`)));
  });
}

async function joinAs(url: string, nick: string): Promise<LineSocket> {
  const s = await lineSocket(url);
  await s.until("SYS Send: NICK <name>");
  s.send(`NICK ${nick}`);
  await s.until(`SYS ${nick} joined the chat!`);
  return s;
}

/** Runs the smoke test against `command`; resolves to the exit code. */
export async function smoke(command: string[], log: (line: string) => void = console.log): Promise<number> {
  const cwd = await Deno.makeTempDir({ prefix: "wirechat-smoke-" });
  const child = new Deno.Command(command[0], {
    args: [...command.slice(1), "--port", "0"],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let stderr = "";
  let step = "start";
  const reader = child.stderr.getReader();
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stderr += decoder.decode(value);
    }
  })();
  let exited: Deno.CommandStatus | undefined;
  child.status.then((s) => exited = s);
  try {
    const started = AbortSignal.timeout(STEP_MS);
    let port: number | undefined;
    while (port === undefined) {
      const m = /Listening on ws:\/\/[^:]+:(\d+)\//.exec(stderr);
      if (m) port = Number(m[1]);
      else if (exited) throw new Error(`it exited with code ${exited.code} before listening`);
      else if (started.aborted) throw new Error(`it did not report "Listening on" within ${STEP_MS} ms`);
      else await new Promise((r) => setTimeout(r, 50));
    }
    log(`smoke: listening on port ${port}`);
    const base = `http://127.0.0.1:${port}`;

    step = "page";
    const page = await fetch(`${base}/`, { signal: AbortSignal.timeout(STEP_MS) });
    const html = await page.text();
    if (page.status !== 200 || !page.headers.get("content-type")?.startsWith("text/html") || !/<html/i.test(html)) {
      throw new Error(`GET / answered ${page.status} ${page.headers.get("content-type")}`);
    }
    for (const ref of html.matchAll(/\b(?:src|href)="(\/(?!\/)[^"#?]*)"/g)) {
      const res = await fetch(base + ref[1], { signal: AbortSignal.timeout(STEP_MS) });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`GET ${ref[1]} answered ${res.status}`);
    }
    log("smoke: the browser client and its assets load");

    step = "healthz";
    const health = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(STEP_MS) });
    const status = (await health.json()).status;
    if (health.status !== 200 || status !== "ok") throw new Error(`/healthz answered ${health.status} ${status}`);
    log("smoke: /healthz ok");

    step = "chat";
    const url = `ws://127.0.0.1:${port}/`;
    const alice = await joinAs(url, "alice");
    const bob = await joinAs(url, "bob");
    await alice.until("SYS bob joined the chat!");
    alice.send("MSG hello bob");
    await bob.until(/^MSG \[[^\]]+\] alice: hello bob$/);
    bob.send("MSG hello alice");
    await alice.until(/^MSG \[[^\]]+\] bob: hello alice$/);
    log("smoke: two clients chatted");

    step = "SIGTERM";
    const t0 = performance.now();
    child.kill("SIGTERM");
    await alice.until("SYS Server shutting down");
    const [codeA, codeB] = await Promise.all([alice.closed, bob.closed]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exit = await Promise.race([
      child.status,
      new Promise<never>((_, reject) =>
        timer = setTimeout(() => reject(new Error(`no exit within ${STEP_MS} ms`)), STEP_MS)
      ),
    ]).finally(() => clearTimeout(timer));
    if (codeA !== 1001 || codeB !== 1001) throw new Error(`clients closed with ${codeA}/${codeB}, not 1001`);
    if (exit.code !== 0) throw new Error(`exit code ${exit.code}`);
    log(`smoke: SIGTERM, clients closed 1001, exit 0 after ${Math.round(performance.now() - t0)} ms`);
    return 0;
  } catch (err) {
    console.error(
      `smoke: ${step} failed: ${err instanceof Error ? err.message : err}\n--- server stderr ---\n${stderr}`,
    );
    return 1;
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
    await drained;
    await Deno.remove(cwd, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args.length === 0) {
    console.error("Usage: deno run -A tools/smoke.ts <server command> [args…]");
    Deno.exit(2);
  }
  Deno.exit(await smoke(Deno.args));
}
