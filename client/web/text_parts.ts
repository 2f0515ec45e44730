/**
 * What a message's text holds besides plain text: `http(s)` links and
 * mentions of a nickname. Pure: no DOM. The page turns link parts into `<a>`
 * elements and everything else into text nodes; nothing else becomes markup.
 *
 * @module
 */
import { neutralize } from "../../protocol/mod.ts";

/** A piece of a message: plain text, or a link (`url` is the normalised href). */
export type TextPart = { text: string } | { text: string; url: string };

const URL_RE = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING_PUNCTUATION = /[.,;:!?'"*_~]+$/;

/** The URL as a link target, or undefined unless it is a well-formed http(s) URL. */
export function linkTarget(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Drops punctuation that ends a sentence rather than the URL; keeps a `)` that closes a `(` of the URL. */
function trimUrl(raw: string): string {
  let url = raw.replace(TRAILING_PUNCTUATION, "");
  while (url.endsWith(")") && (url.match(/\(/g)?.length ?? 0) < (url.match(/\)/g)?.length ?? 0)) {
    url = url.slice(0, -1).replace(TRAILING_PUNCTUATION, "");
  }
  return url;
}

/**
 * Splits text into plain parts and `http(s)` links. A link's text shows
 * bidirectional formatting characters as U+FFFD, so what it reads is what it
 * opens ("https://x.example/\u202Efdp.exe" must not read ".../exe.pdf").
 *
 * @example
 * ```ts
 * import { linkParts } from "./text_parts.ts";
 * const parts = linkParts("see https://example.com/a_(b). ok");
 * if (parts.length !== 3 || !("url" in parts[1]) || parts[1].text !== "https://example.com/a_(b)") {
 *   throw new Error(JSON.stringify(parts));
 * }
 * if (linkParts("javascript:alert(1)").some((p) => "url" in p)) throw new Error();
 * if (linkParts("https://x.example/\u202Efdp.exe")[0].text !== "https://x.example/\uFFFDfdp.exe") throw new Error();
 * ```
 */
export function linkParts(text: string): TextPart[] {
  const parts: TextPart[] = [];
  let at = 0;
  for (const m of text.matchAll(URL_RE)) {
    const raw = trimUrl(m[0]);
    const url = linkTarget(raw);
    if (!url) continue;
    if (m.index > at) parts.push({ text: text.slice(at, m.index) });
    parts.push({ text: neutralize(raw), url });
    at = m.index + raw.length;
  }
  if (at < text.length) parts.push({ text: text.slice(at) });
  return parts;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/**
 * Whether `text` mentions `nick` as a whole word, case-insensitively: "hi
 * Bob!" mentions bob, "bobby" does not. Plain lower case, not the server's
 * look-alike key: the text is matched as written.
 *
 * @example
 * ```ts
 * import { mentions } from "./text_parts.ts";
 * if (!mentions("hi @Bob!", "bob") || mentions("bobby", "bob") || mentions("", "bob")) throw new Error();
 * ```
 */
export function mentions(text: string, nick: string): boolean {
  if (!nick) return false;
  const hay = text.toLowerCase();
  const needle = nick.toLowerCase();
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) {
    const before = hay[i - 1];
    const after = hay[i + needle.length];
    const edgeBefore = before === undefined || !WORD_CHAR.test(before) || !WORD_CHAR.test(needle[0]);
    const edgeAfter = after === undefined || !WORD_CHAR.test(after) || !WORD_CHAR.test(needle[needle.length - 1]);
    if (edgeBefore && edgeAfter) return true;
  }
  return false;
}
