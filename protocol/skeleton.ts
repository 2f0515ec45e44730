/**
 * Unicode TR39 confusable skeletons: two strings that look alike (Cyrillic
 * `а` and Latin `a`, fullwidth `ａ`, mathematical `𝐚`, `rn` and `m`, `0` and
 * `O`) have the same skeleton. The mapping is confusables.txt, generated
 * into `confusables.gen.ts` by `tools/gen_confusables.ts`.
 *
 * @module
 */
import { CONFUSABLE_ROWS } from "./confusables.gen.ts";

let table: Map<number, string> | undefined;

/** Code point → prototype, parsed from the generated rows on first use. */
function prototypes(): Map<number, string> {
  if (table) return table;
  table = new Map();
  for (const row of CONFUSABLE_ROWS) {
    const tab = row.indexOf("\t");
    const target = row.slice(0, tab);
    for (const c of row.slice(tab + 1)) table.set(c.codePointAt(0)!, target);
  }
  return table;
}

/**
 * The TR39 skeleton: NFD, each code point replaced by its confusables.txt
 * prototype, NFD again.
 *
 * @example
 * ```ts
 * import { confusableSkeleton } from "./skeleton.ts";
 * if (confusableSkeleton("\u0430lice") !== confusableSkeleton("alice")) throw new Error("Cyrillic a");
 * if (confusableSkeleton("ａｌｉｃｅ") !== "alice") throw new Error("fullwidth");
 * ```
 */
export function confusableSkeleton(s: string): string {
  const map = prototypes();
  let out = "";
  for (const c of s.normalize("NFD")) out += map.get(c.codePointAt(0)!) ?? c;
  return out.normalize("NFD");
}
