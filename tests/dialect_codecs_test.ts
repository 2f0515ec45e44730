/**
 * The dialect codecs without a network: RiftChat framing at its edges, the
 * structured-command guards, JSON and wschat decoding, name generation.
 */
import { assertEquals, assertOk, assertThrows } from "./assert.ts";
import { type ClientCommand, formatClientCommand, ProtocolError, validateCommand } from "../protocol/mod.ts";
import { decodeJsonCommand, encodeJsonEvent } from "../protocol/dialects/json.ts";
import {
  createRiftDecoder,
  decodeRiftCommand,
  randomRiftName,
  RIFT_NAME_ALPHABET,
  riftFrame,
} from "../protocol/dialects/riftchat.ts";
import { decodeWschatChat, wschatNick } from "../protocol/dialects/wschat.ts";
import { prefixed, riftBytes } from "./dialect_clients.ts";

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  throw new Error("accepted");
}

Deno.test("riftchat framing: our frames match hand-made ones (8-byte big-endian length)", () => {
  assertEquals(riftFrame({ code: 205 }), riftBytes('{"code":205}'));
  assertEquals([...riftFrame({ code: 205 }).subarray(0, 8)], [0, 0, 0, 0, 0, 0, 0, 12]);
  // The length counts UTF-8 bytes, not code units.
  assertEquals(riftFrame({ m: "é" })[7], '{"m":"é"}'.length + 1);
});

Deno.test("riftchat decoder: several frames per chunk, a frame split byte by byte, empty and bad bodies", () => {
  const a = riftBytes({ code: 100, message: "one" });
  const b = riftBytes({ code: 100, message: "two" });
  const d = createRiftDecoder(1024);
  const both = new Uint8Array([...a, ...b]);
  assertEquals(d.push(both).map((i) => i.type === "frame" && JSON.parse(i.text).message), ["one", "two"]);
  const items = [];
  for (const byte of b) items.push(...d.push(new Uint8Array([byte])));
  assertEquals(items.length, 1);
  // An empty body and a body that is not UTF-8 are reported; framing stays in step.
  assertEquals(d.push(prefixed(new Uint8Array(0))), [{ type: "frame", text: "" }]);
  assertEquals(d.push(new Uint8Array([...prefixed(new Uint8Array([0xc3])), ...a])).map((i) => i.type), [
    "invalid_utf8",
    "frame",
  ]);
});

Deno.test("riftchat decoder: the bound is inclusive; a larger prefix fails at once without buffering", () => {
  const max = 16;
  const atMax = createRiftDecoder(max);
  assertEquals(atMax.push(prefixed(new TextEncoder().encode("x".repeat(max)))).length, 1);
  for (const claimed of [BigInt(max + 1), 4n * 1024n ** 3n, 2n ** 64n - 1n]) {
    const d = createRiftDecoder(max);
    // Only the 8 prefix bytes arrive: the refusal does not wait for (or allocate) the body.
    assertEquals(d.push(prefixed(new Uint8Array(0), claimed)), [{ type: "too_large", length: claimed }]);
    assertOk(d.failed);
    assertEquals(d.push(riftBytes({ code: 100, message: "after" })), []);
  }
});

Deno.test("riftchat commands: 100 and 101, anything else is bad_message", () => {
  assertEquals(decodeRiftCommand('{"code":100,"message":"hi"}'), { type: "msg", text: "hi" });
  assertEquals(decodeRiftCommand('{"code":101,"username":"zed"}'), { type: "nick", nick: "zed" });
  for (const bad of ["", "nope", "[]", "null", '{"code":"100","message":"x"}', '{"code":102}', '{"code":101}']) {
    assertEquals(codeOf(() => decodeRiftCommand(bad)), "bad_message", bad);
  }
});

Deno.test("riftchat names: ten characters of [0-9A-Za-z], unbiased over injected bytes", () => {
  for (let i = 0; i < 50; i++) assertOk(/^[0-9A-Za-z]{10}$/.test(randomRiftName()));
  // Bytes at or above 248 (= 4 × 62) are rejected, so every character is equally likely.
  let calls = 0;
  const name = randomRiftName((b) => {
    calls++;
    return b.fill(calls === 1 ? 255 : 61);
  });
  assertEquals(name, RIFT_NAME_ALPHABET[61].repeat(10));
  assertEquals(calls, 2);
});

/** A structured command as the one validator leaves it, written as the line it stands for. */
const commandLine = (cmd: ClientCommand) => formatClientCommand(validateCommand(cmd));

Deno.test("validateCommand: structured fields get the line protocol's rules and errors, no line round trip", () => {
  assertEquals(commandLine({ type: "msg", text: "hi" }), "MSG hi");
  assertEquals(commandLine({ type: "pm", to: " bob ", text: "hi" }), "PM bob hi");
  assertEquals(commandLine({ type: "ping", token: "a\u0007" }), "PING a\u2407");
  assertEquals(codeOf(() => commandLine({ type: "msg", text: "a\nb" })), "control_chars");
  assertEquals(codeOf(() => commandLine({ type: "msg", text: "trailing\r\n" })), "control_chars");
  assertEquals(codeOf(() => commandLine({ type: "nick", nick: "bob\n" })), "invalid_nick");
  assertEquals(codeOf(() => commandLine({ type: "pm", to: "", text: "x" })), "expected_pm");
  assertEquals(codeOf(() => commandLine({ type: "pm", to: "a b", text: "x" })), "no_such_user");
  assertEquals(codeOf(() => commandLine({ type: "history", count: -1 })), "expected_history");
  assertEquals(codeOf(() => commandLine({ type: "history", count: 1e9 })), "expected_history");
  assertEquals(commandLine({ type: "history", count: 999_999_999 }), "HISTORY 999999999");
  // The line limit is measured on the line the command stands for ("MSG " + text).
  assertEquals(commandLine({ type: "msg", text: "x".repeat(2044) }), "MSG " + "x".repeat(2044));
  assertEquals(codeOf(() => commandLine({ type: "msg", text: "x".repeat(2045) })), "too_large");
});

Deno.test("wirechat.json codec: commands, versions, unknown types and errors", () => {
  assertEquals(decodeJsonCommand('{"type":"who","pattern":"a*"}'), { type: "who", pattern: "a*" });
  assertEquals(decodeJsonCommand('{"v":1,"type":"history","count":3}'), { type: "history", count: 3 });
  assertEquals(decodeJsonCommand('{"type":"quit","extra":true}'), { type: "quit" });
  assertEquals(codeOf(() => decodeJsonCommand('{"type":"constructor"}')), "unknown_command");
  assertEquals(codeOf(() => decodeJsonCommand('{"v":"1","type":"quit"}')), "bad_message");
  assertEquals(codeOf(() => decodeJsonCommand('{"type":"history","count":"3"}')), "bad_message");
  assertEquals(
    encodeJsonEvent({ type: "error", code: "no_such_user", detail: "zed" }),
    '{"v":1,"type":"error","code":"no_such_user","text":"No such user: zed","detail":"zed"}',
  );
  assertEquals(encodeJsonEvent({ type: "rename", from: "a", to: "b" }), '{"v":1,"type":"rename","from":"a","to":"b"}');
  // The original's commands and IMG have JSON forms too.
  assertEquals(decodeJsonCommand('{"type":"img","url":"https://x.org/a.png"}'), {
    type: "img",
    url: "https://x.org/a.png",
  });
  assertEquals(decodeJsonCommand('{"type":"stats"}'), { type: "stats" });
  assertEquals(
    encodeJsonEvent({ type: "img", ts: "2026-11-22T03:11:07.123Z", nick: "a", url: "https://x.org/a.png" }),
    '{"v":1,"type":"img","ts":"2026-11-22T03:11:07.123Z","nick":"a","url":"https://x.org/a.png"}',
  );
});

Deno.test("wschat codec: the nickname rule and lenient client messages", () => {
  assertEquals(wschatNick("ABCDEF01-2345-4678-9abc-def012345678"), "ws-abcdef01");
  assertEquals(decodeWschatChat('{"contents":"hi"}'), "hi");
  assertEquals(decodeWschatChat('{"action":"chat","contents":"hi","sender":5,"timestamp":"x"}'), "hi");
  assertThrows(() => decodeWschatChat('{"action":"error","contents":"x"}'), ProtocolError);
  assertThrows(() => decodeWschatChat('{"contents":null}'), ProtocolError);
});
