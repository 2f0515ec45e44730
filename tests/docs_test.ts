/**
 * The tables in docs/ that the code holds (server options, metrics, limits)
 * are exactly what `deno task docs` writes from the code, so they cannot
 * drift: a new flag, metric or limit constant fails this test until the
 * docs are regenerated.
 */
import { assertEquals } from "./assert.ts";
import { docFiles, fillRegions, staleDocs } from "../tools/docs.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("docs: every generated table (config, metrics, limits) is in the docs exactly once", () => {
  const seen: string[] = [];
  for (const file of docFiles()) {
    const text = Deno.readTextFileSync(`${ROOT}${file}`);
    for (const m of text.matchAll(/<!-- generated:([a-z-]+) -->/g)) seen.push(m[1]);
  }
  assertEquals(seen.sort(), ["config", "limits", "metrics"]);
});

Deno.test("docs: the committed tables equal what `deno task docs` generates from the code", async () => {
  const stale = await staleDocs();
  assertEquals([...stale.keys()], [], "out of date: run `deno task docs` and commit the result");
});

Deno.test("docs: a region is replaced whole, and an unknown region name is an error", () => {
  const text = "a\n<!-- generated:config -->\nold\nrows\n<!-- /generated:config -->\nb\n";
  assertEquals(
    fillRegions(text, { config: "NEW" }),
    "a\n<!-- generated:config -->\n\nNEW\n\n<!-- /generated:config -->\nb\n",
  );
  let error = "";
  try {
    fillRegions("<!-- generated:nope -->\n<!-- /generated:nope -->", {}, "x.md");
  } catch (err) {
    error = String(err);
  }
  assertEquals(error, 'Error: x.md: unknown generated region "nope"');
});

Deno.test("docs: every relative link in README.md and docs/*.md points to a file that exists", () => {
  const broken: string[] = [];
  for (const file of docFiles()) {
    const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
    const text = Deno.readTextFileSync(`${ROOT}${file}`);
    for (const m of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/.test(target)) continue; // http:, https:, mailto:
      try {
        Deno.statSync(`${ROOT}${dir}${target}`);
      } catch {
        broken.push(`${file}: ${target}`);
      }
    }
  }
  assertEquals(broken, []);
});
