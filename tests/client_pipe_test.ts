/**
 * The terminal client as a subprocess in pipe mode (stdin is a pipe) against
 * real servers, with the permissions of `deno task client`: lines and
 * commands sent, every line printed raw, exit codes and one-sentence errors,
 * pacing under the server's flood control, wss:// with --ca.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { join, startTestServer, WAIT_MS } from "./helpers.ts";
import { makeCertificate } from "./tls_cert.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** The same permissions as the `client` task in deno.json. */
const TASK_PERMISSIONS = ["--allow-net", "--allow-read", "--allow-env=WIRECHAT_*,NO_COLOR,TERM"];

interface Run {
  code: number;
  stdout: string[];
  stderr: string;
}

/** Spawns the client with `args`; the caller writes stdin (or not) and awaits `done`. */
function spawnClient(args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...TASK_PERMISSIONS, "main.ts", "client", ...args],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  const timeout = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const done = child.output().then((out): Run => {
    clearTimeout(timeout);
    const text = new TextDecoder().decode(out.stdout);
    return {
      code: out.code,
      stdout: text === "" ? [] : text.replace(/\n$/, "").split("\n"),
      stderr: new TextDecoder().decode(out.stderr),
    };
  });
  return {
    async write(s: string) {
      await writer.write(new TextEncoder().encode(s));
    },
    async end() {
      await writer.close();
    },
    done,
  };
}

/** Runs the client with `input` as its whole stdin. */
async function runClient(args: string[], input = ""): Promise<Run> {
  const c = spawnClient(args);
  await c.write(input);
  await c.end();
  return await c.done;
}

/** The sentence a failed run printed: exactly one line, no stack trace. */
function oneSentence(run: Run): string {
  const lines = run.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `stderr: ${run.stderr}`);
  assertOk(!/^\s+at /m.test(run.stderr) && !run.stderr.includes("error: Uncaught"), run.stderr);
  return lines[0];
}

Deno.test("pipe: lines and commands are sent, every line printed raw, EOF sends QUIT and exits 0", async () => {
  await using srv = await startTestServer();
  await using bob = await join(srv.url, "bob");
  const run = await runClient(
    ["--nick", "bot", "--host", "127.0.0.1", "--port", String(srv.port)],
    "hello\n/who\n/msg bob psst\n//slash\n/frob\n\n/HISTORY 1\r\nlast line without newline",
  );
  assertEquals(run.code, 0, run.stderr);
  const out = run.stdout;
  assertEquals(out.slice(0, 3).at(-1), "SYS bot joined the chat!");
  assertMatch(out[3], /^MSG \[\S+Z\] bot: hello$/);
  assertEquals(out[4], "SYS Online (2): bob, bot");
  assertMatch(out[5], /^PM \[\S+Z\] bot -> bob: psst$/);
  assertMatch(out[6], /^MSG \[\S+Z\] bot: \/slash$/);
  assertEquals(out.slice(7, 10).map((l) => l.replace(/\[\S+\]/, "[ts]")), [
    "SYS Replay start (1 messages)",
    "MSG [ts] bot: /slash",
    "SYS Replay end",
  ]);
  assertMatch(out[10], /^MSG \[\S+Z\] bot: last line without newline$/);
  assertEquals(out.length, 11);
  assertEquals(
    oneSentence(run),
    "wirechat client: Input line 5 not sent: Unknown command /frob. Type /help for the list.",
  );
  await bob.until(/^PM \[\S+\] bot -> bob: psst$/);
  await bob.until("SYS bot left the chat!");
});

Deno.test("pipe: `printf 'hi\\n' | client --nick bot --host 127.0.0.1` (plus the test port) is quiet and delivers", async () => {
  await using srv = await startTestServer();
  await using bob = await join(srv.url, "bob");
  const run = await runClient(["--nick", "bot", "--host", "127.0.0.1", "--port", String(srv.port)], "hi\n");
  assertEquals(run.code, 0, run.stderr);
  assertEquals(run.stderr, "");
  await bob.until(/^MSG \[\S+\] bot: hi$/);
});

Deno.test("pipe: /nick renames and later lines come from the new nick", async () => {
  await using srv = await startTestServer();
  await using bob = await join(srv.url, "bob");
  const run = await runClient(["--nick", "bot", "--url", srv.url], "/nick bot2\nagain\n/nick bob\n");
  assertEquals(run.code, 0, run.stderr);
  await bob.until("SYS bot is now known as bot2");
  await bob.until(/^MSG \[\S+\] bot2: again$/);
  assertEquals(run.stdout.at(-1), "ERR Nickname already in use");
  await bob.until("SYS bot2 left the chat!");
});

Deno.test("pipe: a server shutdown while stdin is open ends with exit 1 and one sentence", async () => {
  const srv = await startTestServer();
  await using bob = await join(srv.url, "bob");
  const c = spawnClient(["--nick", "bot", "--url", srv.url]);
  await bob.until("SYS bot joined the chat!");
  await srv[Symbol.asyncDispose]();
  const run = await c.done;
  await c.end().catch(() => {});
  assertEquals(run.code, 1);
  assertEquals(run.stdout.at(-1), "SYS Server shutting down");
  assertMatch(oneSentence(run), /^wirechat client: The server closed the connection \(Server shutdown\)\.$/);
});

Deno.test("pipe: refused, unknown host, taken nickname → exit 1 with one sentence each", async () => {
  await using srv = await startTestServer();
  await using _bob = await join(srv.url, "bob");
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const freePort = free.addr.port;
  free.close();
  const [refused, dns, taken] = await Promise.all([
    runClient(["--nick", "bot", "--host", "127.0.0.1", "--port", String(freePort)], "hi\n"),
    runClient(["--nick", "bot", "--host", "no-such-host.invalid", "--port", "1"], "hi\n"),
    runClient(["--nick", "BOB", "--url", srv.url], "hi\n"),
  ]);
  assertEquals([refused.code, dns.code, taken.code], [1, 1, 1]);
  assertEquals(
    oneSentence(refused),
    `wirechat client: Could not connect to ws://127.0.0.1:${freePort}/: connection refused (is the server running?).`,
  );
  assertEquals(
    oneSentence(dns),
    "wirechat client: Could not connect to ws://no-such-host.invalid:1/: host not found (check --host or --url).",
  );
  assertEquals(oneSentence(taken), "wirechat client: The server refused the nickname: Nickname already in use.");
});

Deno.test("pipe: usage errors exit 2 (no --nick in pipe mode, bad port, unknown flag); --help/--version exit 0", async () => {
  const runs = await Promise.all([
    runClient(["--host", "127.0.0.1"]),
    runClient(["--nick", "bot", "--port", "99999"]),
    runClient(["--nick", "bot", "--frobnicate"]),
    runClient(["--help"]),
    runClient(["--version"]),
  ]);
  assertEquals(runs.map((r) => r.code), [2, 2, 2, 0, 0]);
  assertMatch(runs[0].stderr, /--nick is required when stdin is not a terminal/);
  assertMatch(runs[1].stderr, /invalid value for --port: "99999"/);
  assertMatch(runs[2].stderr, /frobnicate/);
  assertMatch(runs[3].stdout[0], /^Usage: wirechat client/);
  assertMatch(runs[4].stdout[0], /^wirechat \d+\.\d+\.\d+/);
});

Deno.test("pipe: more lines than the server's burst all arrive (paced), and an over-long line is skipped with a note", async () => {
  await using srv = await startTestServer({ rateBurst: 30 });
  await using bob = await join(srv.url, "bob");
  const count = 34; // the server's burst is 30 here: unpaced, some would be refused
  const input = Array.from({ length: count }, (_, i) => `line ${i + 1}`);
  input.splice(3, 0, "x".repeat(70_000));
  const run = await runClient(["--nick", "bot", "--url", srv.url], input.join("\n") + "\n");
  assertEquals(run.code, 0, run.stderr);
  assertOk(!run.stdout.some((l) => l.startsWith("ERR")), run.stdout.join("\n"));
  assertEquals(run.stdout.filter((l) => / bot: line \d+$/.test(l)).length, count);
  assertEquals(oneSentence(run), "wirechat client: Input line 4 skipped: 70000 characters is over the limit of 65536.");
  await bob.until(`SYS bot left the chat!`, WAIT_MS);
  assertEquals(bob.lines.filter((l) => / bot: line \d+$/.test(l)).length, count);
});

Deno.test("wss: an untrusted certificate fails with a TLS sentence; --ca trusts it; a bad --ca file exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-client-tls-" });
  try {
    const { cert, key } = await makeCertificate(dir);
    await using srv = await startTestServer({ tlsCert: cert, tlsKey: key });
    const url = `wss://localhost:${srv.port}/`;
    const [untrusted, trusted, missing, notPem] = await Promise.all([
      runClient(["--nick", "bot", "--url", url], "hi\n"),
      runClient(["--nick", "bot", "--url", url, "--ca", cert], "secure hi\n"),
      runClient(["--nick", "bot2", "--url", url, "--ca", `${dir}/nope.pem`], "hi\n"),
      runClient(["--nick", "bot3", "--url", url, "--ca", key], "hi\n"),
    ]);
    assertEquals(untrusted.code, 1);
    assertMatch(
      oneSentence(untrusted),
      /^wirechat client: TLS handshake with wss:\/\/localhost:\d+\/ failed .*--ca <file>\.$/,
    );
    assertEquals(trusted.code, 0, trusted.stderr);
    assertOk(trusted.stdout.some((l) => /^MSG \[\S+\] bot: secure hi$/.test(l)), trusted.stdout.join("\n"));
    assertEquals([missing.code, notPem.code], [1, 1]);
    assertMatch(oneSentence(missing), /Cannot read the --ca file ".*nope\.pem": no such file\.$/);
    assertMatch(oneSentence(notPem), /holds no PEM certificate\.$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
