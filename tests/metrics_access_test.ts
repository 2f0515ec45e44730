/**
 * Issue 17 finding 12: `/metrics` and the `/healthz` counts are not public.
 * Every socket on this machine comes from loopback, so the non-loopback
 * peer is covered two ways: the trust decision as a pure function of the
 * address, and real requests to a server configured to trust no address
 * (`--metrics-peers ""`), which takes the same path an outside peer takes.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { startTestServer } from "./helpers.ts";
import { isLoopback, peerTrusted } from "../server/ops/metrics_access.ts";
import { parseServerArgs, serverUsage, UsageError } from "../server/ops/config.ts";

const TOKEN = "s3cret-token";

async function get(port: number, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

Deno.test("metrics trust: loopback addresses only, by default; --metrics-peers lists exact addresses", () => {
  for (const a of ["127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1"]) assertOk(isLoopback(a), a);
  for (const a of ["10.0.0.1", "192.168.1.2", "::2", "fe80::1", "::ffff:10.0.0.1", "127.0.0.1.example", "0.0.0.0"]) {
    assertOk(!isLoopback(a), a);
    assertOk(!peerTrusted(a, ["loopback"]), a);
  }
  assertOk(peerTrusted("10.0.0.7", ["loopback", "10.0.0.7"]));
  assertOk(!peerTrusted("10.0.0.70", ["10.0.0.7"]));
  assertOk(peerTrusted("::ffff:10.0.0.7", ["10.0.0.7"]), "an IPv4 peer of a dual-stack listener");
  assertOk(!peerTrusted("127.0.0.1", []), "empty: nobody by address");
});

Deno.test("metrics: an untrusted peer gets 401 without a token, 403 with a wrong one, 200 with the right one", async () => {
  await using t = await startTestServer({ metricsPeers: "", metricsToken: TOKEN });
  const none = await get(t.port, "/metrics");
  assertEquals(none.status, 401);
  assertEquals(none.body, "Metrics need a token: send Authorization: Bearer <token>\n");
  assertMatch(none.headers.get("www-authenticate") ?? "", /^Bearer /);
  for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, "Bearer ", `Basic ${TOKEN}`, TOKEN]) {
    const wrong = await get(t.port, "/metrics", { authorization: auth });
    assertEquals(wrong.status, 403, auth);
    assertEquals(wrong.body, "Metrics: token refused\n");
  }
  const right = await get(t.port, "/metrics", { authorization: `Bearer ${TOKEN}` });
  assertEquals(right.status, 200);
  assertMatch(right.body, /^wirechat_connected_clients \d+$/m);
});

Deno.test("healthz: status only for an untrusted peer, counts for a trusted one or the token", async () => {
  await using t = await startTestServer({ metricsPeers: "", metricsToken: TOKEN });
  assertEquals(JSON.parse((await get(t.port, "/healthz")).body), { status: "ok" });
  assertEquals(JSON.parse((await get(t.port, "/healthz", { authorization: "Bearer wrong" })).body), { status: "ok" });
  const withToken = JSON.parse((await get(t.port, "/healthz", { authorization: `Bearer ${TOKEN}` })).body);
  assertEquals(Object.keys(withToken), ["status", "connections", "members"]);
  await using local = await startTestServer();
  assertEquals(Object.keys(JSON.parse((await get(local.port, "/healthz")).body)), ["status", "connections", "members"]);
});

Deno.test("metrics: loopback is trusted by default, but not a request relayed by a proxy", async () => {
  await using t = await startTestServer();
  assertEquals((await get(t.port, "/metrics")).status, 200);
  for (const header of ["x-forwarded-for", "x-real-ip", "forwarded"]) {
    const proxied = await get(t.port, "/metrics", { [header]: "for=203.0.113.9" });
    assertEquals(proxied.status, 403, header);
    assertEquals(
      proxied.body,
      "Metrics are served to trusted peers only (see --metrics-peers and WIRECHAT_METRICS_TOKEN)\n",
    );
    assertEquals(JSON.parse((await get(t.port, "/healthz", { [header]: "203.0.113.9" })).body), { status: "ok" });
  }
});

Deno.test("metrics token: read from --metrics-token-file; never a command-line value", async () => {
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, `${TOKEN}\n`);
    await using t = await startTestServer({ metricsPeers: "", metricsTokenFile: file });
    assertEquals((await get(t.port, "/metrics", { authorization: `Bearer ${TOKEN}` })).status, 200);
  } finally {
    await Deno.remove(file);
  }
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  let err: unknown;
  try {
    parseServerArgs(["--metrics-token", TOKEN], env({}));
  } catch (e) {
    err = e;
  }
  assertOk(err instanceof UsageError);
  assertMatch(err.message, /--metrics-token is not a flag.*WIRECHAT_METRICS_TOKEN/);
  const parsed = parseServerArgs([], env({ WIRECHAT_METRICS_TOKEN: TOKEN }));
  assertEquals(parsed.kind === "run" && parsed.config.metricsToken, TOKEN);
  assertMatch(serverUsage(), /^ {2}WIRECHAT_METRICS_TOKEN {2}bearer token/m);
  assertOk(!serverUsage().includes("--metrics-token "), "no such flag in --help");
});
