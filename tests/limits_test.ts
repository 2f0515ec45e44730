/**
 * Connection limits at their edges, against a real server: total clients,
 * clients per address, new connections per address per minute, the
 * registration deadline, and the options that set them.
 */
import { parseServerArgs, UsageError } from "../server/ops/config.ts";
import { addressOf, createAdmission } from "../server/core/limits.ts";
import { assertEquals, assertMatch, assertOk, assertThrows } from "./assert.ts";
import { connect, join, startTestServer, waitUntil } from "./helpers.ts";
import { connectTcp } from "./line_client.ts";
import { rawConnect } from "./raw_ws.ts";

Deno.test("limits: max clients total; the next one gets ERR Server full and close 1013", async () => {
  await using t = await startTestServer({ maxClients: 2 });
  await using a = await join(t.url, "alice");
  await using b = await connect(t.url);
  await b.until("SYS Send: NICK <name>");
  const c = await connect(t.url);
  await c.expect("ERR Server full");
  assertEquals(await c.closed, { code: 1013, reason: "Server full" });
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "server_full" }), 1);
  // Room for one again once somebody leaves.
  await b.close();
  // b never joined, so there is no leave notice to await: watch the registry (bounded).
  await waitUntil("b's slot to be released", () => t.server.context.admission.total() <= 1);
  await using d = await join(t.url, "dave");
  d.send("WHO");
  await d.expect("SYS Online (2): alice, dave");
  assertEquals(a.lines.filter((l) => l.includes("left the chat")), []);
});

Deno.test("limits: max clients per address (loopback not exempt here)", async () => {
  await using t = await startTestServer({ maxClientsPerAddress: 2, limitExempt: "" });
  await using a = await join(t.url, "a1");
  const b = await join(t.url, "a2");
  const c = await connect(t.url);
  await c.expect("ERR Server full");
  assertEquals((await c.closed).code, 1013);
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "address_full" }), 1);
  assertEquals(t.server.context.admission.openFrom("127.0.0.1"), 2);
  b.send("QUIT");
  await b.closed;
  await a.until("SYS a2 left the chat!");
  // The leave notice goes out when the server closes; the slot is released only once the server has read
  // the client's close frame, which may come after the client already saw its close.
  await waitUntil("a2's slot to be released", () => t.server.context.admission.openFrom("127.0.0.1") < 2);
  await using d = await join(t.url, "a3");
  assertEquals(t.server.context.admission.openFrom("127.0.0.1"), 2);
  d.send("WHO");
  await d.expect("SYS Online (2): a1, a3");
});

Deno.test("limits: loopback is exempt from per-address limits by default", async () => {
  await using t = await startTestServer({ maxClientsPerAddress: 1 });
  await using a = await join(t.url, "one");
  await using b = await join(t.url, "two");
  b.send("WHO");
  await b.expect("SYS Online (2): one, two");
  assertOk(a);
});

Deno.test("limits: new connections per address per minute; the next gets HTTP 429", async () => {
  await using t = await startTestServer({ connectsPerMinute: 3, limitExempt: "" });
  for (let i = 0; i < 3; i++) {
    const c = await connect(t.url);
    await c.until("SYS Send: NICK <name>");
    await c.close();
  }
  let refusal = "";
  try {
    (await rawConnect(t.port)).close();
  } catch (err) {
    refusal = String(err);
  }
  assertMatch(refusal, /HTTP\/1\.1 429/);
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "connect_rate" }), 1);
  // Other routes are not affected.
  const health = await fetch(`http://127.0.0.1:${t.port}/healthz`);
  assertEquals(health.status, 200);
  await health.body?.cancel();
});

Deno.test("limits: connect rate refills over time (injected clock)", () => {
  let now = 0;
  const a = createAdmission(
    { maxClients: 100, maxClientsPerAddress: 100, connectsPerMinute: 2, exempt: [] },
    () => now,
  );
  assertEquals([a.check("10.0.0.1", 0), a.check("10.0.0.1", 0), a.check("10.0.0.1", 0)], [
    undefined,
    undefined,
    "connect_rate",
  ]);
  assertEquals(a.check("10.0.0.2", 0), undefined, "another address has its own budget");
  now = 29_999;
  assertEquals(a.check("10.0.0.1", 0), "connect_rate");
  now = 30_000 + 29_999; // one token per 30 s
  assertEquals(a.check("10.0.0.1", 0), undefined);
  assertEquals(a.check("10.0.0.1", 0), "connect_rate");
});

Deno.test("limits: addressOf strips the port", () => {
  assertEquals(addressOf("1.2.3.4:5678"), "1.2.3.4");
  assertEquals(addressOf("[::1]:80"), "::1");
  assertEquals(addressOf("::1"), "::1");
});

Deno.test("limits: registration deadline closes a silent connection with ERR and 1008", async () => {
  await using t = await startTestServer({ registrationTimeout: 1 });
  const started = Date.now();
  await using silent = await connect(t.url);
  await using joiner = await connect(t.url);
  await joiner.until("SYS Send: NICK <name>");
  joiner.send("NICK quick");
  await joiner.until("SYS quick joined the chat!");
  await silent.until("ERR Registration timeout", 3000);
  assertEquals(await silent.closed, { code: 1008, reason: "Registration timeout" });
  const took = Date.now() - started;
  assertOk(took >= 950 && took < 2500, `closed after ${took} ms`);
  // The member who joined in time is still there, and nobody saw a leave notice.
  joiner.send("WHO");
  await joiner.expect("SYS Online (1): quick");
  assertEquals(joiner.lines.filter((l) => l.includes("left the chat")), []);
  assertEquals(t.server.metrics.value("wirechat_errors_total", { code: "registration_timeout" }), 1);
});

Deno.test("limits: every limit is a server option with an environment variable", () => {
  const parsed = parseServerArgs([
    "--max-clients=5",
    "--max-clients-per-address=4",
    "--connects-per-minute=3",
    "--registration-timeout=2",
    "--allowed-origins=https://a.example",
    "--tls-cert=c.pem",
    "--tls-key=k.pem",
  ], (name) => name === "WIRECHAT_LIMIT_EXEMPT" ? "10.0.0.1" : undefined);
  if (parsed.kind !== "run") throw new Error("expected a config");
  const c = parsed.config;
  assertEquals(
    [c.maxClients, c.maxClientsPerAddress, c.connectsPerMinute, c.registrationTimeout, c.allowedOrigins, c.limitExempt],
    [5, 4, 3, 2, "https://a.example", "10.0.0.1"],
  );
  assertEquals([c.tlsCert, c.tlsKey], ["c.pem", "k.pem"]);
  let error = "";
  try {
    parseServerArgs(["--max-clients=0"], () => undefined);
  } catch (err) {
    error = String(err);
  }
  assertMatch(error, /--max-clients/);
});

Deno.test("limits: the deadline and the total cap cover plain-TCP clients too", async () => {
  await using t = await startTestServer({ tcpPort: 0, registrationTimeout: 1, maxClients: 2 });
  const tcpPort = t.server.tcpAddr!.port;
  await using member = await connectTcp(tcpPort);
  member.send("NICK tcpuser");
  for (let line = ""; line !== "SYS tcpuser joined the chat!";) line = await member.next();
  await using silent = await connectTcp(tcpPort); // never registers
  // Two connections open, both over TCP: a WebSocket client is refused.
  const ws = await connect(t.url);
  await ws.expect("ERR Server full");
  assertEquals((await ws.closed).code, 1013);
  // The silent TCP client is told why and dropped; then there is room again.
  for (let line = ""; line !== "ERR Registration timeout";) line = await silent.next(3000);
  await silent.closed;
  // The client answers the server's FIN with its own; the server frees the slot once it has read that FIN.
  await waitUntil("the silent client's slot to be released", () => t.server.context.admission.total() < 2);
  await using late = await join(t.url, "late");
  late.send("WHO");
  await late.expect("SYS Online (2): late, tcpuser");
});

Deno.test("limits: every listener asks the kernel for --listen-backlog; the option is bounded at its edges", async () => {
  const parse = (value: string) => parseServerArgs([`--listen-backlog=${value}`], () => undefined);
  for (const bad of ["0", "65536", "1.5"]) assertThrows(() => parse(bad), UsageError);
  for (const [value, want] of [["1", 1], ["65535", 65_535]] as const) {
    const parsed = parse(value);
    assertEquals(parsed.kind === "run" && parsed.config.listenBacklog, want);
  }
  const fromEnv = parseServerArgs([], (name) => name === "WIRECHAT_LISTEN_BACKLOG" ? "77" : undefined);
  assertEquals(fromEnv.kind === "run" && fromEnv.config.listenBacklog, 77);

  await using t = await startTestServer({ tcpPort: 0, riftchatPort: 0, listenBacklog: 1234 });
  // `ss` shows a listening socket's backlog in its Send-Q column.
  for (const port of [t.port, t.server.tcpAddr!.port, t.server.riftchatAddr!.port]) {
    const out = await new Deno.Command("ss", { args: ["-Hltn", `sport = :${port}`], stdout: "piped" }).output();
    const columns = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
    assertEquals(columns[0], "LISTEN", `port ${port}`);
    assertEquals(columns[2], "1234", `the backlog of port ${port}`);
  }
});
