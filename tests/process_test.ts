/**
 * The server as users run it: a `deno run main.ts serve` subprocess with the
 * serve task's permissions, signals, restarts on the same log folder.
 *
 * @module
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { join } from "./helpers.ts";
import { runMain, spawnServer } from "./server_process.ts";

async function withLogDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-proc-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SIGTERM: clients get the notice and 1001, exit 0 promptly, replay survives a restart", () =>
  withLogDir(async (dir) => {
    const first = await spawnServer(["--port", "0", "--log-dir", dir]);
    const a = await join(first.url, "alice");
    const b = await join(first.url, "bob");
    a.send("MSG before restart");
    const line = await b.until(/alice: before restart$/);
    const t0 = performance.now();
    first.child.kill("SIGTERM");
    await a.until("SYS Server shutting down");
    assertEquals(await a.closed, { code: 1001, reason: "Server shutdown" });
    assertEquals((await b.closed).code, 1001);
    const status = await first.child.status;
    const elapsed = performance.now() - t0;
    assertEquals(status.code, 0);
    assertOk(elapsed < 2000, `exit took ${elapsed} ms`);
    // The exit status and the last stderr bytes arrive separately: stop() (the process is gone, so it only
    // waits) also waits until stderr is drained to its end.
    assertEquals(await first.stop(), 0);
    assertMatch(first.stderr(), /Server stopped/);
    // Operational log: a separate daily file, without chat text at info level.
    const opLog = await Deno.readTextFile(`${dir}/${new Date().toISOString().slice(0, 10)}-server.log`);
    assertMatch(opLog, /Listening on/);
    assertOk(!opLog.includes("before restart"));

    const second = await spawnServer(["--log-dir", dir], { WIRECHAT_PORT: "0" });
    const c = await join(second.url, "carol");
    await c.expect("SYS Replay start (1 messages)");
    await c.expect(line);
    await c.expect("SYS Replay end");
    second.child.kill("SIGINT");
    await c.until("SYS Server shutting down");
    assertEquals((await second.child.status).code, 0);
  }));

Deno.test("kill -9 during traffic: a restart replays every message that was broadcast", () =>
  withLogDir(async (dir) => {
    const first = await spawnServer(["--port", "0", "--log-dir", dir, "--replay", "500", "--rate-burst", "1000"]);
    const sender = await join(first.url, "sender");
    const watcher = await join(first.url, "watcher");
    const received: string[] = [];
    for (let i = 0; i < 300; i++) sender.send(`MSG m${i}`);
    while (received.length < 150) received.push(await watcher.until(/^MSG /));
    first.child.kill("SIGKILL");
    await first.child.status;
    // Whatever else arrived before the socket died was broadcast too.
    await watcher.closed;
    received.push(...watcher.lines.filter((l) => l.startsWith("MSG ")).slice(received.length));
    await sender.closed;

    const second = await spawnServer(["--port", "0", "--log-dir", dir, "--replay", "500"]);
    const check = await join(second.url, "check");
    const start = await check.next();
    assertMatch(start, /^SYS Replay start \(\d+ messages\)$/);
    const replayed: string[] = [];
    for (let line = await check.next(); line !== "SYS Replay end"; line = await check.next()) replayed.push(line);
    for (const l of received) assertOk(replayed.includes(l), `lost after kill -9: ${l}`);
    assertOk(replayed.length >= received.length);
    second.child.kill("SIGTERM");
    assertEquals((await second.child.status).code, 0);
    await check.closed;
  }));

Deno.test("--help prints usage; unknown or malformed flags print one sentence (no usage dump) and exit 2", async () => {
  const help = await runMain(["serve", "--help"]);
  assertEquals(help.code, 0);
  assertMatch(help.stdout, /--port .*\[12345\].*WIRECHAT_PORT/);
  const unknown = await runMain(["serve", "--bogus"]);
  assertEquals(unknown.code, 2);
  assertEquals(unknown.stderr, "wirechat serve: unknown option --bogus (wirechat serve --help lists every option).\n");
  const bad = await runMain(["serve", "--port", "http"]);
  assertEquals(bad.code, 2);
  assertMatch(bad.stderr.split("\n")[0], /^wirechat serve: invalid value for --port: "http"/);
  const badEnv = await runMain(["serve"], { WIRECHAT_REPLAY: "-1" });
  assertEquals(badEnv.code, 2);
  assertMatch(badEnv.stderr.split("\n")[0], /WIRECHAT_REPLAY/);
  const version = await runMain(["--version"]);
  assertEquals(version.code, 0);
  assertMatch(version.stdout, /^wirechat \d+\.\d+\.\d+/);
});
