/**
 * Fuzzing the protocol codec with a fixed seed and a bounded count: random
 * and mutated client lines through `parseClientLine` (only `ProtocolError`
 * may escape, and what parses is well-formed and round-trips), and random
 * server lines through `parseServerLine` (never throws).
 */
import {
  type ClientCommand,
  DEFAULT_MAX_LINE,
  formatClientCommand,
  formatLine,
  hasControlChars,
  parseClientLine,
  parseServerLine,
  ProtocolError,
  validateNick,
} from "../protocol/mod.ts";
import { assertEquals, assertOk } from "./assert.ts";
import { prng } from "./prng.ts";

/** The fixed seed: a failure reproduces on every run and machine. */
const SEED = 0xc0ffee;
/** Inputs per generator. */
const COUNT = 20_000;

const WORDS = ["NICK", "MSG", "WHO", "QUIT", "PM", "TYPING", "HISTORY", "PING", "VERSION", "HELP", "nick", "Msg", "pM"];
const ATOMS = [
  " ",
  "  ",
  "\t",
  "\r",
  "\n",
  "\r\n",
  "\x00",
  "\x1b[31m",
  "\x7f",
  "\u0085",
  "\u00a0",
  "\u2028",
  "\u200b",
  "\ufeff",
  "\ud800", // lone high surrogate
  "\udc00", // lone low surrogate
  "😀",
  "é",
  "e\u0301",
  "ß",
  "İ",
  "*",
  "?",
  ":",
  "[",
  "]",
  "->",
  "0",
  "42",
  "999999999",
  "1000000000",
  "-1",
  "alice",
  "Bob",
  "a".repeat(20),
  "a".repeat(21),
];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)];
}

function randomLine(rand: () => number): string {
  const parts: string[] = [];
  if (rand() < 0.8) parts.push(pick(rand, WORDS));
  const n = Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.6) parts.push(pick(rand, ATOMS));
    else if (r < 0.9) parts.push(String.fromCharCode(Math.floor(rand() * 0x10000)));
    else parts.push("x".repeat(Math.floor(rand() * (DEFAULT_MAX_LINE + 100))));
  }
  return parts.join(rand() < 0.7 ? " " : "");
}

const CORPUS = [
  "NICK alice",
  "MSG hello there",
  "PM bob hi bob",
  "WHO",
  "WHO a*",
  "HISTORY 5",
  "PING tok",
  "TYPING",
  "VERSION",
  "HELP",
  "QUIT",
  "MSG " + "y".repeat(DEFAULT_MAX_LINE - 4),
];

function mutate(rand: () => number, line: string): string {
  let s = line;
  const ops = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < ops; i++) {
    const at = Math.floor(rand() * (s.length + 1));
    switch (Math.floor(rand() * 7)) {
      case 0:
        s = s.slice(0, at) + pick(rand, ATOMS) + s.slice(at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 3));
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at, at + 5) + s.slice(at);
        break;
      case 3:
        s = rand() < 0.5 ? s.toLowerCase() : s.toUpperCase();
        break;
      case 4:
        s = s.slice(0, at);
        break;
      case 5:
        s += rand() < 0.5 ? "\n" : "\r\n";
        break;
      case 6:
        s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 0x10000)) + s.slice(at);
        break;
    }
  }
  return s;
}

/** Parses `line`; asserts only ProtocolError escapes and a parsed command is well-formed. */
function check(line: string, stats: { ok: number; refused: Map<string, number> }) {
  let cmd: ClientCommand;
  try {
    cmd = parseClientLine(line);
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      throw new Error(`parseClientLine(${JSON.stringify(line.slice(0, 200))}) threw ${err}`);
    }
    stats.refused.set(err.code, (stats.refused.get(err.code) ?? 0) + 1);
    // The refusal is one line: nothing a client sent can split or color it.
    const reply = formatLine({ type: "error", code: err.code, detail: err.detail });
    assertOk(!hasControlChars(reply), `ERR line with control characters: ${JSON.stringify(reply)}`);
    return;
  }
  stats.ok++;
  switch (cmd.type) {
    case "msg":
    case "pm":
      assertOk(cmd.text.length > 0 && cmd.text === cmd.text.trim() && !hasControlChars(cmd.text), JSON.stringify(cmd));
      // The recipient is one space-free word; anything else in it (a tab) just names nobody,
      // and the room neutralizes it in "ERR No such user".
      if (cmd.type === "pm") assertOk(cmd.to.length > 0 && !cmd.to.includes(" "), JSON.stringify(cmd));
      break;
    case "nick":
      assertEquals(validateNick(cmd.nick), cmd.nick);
      break;
    case "history":
      assertOk(cmd.count === undefined || (Number.isInteger(cmd.count) && cmd.count >= 0), JSON.stringify(cmd));
      break;
  }
  // What the server accepted, a client can send again and get the same command.
  assertEquals(parseClientLine(formatClientCommand(cmd)), cmd, `round trip of ${JSON.stringify(line.slice(0, 200))}`);
}

Deno.test("fuzz: random client lines raise nothing but ProtocolError", () => {
  const rand = prng(SEED);
  const stats = { ok: 0, refused: new Map<string, number>() };
  for (let i = 0; i < COUNT; i++) check(randomLine(rand), stats);
  // The generator reaches both outcomes and most refusals, or it would prove little.
  assertOk(stats.ok > COUNT / 20, `only ${stats.ok} parsed`);
  for (const code of ["unknown_command", "too_large", "control_chars", "invalid_nick", "expected_msg"]) {
    assertOk((stats.refused.get(code) ?? 0) > 0, `never produced ${code}`);
  }
});

Deno.test("fuzz: mutated valid lines raise nothing but ProtocolError", () => {
  const rand = prng(SEED + 1);
  const stats = { ok: 0, refused: new Map<string, number>() };
  for (let i = 0; i < COUNT; i++) check(mutate(rand, pick(rand, CORPUS)), stats);
  assertOk(stats.ok > COUNT / 10, `only ${stats.ok} parsed`);
  assertOk(stats.refused.size >= 5, `refusals: ${[...stats.refused.keys()]}`);
});

Deno.test("fuzz: parseServerLine never throws on random or mutated server lines", () => {
  const rand = prng(SEED + 2);
  const samples = [
    "MSG [2026-01-01T00:00:00.000Z] a: hi",
    "PM [2026-01-01T00:00:00.000Z] a -> b: hi",
    "SYS Online (2): a, b",
    "SYS Replay start (3 messages)",
    "ERR Unknown command: X",
    "PONG t",
  ];
  for (let i = 0; i < COUNT; i++) {
    const line = rand() < 0.5 ? mutate(rand, pick(rand, samples)) : randomLine(rand);
    const ev = parseServerLine(line);
    assertOk(typeof ev.type === "string");
  }
});
