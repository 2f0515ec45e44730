/**
 * The terminal client's VERSION probe (issue 15 item 8): the interactive
 * client, run in-process on a scripted terminal, against stand-ins for the
 * original server (v1.2.1's `SYS Wirechat server v1.2.1`, v1.0's `ERR`) and
 * against ours; and the probe's rules on their own.
 */
import { runInteractive } from "../client/terminal/interactive.ts";
import { createKeyDecoder, type Key } from "../client/terminal/keys.ts";
import { createStyle } from "../client/terminal/style.ts";
import type { Terminal } from "../client/terminal/tty.ts";
import { createVersionProbe } from "../client/terminal/version_probe.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { join, startTestServer, waitUntil } from "./helpers.ts";
import { startLegacyServer } from "./legacy_server.ts";
import { capabilitySubprotocols } from "../protocol/mod.ts";

// deno-lint-ignore no-control-regex
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** A terminal whose keys are typed by the test and whose output is kept as plain text. */
function scriptedTerminal() {
  let out = "";
  const queue: (Key[] | undefined)[] = [];
  let wake: (() => void) | undefined;
  const decoder = createKeyDecoder();
  const terminal: Terminal = {
    async keys() {
      while (queue.length === 0) await new Promise<void>((r) => wake = r);
      return queue.shift();
    },
    write: (s) => void (out += s),
    columns: () => 200,
    onResize: () => () => {},
    close: () => Promise.resolve(),
  };
  return {
    terminal,
    type(text: string) {
      queue.push(decoder.feed(text));
      wake?.();
    },
    /** Everything printed so far, escapes removed. */
    text: () => out.replace(ESCAPES, ""),
  };
}

async function runAgainst(url: string, session: (t: ReturnType<typeof scriptedTerminal>) => Promise<void>) {
  const t = scriptedTerminal();
  const errors: string[] = [];
  const exit = runInteractive({
    terminal: t.terminal,
    style: createStyle(false),
    err: (s) => errors.push(s),
    url,
    nick: "alice",
  });
  await waitUntil("the chat prompt", () => t.text().includes("Type a message and press Enter"));
  await session(t);
  t.type("/quit\r");
  assertEquals(await exit, 0, errors.join("\n"));
  return t.text();
}

Deno.test("probe: against v1.2.1 ('SYS Wirechat server v1.2.1') the answer is not shown and the next ERR is", async () => {
  await using legacy = await startLegacyServer({ version: "1.2.1" });
  const shown = await runAgainst(legacy.url, async (t) => {
    t.type("/history\r"); // the stand-in answers ERR Expected: MSG <text>, like the original
    await waitUntil("the ERR line", () => t.text().includes("Expected: MSG <text>"));
  });
  assertOk(!shown.includes("Wirechat server"), shown);
});

Deno.test("probe: against v1.0 (ERR for VERSION) the probe's ERR is hidden and a later one shown", async () => {
  await using legacy = await startLegacyServer();
  const shown = await runAgainst(legacy.url, async (t) => {
    t.type("hello\r");
    await waitUntil("own message", () => t.text().includes("alice: hello"));
    assertOk(!t.text().includes("Expected"), "the probe's answer is shown");
    t.type("/history\r");
    await waitUntil("the ERR line", () => t.text().includes("Expected: MSG <text>"));
  });
  assertEquals(shown.split("Expected: MSG <text>").length, 2, "shown once");
});

Deno.test("probe: against our server the answer is not shown and TYPING is sent (v1)", async () => {
  await using server = await startTestServer();
  // bob reads TYPING lines, so it declares the typing capability.
  await using bob = await join(server.url, "bob", capabilitySubprotocols(["typing"]));
  const shown = await runAgainst(server.url, async (t) => {
    await bob.until("SYS alice joined the chat!");
    // WHO is answered after VERSION (in order): once its answer is shown, the probe has its answer.
    t.type("/who\r");
    await waitUntil("the WHO answer", () => t.text().includes("Online (2): alice, bob"));
    t.type("typing something");
    await bob.until("TYPING alice");
    t.type("\r");
    await bob.until(/ alice: typing something$/);
  });
  assertOk(!shown.includes("protocol wirechat/1"), shown);
});

Deno.test("probe rules: the first ERR ends the probe; an ERR after a user line is never hidden; unknown answers pass", () => {
  const p = createVersionProbe();
  p.start();
  assertEquals(p.consume({ type: "join", nick: "bob" }), false);
  assertEquals(p.consume({ type: "notice", text: "Welcome" }), false);
  assertEquals(p.consume({ type: "error", code: "rate_limited" }), false, "not a refusal of VERSION: shown");
  assertEquals(p.capability, "legacy");
  assertEquals(p.consume({ type: "error", code: "expected_msg" }), false, "the probe is over: a later ERR is shown");

  p.start();
  p.userSent();
  assertEquals(p.consume({ type: "error", code: "expected_msg" }), false, "may answer the user's line");

  p.start();
  assertEquals(p.consume({ type: "error", code: "unknown_command", detail: "FOO" }), false);
  p.start();
  assertEquals(p.consume({ type: "error", code: "unknown_command", detail: "VERSION" }), true);
  p.start();
  assertEquals(p.consume({ type: "version", version: "0.1.0" }), true);
  assertEquals(p.capability, "v1");
  p.start();
  assertEquals(p.consume({ type: "notice", text: "Wirechat server v1.2.1" }), true);
  assertEquals([p.capability, p.originalVersion], ["legacy", "v1.2.1"]);
  assertEquals(p.consume({ type: "notice", text: "Wirechat server v1.2.1" }), false, "answered once");
});
