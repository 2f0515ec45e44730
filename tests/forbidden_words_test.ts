/** The forbidden-words matcher and list parser (protocol/forbidden_words.ts). */
import {
  createWordFilter,
  ForbiddenWordsError,
  MAX_FORBIDDEN_WORD_LENGTH,
  MAX_FORBIDDEN_WORDS,
  normalizeForMatch,
  parseForbiddenWords,
} from "../protocol/forbidden_words.ts";
import { assertEquals, assertOk, assertThrows } from "./assert.ts";

Deno.test("forbidden words: case and each leetspeak digit (4→a 3→e 0→o 1→i 5→s 7→t) are ignored", () => {
  const f = createWordFilter(["aeoist"]);
  for (const text of ["AEOIST", "4eoist", "a3oist", "ae0ist", "aeo1st", "aeoi5t", "aeois7", "43015 7"]) {
    const expected = text !== "43015 7"; // a space inside is a word boundary
    assertEquals(f.matches(`say ${text} now`), expected, text);
  }
  assertEquals(normalizeForMatch("D4RN 1T"), " darn it ");
});

Deno.test("forbidden words: whole words only, punctuation is a boundary, accents and zero-width marks are dropped", () => {
  const f = createWordFilter(["darn"]);
  assertOk(f.matches("darn"));
  assertOk(f.matches("oh,darn!"));
  assertOk(f.matches("(D-A-R-N)") === false, "single letters are separate words");
  assertOk(f.matches("dárn"), "accent");
  assertOk(f.matches("da\u200brn"), "zero-width space");
  assertOk(f.matches("ｄａｒｎ"), "full-width letters");
  assertOk(!f.matches("darnation"));
  assertOk(!f.matches("undarn"));
  assertOk(!f.matches("dar n"));
});

Deno.test("forbidden words: an entry of several words matches them in a row or written together", () => {
  const f = createWordFilter(["heck it"]);
  assertOk(f.matches("well H3CK, it!"));
  assertOk(f.matches("heckit"));
  assertOk(!f.matches("heck, then it"));
  assertOk(!f.matches("heck"));
});

Deno.test("forbidden words: overlapping entries and suffixes are all found (failure links)", () => {
  const f = createWordFilter(["a b c", "b c d", "x"]);
  assertOk(f.matches("z a b c"));
  assertOk(f.matches("a b c d"));
  assertOk(f.matches("a b b c d"));
  assertOk(f.matches("a b x"));
  assertOk(!f.matches("a b d c"));
  assertOk(!createWordFilter([]).matches("anything"));
});

Deno.test("forbidden words: the list parser skips blanks, comments and punctuation-only lines", () => {
  assertEquals(parseForbiddenWords("darn\n\n  # comment\n heck it \r\n!!!\n"), ["darn", "heck it"]);
  assertEquals(createWordFilter(parseForbiddenWords("darn\n!!!\n")).size, 1);
});

Deno.test("forbidden words: the list is refused beyond MAX_FORBIDDEN_WORDS entries and MAX_FORBIDDEN_WORD_LENGTH", () => {
  const many = Array.from({ length: MAX_FORBIDDEN_WORDS }, (_, i) => `w${i}`);
  assertEquals(parseForbiddenWords(many.join("\n")).length, MAX_FORBIDDEN_WORDS);
  assertThrows(() => parseForbiddenWords([...many, "one more"].join("\n")), ForbiddenWordsError);
  assertEquals(parseForbiddenWords("x".repeat(MAX_FORBIDDEN_WORD_LENGTH)).length, 1);
  assertThrows(() => parseForbiddenWords("x".repeat(MAX_FORBIDDEN_WORD_LENGTH + 1)), ForbiddenWordsError);
});

Deno.test("forbidden words: matching is linear in the text, whatever the list (a 1 MB adversarial line, generous bound)", () => {
  // Entries that share a long prefix with the text: a naive scan compares each
  // of them at each position (~10^10 steps here); Aho–Corasick reads each
  // character once. The bound is 20x what this machine needs under load.
  const list = Array.from(
    { length: MAX_FORBIDDEN_WORDS },
    (_, i) => "a".repeat(MAX_FORBIDDEN_WORD_LENGTH - 4) + "b" + i,
  );
  const f = createWordFilter(list);
  const text = "a".repeat(1_000_000);
  const started = performance.now();
  assertOk(!f.matches(text));
  assertOk(f.matches(`${text} ${list[7]}`));
  const ms = performance.now() - started;
  assertOk(ms < 10_000, `took ${ms.toFixed(0)} ms`);
});
