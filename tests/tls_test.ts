/**
 * Native TLS: a certificate made by `openssl` in a temporary folder, a real
 * server speaking https:// and wss://, and TLS handshake garbage.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { defaultServerConfig } from "../server/ops/config.ts";
import { startServer } from "../server/server.ts";
import { startTestServer } from "./helpers.ts";
import { rawHandshake, type RawSocket, writeAll } from "./raw_ws.ts";
import { makeCertificate } from "./tls_cert.ts";

async function tlsJoin(port: number, ca: string, nick: string): Promise<RawSocket> {
  const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca] });
  const sock = await rawHandshake(conn, `127.0.0.1:${port}`);
  await sock.until("SYS Send: NICK <name>");
  await sock.sendText(`NICK ${nick}`);
  await sock.until(`SYS ${nick} joined the chat!`);
  return sock;
}

Deno.test("tls: --tls-cert/--tls-key serve wss:// and https://; handshake garbage does no harm", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-tls-" });
  try {
    const files = await makeCertificate(dir);
    const ca = await Deno.readTextFile(files.cert);
    await using t = await startTestServer({ tlsCert: files.cert, tlsKey: files.key });

    const alice = await tlsJoin(t.port, ca, "alice");
    await alice.sendText("MSG over tls");
    await alice.until(/^MSG \[.+\] alice: over tls$/);

    const client = Deno.createHttpClient({ caCerts: [ca] });
    const res = await fetch(`https://127.0.0.1:${t.port}/healthz`, { client });
    assertEquals(res.status, 200);
    assertEquals((await res.json()).status, "ok");
    client.close();

    // Garbage instead of a ClientHello, a truncated ClientHello, and plain HTTP to the TLS port.
    const hostile = [
      crypto.getRandomValues(new Uint8Array(4096)),
      new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]),
      new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ];
    const pending: Deno.Conn[] = [];
    for (const bytes of hostile) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
      await writeAll(conn, bytes);
      if (bytes.length < 100) {
        pending.push(conn); // a truncated ClientHello stays half-open while others are served
        continue;
      }
      // The server ends the connection (an alert, then close); it does not hang on it.
      const buf = new Uint8Array(1024);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const got = await Promise.race([
        (async () => {
          try {
            while ((await conn.read(buf)) !== null) { /* alert bytes */ }
          } catch { /* reset */ }
          return "closed";
        })(),
        new Promise<string>((r) => timer = setTimeout(() => r("open"), 5000)),
      ]);
      clearTimeout(timer);
      conn.close();
      assertEquals(got, "closed");
    }

    // The server still serves: a second member joins and alice sees it once.
    const bob = await tlsJoin(t.port, ca, "bob");
    await alice.until("SYS bob joined the chat!");
    await bob.sendText("QUIT");
    assertEquals(await bob.closeCode(), 1000);
    bob.close();
    await alice.until("SYS bob left the chat!");
    await alice.sendText("WHO");
    await alice.until("SYS Online (1): alice");
    alice.close();
    for (const conn of pending) conn.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls: the serve task's permissions are enough for wss://", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-tls-serve-" });
  try {
    const files = await makeCertificate(dir);
    const ca = await Deno.readTextFile(files.cert);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env=WIRECHAT_*,WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE",
        "main.ts",
        "serve",
        "--port=0",
        `--log-dir=${dir}/logs`,
        `--tls-cert=${files.cert}`,
        `--tls-key=${files.key}`,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let text = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    const signal = AbortSignal.timeout(20_000);
    let port = 0;
    while (!port && !signal.aborted) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const m = /Listening on wss:\/\/127\.0\.0\.1:(\d+)\//.exec(text);
      if (m) port = Number(m[1]);
    }
    assertOk(port > 0, `no wss:// listening line in: ${text}`);
    const sock = await tlsJoin(port, ca, "carol");
    sock.close();
    child.kill("SIGTERM");
    while (!(await reader.read()).done) { /* drain */ }
    const status = await child.status;
    assertEquals(status.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tls: only one of --tls-cert/--tls-key is a clear startup error", async () => {
  let error = "";
  try {
    const server = await startServer(defaultServerConfig({ port: 0, tlsCert: "/nonexistent/cert.pem" }));
    await server.shutdown();
  } catch (err) {
    error = String(err);
  }
  assertMatch(error, /--tls-cert and --tls-key go together; give both files or neither\./);
});
