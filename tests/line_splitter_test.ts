import { HARD_FRAME_CAP } from "../protocol/mod.ts";
import { createLineSplitter, type SplitItem } from "../server/transports/line_splitter.ts";

const enc = new TextEncoder();

function lines(...texts: string[]): SplitItem[] {
  return texts.map((line) => ({ type: "line", line }));
}

function assertItems(actual: SplitItem[], expected: SplitItem[]) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`expected ${e}, got ${a}`);
}

Deno.test("line splitter: \\n and \\r\\n terminated lines, several per chunk", () => {
  const s = createLineSplitter();
  assertItems(s.push(enc.encode("NICK alice\nMSG hi\r\nWHO\n")), lines("NICK alice", "MSG hi", "WHO"));
  if (s.buffered !== 0) throw new Error("bytes left over");
});

Deno.test("line splitter: a line split across reads, and a \\r\\n split between them", () => {
  const s = createLineSplitter();
  assertItems(s.push(enc.encode("MS")), []);
  assertItems(s.push(enc.encode("G hel")), []);
  assertItems(s.push(enc.encode("lo\r")), []);
  assertItems(s.push(enc.encode("\nPI")), lines("MSG hello"));
  assertItems(s.push(enc.encode("NG\n")), lines("PING"));
});

Deno.test("line splitter: a multi-byte character split across reads", () => {
  const s = createLineSplitter();
  const bytes = enc.encode("MSG h\u00e9 😀\n");
  const out: SplitItem[] = [];
  for (const b of bytes) out.push(...s.push(Uint8Array.of(b)));
  assertItems(out, lines("MSG h\u00e9 😀"));
});

Deno.test("line splitter: empty lines, a lone \\r and inner \\r are kept as they are", () => {
  const s = createLineSplitter();
  assertItems(s.push(enc.encode("\n\r\na\rb\n")), lines("", "", "a\rb"));
});

Deno.test("line splitter: invalid UTF-8 spoils only its own line", () => {
  const s = createLineSplitter();
  const chunk = new Uint8Array([...enc.encode("MSG a"), 0xff, 0xfe, 0x0a, ...enc.encode("MSG ok\n")]);
  assertItems(s.push(chunk), [{ type: "invalid_utf8" }, ...lines("MSG ok")]);
  // A truncated sequence and an overlong encoding are refused too.
  assertItems(s.push(Uint8Array.of(0xe2, 0x82, 0x0a, 0xc0, 0xaf, 0x0a)), [
    { type: "invalid_utf8" },
    { type: "invalid_utf8" },
  ]);
  if (s.failed) throw new Error("invalid UTF-8 must not stop the splitter");
});

Deno.test("line splitter: a line of exactly the bound passes, one byte more does not", () => {
  const max = 16;
  const s = createLineSplitter(max);
  assertItems(s.push(enc.encode("x".repeat(max) + "\r\n")), lines("x".repeat(max)));
  assertItems(s.push(enc.encode("y".repeat(max + 1) + "\n")), [{ type: "too_long" }]);
  if (!s.failed) throw new Error("not failed");
  assertItems(s.push(enc.encode("MSG after\n")), []);
});

Deno.test("line splitter: no newline within the bound is refused without buffering more", () => {
  const max = 16;
  const s = createLineSplitter(max);
  assertItems(s.push(enc.encode("z".repeat(max))), []);
  assertItems(s.push(enc.encode("\r")), []); // room for the \r of \r\n
  assertItems(s.push(enc.encode("z")), [{ type: "too_long" }]);
  if (s.buffered !== 0) throw new Error("buffer kept after failure");
});

Deno.test("line splitter: default bound is HARD_FRAME_CAP across many reads", () => {
  const s = createLineSplitter();
  const piece = enc.encode("a".repeat(1024));
  let out: SplitItem[] = [];
  for (let i = 0; i < HARD_FRAME_CAP / 1024; i++) out = out.concat(s.push(piece));
  assertItems(out, []);
  if (s.buffered !== HARD_FRAME_CAP) throw new Error(`buffered ${s.buffered}`);
  assertItems(s.push(enc.encode("\n")), lines("a".repeat(HARD_FRAME_CAP)));
  for (let i = 0; i < HARD_FRAME_CAP / 1024; i++) s.push(piece);
  assertItems(s.push(enc.encode("ab")), [{ type: "too_long" }]);
});
