/**
 * Interoperability: two independent clients written with python-websockets
 * (Debian's python3-websockets, the library of the original Wirechat server)
 * see exactly the lines the contract specifies.
 *
 * @module
 */
import { assertEquals, assertMatch } from "./assert.ts";
import { startTestServer } from "./helpers.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("./clients/py_two_clients.py", import.meta.url).pathname;
const TS = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`;

Deno.test("python-websockets clients chat through the server exactly as the contract says", async () => {
  await using s = await startTestServer();
  const out = await new Deno.Command(PYTHON, { args: [SCRIPT, s.url], stdin: "null" }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assertEquals(out.code, 0, `python client failed: ${stderr}`);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(r.a.slice(0, 3), [
    "SYS Welcome to Wirechat 0.1.0",
    "SYS Send: NICK <name>",
    "SYS pyalice joined the chat!",
  ]);
  assertMatch(r.a[3], new RegExp(`^MSG \\[${TS}\\] pyalice: first from python$`));
  assertEquals(r.a.slice(4, 5), ["SYS pybob joined the chat!"]);
  assertMatch(r.a[5], new RegExp(`^MSG \\[${TS}\\] pybob: reply from bob$`));
  assertEquals(r.a.slice(6), ["SYS pybob left the chat!"]);
  assertEquals(r.b.slice(0, 3), [
    "SYS Welcome to Wirechat 0.1.0",
    "SYS Send: NICK <name>",
    "ERR Nickname already in use",
  ]);
  assertEquals(r.refused_close, [1000, "Nickname already in use"]);
  assertEquals(r.b.slice(3, 9), [
    "SYS Welcome to Wirechat 0.1.0",
    "SYS Send: NICK <name>",
    "SYS pybob joined the chat!",
    "SYS Replay start (1 messages)",
    r.a[3],
    "SYS Replay end",
  ]);
  assertEquals(r.b[9], "SYS Online (2): pyalice, pybob");
  assertEquals(r.b[10], r.a[5]);
  assertEquals(r.b[11], "ERR Unknown command: BOGUS");
  assertEquals(r.quit_close[0], 1000);
});
