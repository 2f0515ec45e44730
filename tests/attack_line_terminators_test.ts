/**
 * Issue 17, finding 6: messages holding U+2028 or U+2029 vanished from the
 * replay after a restart (the log parser's `.` does not match them). One
 * test per Unicode line terminator, against a real server restarted on the
 * same log folder: each is either refused by the text rules with `ERR` (and
 * nothing of it is stored), or stored and replayed exactly.
 */
import { assertEquals } from "./assert.ts";
import { join, startTestServer } from "./helpers.ts";
import { formatLogLine, parseLogLine } from "../server/core/message_log.ts";

const REFUSED = "ERR Message contains control characters";

/** Starts a server on `logDir`, joins `nick`, returns the replayed lines (empty when nothing was replayed). */
async function replayAfterRestart(logDir: string, nick: string): Promise<string[]> {
  await using t = await startTestServer({ logDir });
  await using c = await join(t.url, nick);
  c.send("PING sync");
  const lines: string[] = [];
  for (let line = await c.next(); line !== "PONG sync"; line = await c.next()) {
    if (line.startsWith("MSG ")) lines.push(line);
  }
  return lines;
}

/** Sends `MSG a<terminator>b` in one WebSocket frame; returns the echo or the ERR line, the log files' text and the replay after a restart. */
async function sendAndRestart(
  terminator: string,
): Promise<{ answer: string; live: string[]; replay: string[]; files: string }> {
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-terminator-" });
  try {
    const live: string[] = [];
    let answer: string;
    {
      await using t = await startTestServer({ logDir });
      await using alice = await join(t.url, "alice");
      alice.send(`MSG a${terminator}b`);
      answer = await alice.next();
      if (answer.startsWith("MSG ")) live.push(answer);
      alice.send("MSG after");
      live.push(await alice.until(/^MSG .*: after$/));
    }
    let files = "";
    for (const e of Deno.readDirSync(logDir)) {
      if (e.name.endsWith("-messages.txt")) files += Deno.readTextFileSync(`${logDir}/${e.name}`);
    }
    return { answer, live, replay: await replayAfterRestart(logDir, "bob"), files };
  } finally {
    await Deno.remove(logDir, { recursive: true });
  }
}

async function assertRefused(terminator: string) {
  const { answer, live, replay } = await sendAndRestart(terminator);
  assertEquals(answer, REFUSED);
  assertEquals(replay, live, "only the accepted message is stored");
  assertEquals(replay.length, 1);
}

async function assertReplayedExactly(terminator: string) {
  const { answer, live, replay, files } = await sendAndRestart(terminator);
  assertEquals(answer.endsWith(`: a${terminator}b`), true, JSON.stringify(answer));
  assertEquals(replay, live, "the replay after a restart is exactly what was broadcast");
  assertEquals(replay.length, 2);
  assertEquals(files.includes(terminator), false, "stored encoded, so no tool reading the log splits the line");
}

Deno.test("line terminator LF (U+000A) inside a message: refused with ERR, nothing stored", () => assertRefused("\n"));
Deno.test("line terminator VT (U+000B) inside a message: refused with ERR, nothing stored", () => assertRefused("\v"));
Deno.test("line terminator FF (U+000C) inside a message: refused with ERR, nothing stored", () => assertRefused("\f"));
Deno.test("line terminator CR (U+000D) inside a message: refused with ERR, nothing stored", () => assertRefused("\r"));
Deno.test("line terminator CRLF inside a message: refused with ERR, nothing stored", () => assertRefused("\r\n"));
Deno.test("line terminator NEL (U+0085) inside a message: refused with ERR, nothing stored", () =>
  assertRefused("\u0085"));
Deno.test("line terminator LS (U+2028) inside a message: stored and replayed exactly after a restart", () =>
  assertReplayedExactly("\u2028"));
Deno.test("line terminator PS (U+2029) inside a message: stored and replayed exactly after a restart", () =>
  assertReplayedExactly("\u2029"));

Deno.test("message log: lines written before this change still parse (old files stay readable)", () => {
  const ts = "2026-11-22T10:00:00.000Z";
  assertEquals(parseLogLine(`[${ts}] alice: hello`), { ts, nick: "alice", text: "hello" });
  assertEquals(parseLogLine(`[${ts}] a:b: x: y`), { ts, nick: "a:b", text: "x: y" });
  assertEquals(parseLogLine(`[${ts}] alice: `), { ts, nick: "alice", text: "" });
  assertEquals(parseLogLine(`[${ts}] alice: a\u2028b\u2029c\u0085`), {
    ts,
    nick: "alice",
    text: "a\u2028b\u2029c\u0085",
  });
  assertEquals(parseLogLine(`[${ts}] al ice: x`), undefined);
  assertEquals(parseLogLine(`[${ts}] al\u2028ice: x`), undefined);
  assertEquals(parseLogLine(`[${ts}]alice: x`), undefined);
  assertEquals(parseLogLine(`[] alice: x`), undefined);
  assertEquals(parseLogLine(`[${ts}] : x`), undefined);
});

Deno.test("message log: escaped lines round-trip any text exactly, backslashes and escape-like text included", () => {
  const ts = "2026-11-22T10:00:00.000Z";
  for (
    const text of [
      "a\u2028b",
      "\u2029",
      "back\\slash \u2028 and a literal \\u2028 and \\\\u2029 \\",
      "\\u2028 without a separator",
      "ends with \\",
    ]
  ) {
    const line = formatLogLine({ ts, nick: "alice", text });
    assertEquals(line.endsWith("\n") && line.slice(0, -1).includes("\n"), false);
    assertEquals(/[\u2028\u2029]/.test(line), false, JSON.stringify(line));
    assertEquals(parseLogLine(line.slice(0, -1)), { ts, nick: "alice", text }, JSON.stringify(line));
  }
  assertEquals(
    formatLogLine({ ts, nick: "a", text: "plain \\ text" }),
    `[${ts}] a: plain \\ text\n`,
    "written as before",
  );
  assertEquals(parseLogLine(`~[${ts}] a: bad \\x escape`), undefined);
  assertEquals(parseLogLine(`~~[${ts}] a: x`), undefined);
});
