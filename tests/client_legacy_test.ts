/**
 * Compatibility with the original Wirechat server (a python-websockets
 * stand-in with its quirks): the terminal client in pipe mode and the
 * connection wrapper use only the core commands and cope with one-line
 * frames, zone-less timestamps and the original's error texts.
 */
import { createConnection, type LineInfo } from "../client/connection.ts";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { WAIT_MS } from "./helpers.ts";
import { startLegacyServer } from "./legacy_server.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const LOCAL_TS = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d`;

async function pipeClient(url: string, nick: string, input: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-env=WIRECHAT_*,NO_COLOR,TERM", "main.ts", "client"]
      .concat(["--url", url, "--nick", nick]),
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(input));
  await w.close();
  const out = await child.output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout).trimEnd().split("\n"),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("legacy server: pipe mode joins, sends, runs WHO, replays, and quits with exit 0", async () => {
  await using legacy = await startLegacyServer();
  const first = await pipeClient(legacy.url, "bot", "hello from the pipe\n/who\n");
  assertEquals(first.code, 0, first.stderr);
  assertEquals(first.stdout.slice(0, 3), [
    "SYS Welcome to Wirechat!",
    "SYS Send: NICK <name>",
    "SYS bot joined the chat!",
  ]);
  assertMatch(first.stdout[3], new RegExp(`^MSG \\[${LOCAL_TS}\\] bot: hello from the pipe$`));
  assertEquals(first.stdout.slice(4), ["SYS Online (1): bot"]);
  const second = await pipeClient(legacy.url, "bot", "");
  assertEquals(second.code, 0, second.stderr);
  assertEquals(second.stdout[3], "SYS Replay start (1 messages)");
  assertEquals(second.stdout[4], first.stdout[3]);
  assertEquals(second.stdout[5], "SYS Replay end");
  const again = await pipeClient(legacy.url, "bot", "");
  assertEquals(again.code, 0, "bot left, so the nickname is free again");
  const invalid = await pipeClient(legacy.url, "a b", "");
  assertEquals(invalid.code, 1);
  assertEquals(invalid.stderr.trim(), "wirechat client: The server refused the nickname: Invalid nickname.");
});

Deno.test("legacy server: the connection wrapper joins without the batch subprotocol and quits cleanly", async () => {
  await using legacy = await startLegacyServer();
  const lines: LineInfo[] = [];
  const conn = createConnection({ url: legacy.url, onLine: (i) => lines.push(i) });
  await conn.join("alice");
  conn.send({ type: "msg", text: "one" });
  conn.send({ type: "who" });
  const deadline = AbortSignal.timeout(WAIT_MS);
  while (!lines.some((l) => l.event.type === "who")) {
    if (deadline.aborted) throw new Error(`no WHO answer: ${JSON.stringify(lines.map((l) => l.line))}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const msg = lines.find((l) => l.event.type === "msg");
  assertOk(msg?.event.type === "msg" && msg.event.nick === "alice" && msg.event.text === "one", JSON.stringify(msg));
  await conn.quit();
  assertEquals(conn.state, "closed");
});
