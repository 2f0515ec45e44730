/**
 * The forbidden-words filter: an operator's word list and a matcher that
 * ignores case, accents and the common leetspeak digits (`4→a`, `3→e`,
 * `0→o`, `1→i`, `5→s`, `7→t`).
 *
 * Text and list entries are normalised the same way: lower case, compatibility
 * decomposition with the marks dropped (`Bád` → `bad`), zero-width and other
 * invisible format characters dropped, the leetspeak digits mapped, and every
 * run of characters that are neither letters nor digits made one word
 * boundary. An entry matches whole words: `darn` matches `D4RN!` and
 * `oh-darn`, never `darnation`. An entry of several words matches them in a
 * row (`heck it` matches `H3ck, it`) and written together (`heckit`).
 *
 * Matching is one Aho–Corasick pass over the normalised text: time linear in
 * the text, whatever the list holds. No regular expression is built from the
 * list, so nothing in it can backtrack.
 *
 * @module
 */

/** Most entries a forbidden-words list may hold. */
export const MAX_FORBIDDEN_WORDS = 10_000;
/** Longest entry, in code points after trimming. */
export const MAX_FORBIDDEN_WORD_LENGTH = 100;

/** Why a forbidden-words list was refused. */
export class ForbiddenWordsError extends Error {
  /** Stable code: `too_many_words` or `word_too_long`. */
  readonly code: "too_many_words" | "word_too_long";
  constructor(code: ForbiddenWordsError["code"], message: string) {
    super(message);
    this.name = "ForbiddenWordsError";
    this.code = code;
  }
}

const LEET: Readonly<Record<string, string>> = { "4": "a", "3": "e", "0": "o", "1": "i", "5": "s", "7": "t" };
const WORD_CHAR = /^[\p{L}\p{N}]$/u;
const INVISIBLE = /^[\p{M}\p{Cf}]$/u;

/**
 * The normalised form of `text`: its words (see the module doc) joined by
 * one space, with one space before and after.
 *
 * @example
 * ```ts
 * import { normalizeForMatch } from "./forbidden_words.ts";
 * if (normalizeForMatch("H3LL0, Wörld!") !== " hello world ") throw new Error();
 * ```
 */
export function normalizeForMatch(text: string): string {
  let out = " ";
  for (const c of text.toLowerCase().normalize("NFKD")) {
    if (INVISIBLE.test(c)) continue;
    const ch = LEET[c] ?? c;
    if (WORD_CHAR.test(ch)) out += ch;
    else if (!out.endsWith(" ")) out += " ";
  }
  return out.endsWith(" ") ? out : out + " ";
}

/**
 * Reads a list: one entry per line; blank lines and lines starting with `#`
 * are skipped; entries that normalise to nothing (only punctuation) are
 * dropped.
 *
 * @throws {ForbiddenWordsError} beyond {@linkcode MAX_FORBIDDEN_WORDS} entries
 * or an entry longer than {@linkcode MAX_FORBIDDEN_WORD_LENGTH}.
 */
export function parseForbiddenWords(text: string): string[] {
  const words: string[] = [];
  let lineNo = 0;
  for (const raw of text.split("\n")) {
    lineNo++;
    const word = raw.trim();
    if (word === "" || word.startsWith("#")) continue;
    if ([...word].length > MAX_FORBIDDEN_WORD_LENGTH) {
      throw new ForbiddenWordsError(
        "word_too_long",
        `line ${lineNo} is longer than ${MAX_FORBIDDEN_WORD_LENGTH} characters`,
      );
    }
    if (words.length >= MAX_FORBIDDEN_WORDS) {
      throw new ForbiddenWordsError("too_many_words", `more than ${MAX_FORBIDDEN_WORDS} entries`);
    }
    if (normalizeForMatch(word).trim() !== "") words.push(word);
  }
  return words;
}

/** A compiled list. */
export interface WordFilter {
  /** True when `text` contains an entry (see the module doc). */
  matches(text: string): boolean;
  /** Number of entries. */
  readonly size: number;
}

/**
 * Compiles `words` into an Aho–Corasick automaton over code points.
 *
 * @example
 * ```ts
 * import { createWordFilter } from "./forbidden_words.ts";
 * const f = createWordFilter(["darn", "heck it"]);
 * if (!f.matches("D4RN!") || !f.matches("h3ck-it") || !f.matches("heckit") || f.matches("darnation")) {
 *   throw new Error("wrong match");
 * }
 * ```
 */
export function createWordFilter(words: readonly string[]): WordFilter {
  // State 0 is the root; each state's transitions, failure link and "an entry ends here".
  const next: Map<string, number>[] = [new Map()];
  const fail: number[] = [0];
  const final: boolean[] = [false];
  let size = 0;

  function insert(pattern: string) {
    let s = 0;
    for (const c of pattern) {
      let t = next[s].get(c);
      if (t === undefined) {
        t = next.length;
        next.push(new Map());
        fail.push(0);
        final.push(false);
        next[s].set(c, t);
      }
      s = t;
    }
    final[s] = true;
  }

  for (const word of words) {
    const normal = normalizeForMatch(word);
    if (normal.trim() === "") continue;
    size++;
    insert(normal);
    // Words written together: " bad word " also as " badword ".
    if (normal.indexOf(" ", 1) < normal.length - 1) insert(` ${normal.replaceAll(" ", "")} `);
  }

  // Breadth-first: every state's failure link points at its longest proper suffix in the trie.
  const queue: number[] = [...next[0].values()];
  for (let head = 0; head < queue.length; head++) {
    const s = queue[head];
    for (const [c, t] of next[s]) {
      let f = fail[s];
      while (f !== 0 && !next[f].has(c)) f = fail[f];
      const g = next[f].get(c);
      fail[t] = g !== undefined && g !== t ? g : 0;
      final[t] ||= final[fail[t]];
      queue.push(t);
    }
  }

  return {
    size,
    matches(text) {
      if (size === 0) return false;
      let s = 0;
      for (const c of normalizeForMatch(text)) {
        while (s !== 0 && !next[s].has(c)) s = fail[s];
        s = next[s].get(c) ?? 0;
        if (final[s]) return true;
      }
      return false;
    },
  };
}
