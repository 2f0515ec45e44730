/**
 * `/healthz` and `/metrics` against a real server: the status JSON, 503 while
 * shutting down, and a Prometheus exposition with every operational series.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { parseExposition } from "./exposition.ts";
import { join, startTestServer } from "./helpers.ts";
import { readToEnd, writeAll } from "./raw_ws.ts";

async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  assertEquals(res.status, 200);
  assertMatch(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

Deno.test("healthz: 200 with a small JSON status", async () => {
  await using t = await startTestServer();
  await using _a = await join(t.url, "alice");
  const res = await fetch(`http://127.0.0.1:${t.port}/healthz`);
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "application/json");
  const body = await res.json();
  assertEquals([body.status, body.connections, body.members], ["ok", 1, 1]);
});

Deno.test("healthz: 503 while shutting down", async () => {
  await using t = await startTestServer();
  // A request already on its way when shutdown begins: headers sent, final CRLF not yet.
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: t.port });
  await writeAll(conn, new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"));
  // A member keeps the server in its close handshake for a moment.
  const a = await join(t.url, "alice");
  const stopping = t.server.shutdown();
  await a.until("SYS Server shutting down");
  await writeAll(conn, new TextEncoder().encode("\r\n"));
  const answer = await readToEnd(conn);
  await a.closed;
  await stopping;
  assertMatch(answer, /^HTTP\/1\.1 503/);
  assertMatch(answer, /"status":"shutting_down"/);
});

Deno.test("metrics: the exposition has every operational series and they move", async () => {
  await using t = await startTestServer({ rateBurst: 3, ratePerSecond: 0.001 });
  const before = await scrape(t.port);
  for (
    const name of [
      "wirechat_connected_clients",
      "wirechat_joined_members",
      "wirechat_messages_total",
      "wirechat_bytes_in_total",
      "wirechat_bytes_out_total",
      "wirechat_lines_out_total",
      "wirechat_frames_in_total",
      "wirechat_errors_total",
      "wirechat_slow_consumer_disconnects_total",
      "wirechat_log_write_failures_total",
      "wirechat_connections_refused_total",
      "wirechat_uptime_seconds",
      "wirechat_process_resident_memory_bytes",
      "wirechat_process_heap_used_bytes",
      "wirechat_process_heap_total_bytes",
      "wirechat_process_external_memory_bytes",
    ]
  ) assertOk(before.has(name), `missing ${name}`);
  assertEquals(before.get("wirechat_connected_clients"), 0);

  await using a = await join(t.url, "alice"); // NICK: 1 token
  a.send("MSG héllo"); // 1 token
  await a.until(/^MSG .* alice: héllo$/);
  a.send("BOGUS"); // 1 token: unknown command
  await a.expect("ERR Unknown command: BOGUS");
  a.send("MSG flood"); // bucket empty
  await a.expect("ERR Rate limit exceeded");

  const m = await scrape(t.port);
  assertEquals(m.get("wirechat_connected_clients"), 1);
  assertEquals(m.get("wirechat_joined_members"), 1);
  assertEquals(m.get("wirechat_messages_total"), 1);
  assertEquals(m.get('wirechat_errors_total{code="unknown_command"}'), 1);
  assertEquals(m.get('wirechat_errors_total{code="rate_limited"}'), 1);
  assertEquals(m.get('wirechat_connections_total{kind="ws/line"}'), 1);
  assertOk((m.get("wirechat_bytes_in_total") ?? 0) >= "NICK aliceMSG héllo".length);
  // Every line the client received was counted out in wire bytes: its UTF-8 bytes and its frame's 2-byte header.
  const received = a.lines.reduce((n, l) => n + new TextEncoder().encode(l).length, 0);
  assertOk(a.lines.every((l) => l.length < 126), "short lines: 2-byte frame headers");
  assertEquals(m.get("wirechat_bytes_out_total"), received + 2 * a.lines.length);
  assertEquals(m.get("wirechat_lines_out_total"), a.lines.length);
  assertOk((m.get("wirechat_process_resident_memory_bytes") ?? 0) > 1024 * 1024);
  const [used, reserved] = [
    m.get("wirechat_process_heap_used_bytes") ?? 0,
    m.get("wirechat_process_heap_total_bytes") ?? 0,
  ];
  assertOk(used > 1024 * 1024 && used <= reserved, `heap ${used} of ${reserved}`);
  assertOk((m.get("wirechat_process_external_memory_bytes") ?? 0) > 0);
  assertOk((m.get("wirechat_uptime_seconds") ?? -1) >= 0);
});
