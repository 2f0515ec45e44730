/**
 * Unicode TR39 confusable skeletons: two strings that look alike (Cyrillic
 * `а` and Latin `a`, fullwidth `ａ`, mathematical `𝐚`, `rn` and `m`, `0` and
 * `O`) have the same skeleton. The mapping is confusables.txt, generated
 * into `confusables.gen.ts` by `tools/gen_confusables.ts`.
 *
 * @module
 */
import { CONFUSABLE_RECORDS } from "./confusables.gen.ts";

let table: Map<number, string> | undefined;

/** Code point → prototype, decoded from the generated records on first use. */
function prototypes(): Map<number, string> {
  if (table) return table;
  table = new Map();
  let next = 0;
  for (const line of CONFUSABLE_RECORDS) {
    for (const record of line.split(" ")) {
      const eq = record.indexOf("=");
      const plus = record.indexOf("+");
      const head = plus >= 0 && plus < eq ? plus : eq;
      const source = next + parseInt(record.slice(0, head), 36);
      const more = head === plus ? parseInt(record.slice(plus + 1, eq), 36) : 0;
      const target = record.slice(eq + 1).split(".").map((t) => parseInt(t, 36));
      for (let k = 0; k <= more; k++) {
        table.set(source + k, String.fromCodePoint(...target.map((t) => t + (more > 0 ? k : 0))));
      }
      next = source + more + 1;
    }
  }
  return table;
}

/** The confusables.txt prototype of one code point, or undefined when it maps to itself. */
export function prototypeOf(codePoint: number): string | undefined {
  return prototypes().get(codePoint);
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
