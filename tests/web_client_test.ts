/**
 * Unit tests of the browser client's pure parts: the user list, the typing
 * line and its send throttle, the composer, and formatting. The page itself
 * is tested in Chromium by `browser_test.ts`.
 */
import { COMPOSER_HELP, readComposer } from "../client/web/input.ts";
import { localTime, socketUrlFor, titleFor } from "../client/web/format.ts";
import { createRoster } from "../client/web/roster.ts";
import { createTypingThrottle, createTypingTracker, TYPING_SHOWN_MS, typingText } from "../client/web/typing.ts";
import { TYPING_INTERVAL_MS } from "../protocol/mod.ts";

function assertEquals<T>(actual: T, expected: T, message = ""): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${message} expected ${e}, got ${a}`);
}

Deno.test("roster: WHO resets, join/leave/rename keep it current, case-insensitively, sorted", () => {
  const r = createRoster();
  r.reset(["carol", "Alice", "bob"]);
  assertEquals(r.list(), ["Alice", "bob", "carol"]);
  r.join("dave");
  r.join("DAVE"); // the same member: no duplicate
  assertEquals(r.size, 4);
  r.leave("ALICE");
  r.rename("bob", "Bobby");
  assertEquals(r.list(), ["Bobby", "carol", "DAVE"]);
  assertEquals(r.has("bobby"), true);
  assertEquals(r.has("bob"), false);
  r.reset([]);
  assertEquals(r.list(), []);
});

Deno.test("typing tracker: an entry lasts TYPING_SHOWN_MS, is renewed, and clears on message", () => {
  const t = createTypingTracker();
  t.saw("bob", 0);
  t.saw("carol", 1000);
  assertEquals(t.active(1000), ["bob", "carol"]);
  assertEquals(t.nextExpiry(1000), TYPING_SHOWN_MS - 1000);
  assertEquals(t.active(TYPING_SHOWN_MS - 1), ["bob", "carol"]);
  assertEquals(t.active(TYPING_SHOWN_MS), ["carol"], "bob expires exactly at the edge");
  t.saw("CAROL", TYPING_SHOWN_MS); // renewed, still one entry
  assertEquals(t.active(TYPING_SHOWN_MS + 999), ["carol"]);
  t.clear("Carol");
  assertEquals(t.active(TYPING_SHOWN_MS + 999), []);
  assertEquals(t.nextExpiry(0), undefined);
  // Shown a little longer than the server's relay interval, so steady typing does not flicker.
  assertEquals(TYPING_SHOWN_MS > TYPING_INTERVAL_MS, true);
});

Deno.test("typing text: one, two, many", () => {
  assertEquals(typingText([]), "");
  assertEquals(typingText(["bob"]), "bob is typing…");
  assertEquals(typingText(["bob", "carol"]), "bob and carol are typing…");
  assertEquals(typingText(["a", "b", "c"]), "3 people are typing…");
});

Deno.test("typing throttle: at most one TYPING per TYPING_INTERVAL_MS, edge included", () => {
  const t = createTypingThrottle();
  const sent = [0, 500, 1999, 2000, 2001, 3999, 4000, 10_000].filter((now) => t.ready(now));
  assertEquals(sent, [0, 2000, 4000, 10_000]);
  t.reset();
  assertEquals(t.ready(10_001), true);
});

Deno.test("composer: one command per line; PM while a conversation is open; // escapes a slash", () => {
  assertEquals(readComposer("  hello  ", undefined), { commands: [{ type: "msg", text: "hello" }] });
  assertEquals(readComposer("a\r\n\n  b\n", undefined), {
    commands: [{ type: "msg", text: "a" }, { type: "msg", text: "b" }],
  });
  assertEquals(readComposer("psst", "bob"), { commands: [{ type: "pm", to: "bob", text: "psst" }] });
  assertEquals(readComposer("//not a command", undefined), { commands: [{ type: "msg", text: "/not a command" }] });
  assertEquals(readComposer("   \n ", undefined), { commands: [] });
});

Deno.test("composer: slash commands and local hints", () => {
  assertEquals(readComposer("/msg carol hi there", undefined), {
    commands: [{ type: "pm", to: "carol", text: "hi there" }],
  });
  assertEquals(readComposer("/nick  alicia ", "bob"), { commands: [{ type: "nick", nick: "alicia" }] });
  assertEquals(readComposer("/WHO", undefined), { commands: [{ type: "who" }] });
  assertEquals(readComposer("/who a*", undefined), { commands: [{ type: "who", pattern: "a*" }] });
  assertEquals(readComposer("/history 5", undefined), { commands: [{ type: "history", count: 5 }] });
  assertEquals(readComposer("/quit", undefined), { commands: [{ type: "quit" }] });
  assertEquals(readComposer("/help", undefined), { hint: COMPOSER_HELP });
  assertEquals(readComposer("/msg carol", undefined), { hint: "Usage: /msg <nick> <text>" });
  assertEquals(readComposer("/history many", undefined), { hint: "Usage: /history [n]" });
  const unknown = readComposer("/frobnicate now", undefined);
  assertEquals("hint" in unknown && unknown.hint.startsWith("Unknown command /frobnicate."), true);
});

Deno.test("format: title with unread count, local time, socket URL follows the page's scheme", () => {
  assertEquals(titleFor(0), "Wirechat");
  assertEquals(titleFor(12), "(12) Wirechat");
  const ts = "2026-11-22T03:11:07.123Z";
  const d = new Date(ts);
  const want = `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
  assertEquals(localTime(ts), want);
  assertEquals(localTime("not a time"), "not a time");
  assertEquals(socketUrlFor({ protocol: "https:", host: "chat.example" }), "wss://chat.example/");
  assertEquals(socketUrlFor({ protocol: "http:", host: "[::1]:12345" }), "ws://[::1]:12345/");
});
