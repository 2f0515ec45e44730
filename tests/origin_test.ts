/**
 * The Origin check on WebSocket upgrades, against a real server.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { upgradeStatus as status } from "./raw_ws.ts";

Deno.test("origin: default allows no Origin and the server's own origin, refuses others with 403", async () => {
  await using t = await startTestServer();
  await using watcher = await join(t.url, "watcher");
  const own = `http://127.0.0.1:${t.port}`;
  assertEquals(await status(t.port, {}), "101", "a non-browser client without Origin");
  assertEquals(await status(t.port, { Origin: own }), "101");
  assertEquals(await status(t.port, { Origin: `https://127.0.0.1:${t.port}` }), "101", "https behind a proxy");
  assertEquals(await status(t.port, { Origin: "http://evil.example" }), "403");
  assertEquals(await status(t.port, { Origin: `http://127.0.0.1:${t.port + 1}` }), "403", "another port");
  assertEquals(await status(t.port, { Origin: "null" }), "403", "a sandboxed or file:// page");
  assertEquals(await status(t.port, { Origin: "not a url" }), "403");
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "origin" }), 4);
  // Refused attempts never reached the room.
  watcher.send("WHO");
  await watcher.expect("SYS Online (1): watcher");
});

Deno.test("origin: --allowed-origins replaces the default; * allows any", async () => {
  {
    await using t = await startTestServer({ allowedOrigins: "https://chat.example, https://other.example:8443" });
    assertEquals(await status(t.port, { Origin: "https://chat.example" }), "101");
    assertEquals(await status(t.port, { Origin: "https://other.example:8443" }), "101");
    assertEquals(await status(t.port, { Origin: "HTTPS://CHAT.EXAMPLE:443" }), "101", "normalized");
    assertEquals(await status(t.port, { Origin: `http://127.0.0.1:${t.port}` }), "403");
    assertEquals(await status(t.port, {}), "101");
  }
  {
    await using t = await startTestServer({ allowedOrigins: "*" });
    assertEquals(await status(t.port, { Origin: "http://anything.example" }), "101");
  }
});

Deno.test("origin: a refused upgrade answers with a plain-text 403 body", async () => {
  await using t = await startTestServer();
  const res = await fetch(`http://127.0.0.1:${t.port}/`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      origin: "http://evil.example",
    },
  });
  assertEquals(res.status, 403);
  assertMatch(await res.text(), /Origin not allowed/);
});
