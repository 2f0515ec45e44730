/**
 * Every operator error is one sentence on stderr that names the flag or
 * value and the fix, with exit 1 (or 2 for a usage error): the server and
 * the client run as subprocesses (`main.ts` with the serve task's
 * permissions), as an operator would run them.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { startTestServer } from "./helpers.ts";
import { runMain } from "./server_process.ts";
import { makeCertificate } from "./tls_cert.ts";

/** One sentence: a single line ending in "." (or "?"), no runtime noise. */
function assertSentence(stderr: string, prefix: string): string {
  const lines = stderr.split("\n").filter((l) => l !== "");
  assertEquals(lines.length, 1, `expected one line, got:\n${stderr}`);
  const [line] = lines;
  assertOk(line.startsWith(prefix), line);
  assertOk(/[.)]$/.test(line), `not a finished sentence: ${line}`);
  for (const noise of ["os error", "--allow-", "Error:", "    at ", "[WRN]", "Usage:"]) {
    assertOk(!line.includes(noise), `runtime noise ${JSON.stringify(noise)} in: ${line}`);
  }
  return line;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-operr-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `serve` with a temporary log folder; returns the one sentence after asserting the exit code. */
async function serveFails(args: string[], code: number, env: Record<string, string> = {}): Promise<string> {
  let line = "";
  await withTempDir(async (dir) => {
    const r = await runMain(["serve", "--log-dir", `${dir}/logs`, "--port", "0", ...args], env);
    assertEquals(r.code, code, r.stderr);
    line = assertSentence(r.stderr, "wirechat serve: ");
  });
  return line;
}

/** A port nothing listens on (bound once, then released). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("operator error: --replay -1 names the flag and the allowed range, exit 2", async () => {
  assertEquals(
    await serveFails(["--replay", "-1"], 2),
    'wirechat serve: invalid value for --replay: "-1"; give a whole number from 0 to 10000.',
  );
});

Deno.test("operator error: the same bad value from the environment names the variable", async () => {
  assertEquals(
    await serveFails([], 2, { WIRECHAT_REPLAY: "lots" }),
    'wirechat serve: invalid value for WIRECHAT_REPLAY: "lots"; give a whole number from 0 to 10000.',
  );
});

Deno.test("operator error: a mistyped flag suggests the right one; a flag without value shows an example", async () => {
  assertEquals(
    await serveFails(["--prot", "4000"], 2),
    "wirechat serve: unknown option --prot; did you mean --port? (wirechat serve --help lists every option).",
  );
  assertEquals(await serveFails(["--replay"], 2), "wirechat serve: --replay needs a value, e.g. --replay 50.");
  assertEquals(
    await serveFails(["extra"], 2),
    'wirechat serve: unexpected argument "extra": every setting is a --flag with a value, e.g. --port 4000 (wirechat serve --help lists them).',
  );
});

Deno.test("operator error: port in use names the address and suggests --port (or --tcp-port), exit 1", async () => {
  using held = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = held.addr.port;
  assertEquals(
    await serveFails(["--port", String(port)], 1),
    `wirechat serve: cannot listen on 127.0.0.1:${port}: the address is already in use (is another server running?); stop that program or pick another port with --port.`,
  );
  assertOk((await serveFails(["--tcp-port", String(port)], 1)).endsWith("pick another port with --tcp-port."));
  assertOk(
    (await serveFails(["--riftchat-port", String(port)], 1)).endsWith("pick another port with --riftchat-port."),
  );
});

Deno.test("operator error: two listeners on one port is a usage error naming both flags", async () => {
  assertEquals(
    await serveFails(["--port", "4000", "--tcp-port", "4000"], 2),
    "wirechat serve: --tcp-port 4000 is the same port as --port; give each listener its own port.",
  );
});

Deno.test("operator error: an unresolvable --host and an address not on this machine say what to give, exit 1", async () => {
  assertEquals(
    await serveFails(["--host", "no-such-host.invalid"], 1),
    'wirechat serve: cannot listen on --host "no-such-host.invalid": no such host name; give an address of this machine, e.g. --host 127.0.0.1 (this machine only) or --host 0.0.0.0 (every interface).',
  );
  // 192.0.2.1 (TEST-NET-1) is never assigned to a machine.
  assertEquals(
    await serveFails(["--host", "192.0.2.1"], 1),
    "wirechat serve: cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine; pick one with --host (127.0.0.1 for this machine only, 0.0.0.0 for every interface).",
  );
});

Deno.test("operator error: an unwritable --log-dir names the folder and --log-dir, without a Deno permission hint", async () => {
  // Deno refuses /proc paths whatever the user; running as root does not make this pass.
  const r = await runMain(["serve", "--port", "0", "--log-dir", "/proc/wirechat-test-logs"]);
  assertEquals(r.code, 1, r.stderr);
  assertEquals(
    assertSentence(r.stderr, "wirechat serve: "),
    'wirechat serve: the log folder "/proc/wirechat-test-logs" is a system path the server may not write to; pick another folder with --log-dir.',
  );
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    const under = await runMain(["serve", "--port", "0", "--log-dir", `${dir}/file/logs`]);
    assertEquals(under.code, 1, under.stderr);
    assertEquals(
      assertSentence(under.stderr, "wirechat serve: "),
      `wirechat serve: the log folder "${dir}/file/logs" cannot be created because "${dir}/file" is a file; pick another folder with --log-dir.`,
    );
  });
});

Deno.test("operator error: a --tls-cert that is not PEM names the file; a key of another certificate names both", async () => {
  await withTempDir(async (dir) => {
    const good = await makeCertificate(`${dir}`);
    await Deno.mkdir(`${dir}/other`);
    const other = await makeCertificate(`${dir}/other`);
    await Deno.writeTextFile(`${dir}/notes.txt`, "not a certificate\n");
    assertEquals(
      await serveFails(["--tls-cert", `${dir}/notes.txt`, "--tls-key", good.key], 1),
      `wirechat serve: --tls-cert "${dir}/notes.txt" holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line); give the certificate chain file, e.g. fullchain.pem.`,
    );
    assertEquals(
      await serveFails(["--tls-cert", good.key, "--tls-key", good.key], 1),
      `wirechat serve: --tls-cert "${good.key}" holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line); it looks like the private key, which goes to --tls-key; give the certificate chain file, e.g. fullchain.pem.`,
    );
    assertEquals(
      await serveFails(["--tls-cert", good.cert, "--tls-key", other.key], 1),
      `wirechat serve: --tls-key "${other.key}" does not belong to the certificate in --tls-cert "${good.cert}"; give the key that was generated with that certificate.`,
    );
    assertEquals(
      await serveFails(["--tls-cert", `${dir}/missing.pem`, "--tls-key", good.key], 1),
      `wirechat serve: cannot read --tls-cert "${dir}/missing.pem" (no such file); check the path.`,
    );
    assertEquals(
      await serveFails(["--tls-cert", good.cert], 2),
      "wirechat serve: --tls-cert needs --tls-key too (the PEM private key file for that certificate).",
    );
  });
});

Deno.test("operator error: --redis http://… says redis://host:port is expected, exit 2", async () => {
  assertEquals(
    await serveFails(["--redis", "http://127.0.0.1:6379"], 2),
    'wirechat serve: invalid value for --redis: "http://127.0.0.1:6379"; give a redis://host:port URL, e.g. redis://127.0.0.1:6379.',
  );
});

Deno.test("operator error: an unreachable Redis is one line at once (no warning, no 10 s wait), exit 1", async () => {
  const port = freePort();
  const t0 = performance.now();
  const line = await serveFails(["--redis", `redis://127.0.0.1:${port}`], 1);
  const elapsed = performance.now() - t0;
  assertEquals(
    line,
    `wirechat serve: cannot reach Redis for --redis redis://127.0.0.1:${port} (nothing accepts connections at 127.0.0.1:${port}); start redis-server there or correct --redis.`,
  );
  // Generous bound (busy CI machine): the point is not waiting for the client's 10 s start timeout.
  assertOk(elapsed < 8000, `took ${elapsed} ms`);
});

Deno.test("operator error: --allowed-origins and --limit-exempt refuse values that could never match", async () => {
  assertEquals(
    await serveFails(["--allowed-origins", "chat.example.org"], 2),
    'wirechat serve: invalid value for --allowed-origins: "chat.example.org"; give origins like https://chat.example.org (scheme, host and optional port; comma-separated) or *; "chat.example.org" is not one.',
  );
  assertEquals(
    await serveFails(["--limit-exempt", "127.0.0.1,proxy.local"], 2),
    'wirechat serve: invalid value for --limit-exempt: "127.0.0.1,proxy.local"; give IP addresses such as 127.0.0.1,::1 (comma-separated, no host names); "proxy.local" is not one.',
  );
});

async function clientFails(url: string, extra: string[] = []): Promise<string> {
  const r = await runMain(["client", "--url", url, "--nick", "alice", ...extra]);
  assertEquals(r.code, 1, r.stderr);
  return assertSentence(r.stderr, "wirechat client: ");
}

Deno.test("operator error: the client with wss:// against a plain server says it does not speak TLS, try ws://", async () => {
  await using s = await startTestServer();
  const wss = `wss://127.0.0.1:${s.port}/`;
  assertEquals(
    await clientFails(wss),
    `wirechat client: Could not connect to ${wss}: the server does not speak TLS on that port; try ws://127.0.0.1:${s.port}/ instead.`,
  );
  const wrongPath = `ws://127.0.0.1:${s.port}/chat`;
  assertEquals(
    await clientFails(wrongPath),
    `wirechat client: Could not connect to ${wrongPath}: the server answered HTTP 404 instead of a WebSocket (is it a Wirechat server, and is the path right? The chat is on /).`,
  );
});

Deno.test("operator error: the client with ws:// against a TLS server says it speaks TLS, try wss://", async () => {
  await withTempDir(async (dir) => {
    const { cert, key } = await makeCertificate(dir);
    await using s = await startTestServer({ tlsCert: cert, tlsKey: key });
    const ws = `ws://127.0.0.1:${s.port}/`;
    assertEquals(
      await clientFails(ws),
      `wirechat client: Could not connect to ${ws}: the server speaks TLS on that port; try wss://127.0.0.1:${s.port}/ instead.`,
    );
  });
});

Deno.test("operator error: a missing or empty --metrics-token-file names the file and the fix, exit 1", async () => {
  await withTempDir(async (dir) => {
    assertEquals(
      await serveFails(["--metrics-token-file", `${dir}/missing`], 1),
      `wirechat serve: cannot read --metrics-token-file "${dir}/missing" (no such file); check the path.`,
    );
    await Deno.writeTextFile(`${dir}/empty`, "\n");
    assertEquals(
      await serveFails(["--metrics-token-file", `${dir}/empty`], 1),
      `wirechat serve: --metrics-token-file "${dir}/empty" is empty; put the token on its first line.`,
    );
  });
});

Deno.test("operator error: healthcheck against nothing says so and where to point it; a non-http --url is a usage error", async () => {
  const url = `http://127.0.0.1:${freePort()}/healthz`;
  const down = await runMain(["healthcheck", "--url", url]);
  assertEquals(down.code, 1, down.stderr);
  assertEquals(
    assertSentence(down.stderr, "wirechat healthcheck: "),
    `wirechat healthcheck: ${url} is not reachable (nothing is listening there); start the server, or point --url (or WIRECHAT_HOST and WIRECHAT_PORT) at it.`,
  );
  const bad = await runMain(["healthcheck", "--url", "ws://127.0.0.1:12345/"]);
  assertEquals(bad.code, 2, bad.stderr);
  assertEquals(
    assertSentence(bad.stderr, "wirechat healthcheck: "),
    `wirechat healthcheck: invalid value for --url: "ws://127.0.0.1:12345/"; give the server's http:// or https:// health URL, e.g. http://127.0.0.1:12345/healthz.`,
  );
});

Deno.test("operator error: client usage errors are one sentence; an http:// --url suggests the ws:// one, exit 2", async () => {
  const web = await runMain(["client", "--url", "http://127.0.0.1:12345/", "--nick", "alice"]);
  assertEquals(web.code, 2, web.stderr);
  assertEquals(
    assertSentence(web.stderr, "wirechat client: "),
    'wirechat client: invalid value for --url: "http://127.0.0.1:12345/"; give a ws:// or wss:// URL, e.g. ws://127.0.0.1:12345/.',
  );
  const noNick = await runMain(["client", "--host", "127.0.0.1"]);
  assertEquals(noNick.code, 2, noNick.stderr);
  assertEquals(
    assertSentence(noNick.stderr, "wirechat client: "),
    "wirechat client: --nick is required when stdin is not a terminal (pipe mode); add --nick <name>.",
  );
});

Deno.test("operator error: a Redis that accepts but never answers is one line after the start timeout, no warning first", async () => {
  // A TCP listener that holds every connection and says nothing: the probe connects, the client waits.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  try {
    const url = `redis://127.0.0.1:${silent.addr.port}`;
    assertEquals(
      await serveFails(["--redis", url], 1),
      `wirechat serve: cannot reach Redis for --redis ${url} (no answer within 10000 ms); check that redis-server runs there and accepts connections, or correct --redis.`,
    );
  } finally {
    silent.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});

Deno.test({
  name:
    "operator error: a --log-dir this user may not write names the folder and the fix (not run as root: root may write)",
  ignore: Deno.uid() === 0,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/locked`, { mode: 0o555 });
      assertEquals(
        await serveFails(["--log-dir", `${dir}/locked/logs`], 1),
        `wirechat serve: the log folder "${dir}/locked/logs" is not writable by this user; change its owner or mode (chown/chmod), or pick another folder with --log-dir.`,
      );
      await Deno.chmod(`${dir}/locked`, 0o755);
    }),
});
