/**
 * Issue 17 finding 9, DNS rebinding: the Host allow-list, against a real
 * server with raw requests (fetch cannot choose its Host), and the list's
 * defaults as a pure function.
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { rawRequest, upgradeStatus } from "./raw_ws.ts";
import { createHostAllowList, hostAllowed } from "../server/transports/allowed_hosts.ts";
import { SERVE_FLAGS } from "./server_process.ts";
import { WSCHAT_PATH } from "../server/dialects/wschat.ts";

/** The outcome of an upgrade naming `host`: "101" or the refusal's status code. */
function upgrade(port: number, host: string, headers: Record<string, string> = {}, path = "/"): Promise<string> {
  return upgradeStatus(port, headers, path, host);
}

Deno.test("DNS rebinding: Host and Origin evil.example are refused with 421 on upgrades and every route", async () => {
  await using t = await startTestServer();
  await using watcher = await join(t.url, "watcher");
  const evil = { Origin: "http://evil.example" };
  assertEquals(await upgrade(t.port, "evil.example", evil), "421");
  assertEquals(await upgrade(t.port, `evil.example:${t.port}`, evil), "421", "with the port");
  assertEquals(await upgrade(t.port, "evil.example", evil, WSCHAT_PATH), "421", "the wschat path");
  for (const path of ["/", "/healthz", "/metrics", "/app.js", "/nothing"]) {
    const res = await rawRequest(t.port, path, `evil.example:${t.port}`, evil);
    assertEquals(res.status, 421, path);
    assertMatch(res.body, /does not answer to that Host name \(see --allowed-hosts\)/);
  }
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "host" }), 8);
  assertEquals(t.server.metrics.value("wirechat_connections_refused_total", { reason: "origin" }), 0, "Host first");
  watcher.send("WHO");
  await watcher.expect("SYS Online (1): watcher");
});

Deno.test("Host allow-list: localhost, loopback literals, the listening address and --allowed-hosts names pass", async () => {
  await using t = await startTestServer({ allowedHosts: "chat.example, Other.Example" });
  const p = t.port;
  for (
    const host of ["localhost", `localhost:${p}`, "127.0.0.1", `127.0.0.1:${p}`, "[::1]", `[::1]:${p}`, "LOCALHOST."]
  ) {
    assertEquals(await upgrade(p, host), "101", host);
    assertEquals((await rawRequest(p, "/healthz", host)).status, 200, host);
  }
  assertEquals(await upgrade(p, "chat.example", { Origin: "https://chat.example" }), "101", "a configured name");
  assertEquals(await upgrade(p, "CHAT.example:443"), "101", "names compare without case and port");
  assertEquals(await upgrade(p, "other.example"), "101");
  assertEquals((await rawRequest(p, "/", "chat.example")).status, 200, "the page");
  assertEquals(await upgrade(p, "evil.example"), "421");
  assertEquals(await upgrade(p, "chat.example.evil.example"), "421");
  assertEquals(await upgrade(p, "127.0.0.2"), "421", "another loopback address is not the listening one");
});

Deno.test("Host allow-list: * serves any Host (the Origin check still applies)", async () => {
  await using t = await startTestServer({ allowedHosts: "*" });
  assertEquals(await upgrade(t.port, "anything.example"), "101");
  assertEquals(await upgrade(t.port, "anything.example", { Origin: "http://evil.example" }), "403");
});

Deno.test("Host allow-list: on 0.0.0.0 or :: the machine's addresses and hostname are added, else not", () => {
  const machine = () => ({ names: ["10.1.2.3", "fe80::1", "MyHost"] });
  for (const listen of ["0.0.0.0", "::"]) {
    const list = createHostAllowList(listen, [], machine);
    for (const host of ["10.1.2.3:12345", "[fe80::1]", "myhost", "localhost"]) {
      assertEquals(hostAllowed(host, list), true);
    }
    assertEquals(hostAllowed("evil.example", list), false);
  }
  const specific = createHostAllowList("10.9.9.9", ["a.example"], machine);
  assertEquals(["10.9.9.9:1", "a.example", "10.1.2.3", "myhost"].map((h) => hostAllowed(h, specific)), [
    true,
    true,
    false,
    false,
  ]);
  assertEquals(hostAllowed(null, specific), false, "no Host at all");
  assertEquals(hostAllowed("a b", specific), false, "not a host");
});

Deno.test("the serve task's permissions let a server on 0.0.0.0 or :: read this machine's addresses and hostname", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-sys-" });
  try {
    const module = new URL("../server/transports/allowed_hosts.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/probe.ts`,
      `import { machineNames } from ${JSON.stringify(module)};\nconsole.log(JSON.stringify(machineNames()));\n`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...SERVE_FLAGS, `${dir}/probe.ts`],
      stdin: "null",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const machine = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(machine.problem, undefined);
    assertEquals(machine.names.includes(Deno.hostname()), true);
    assertEquals(machine.names.includes("127.0.0.1"), true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
