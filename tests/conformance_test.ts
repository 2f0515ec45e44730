/**
 * Runs every conformance script (`tests/conformance/*.chat`) against a real
 * server over WebSocket (one line per frame, and `wirechat.batch`) and plain TCP, and checks that every example in
 * `docs/PROTOCOL.md` is one of those scripts, verbatim.
 */
import {
  expandSend,
  familyOf,
  loadScripts,
  matchExpected,
  parseScript,
  runScript,
  type Transport,
} from "./conformance.ts";

const scripts = await loadScripts();
/** WebSocket, WebSocket with `wirechat.batch` frames, and plain TCP. */
const TRANSPORTS: Transport[] = ["ws", "ws-batch", "tcp"];

for (const transport of TRANSPORTS) {
  Deno.test(`conformance over ${transport}`, async (t) => {
    if (scripts.length < 10) throw new Error(`only ${scripts.length} scripts found`);
    for (const script of scripts) {
      const runs = script.steps.some((s) => !s.only || s.only === familyOf(transport));
      await t.step({ name: script.name, ignore: !runs, fn: () => runScript(script, transport) });
    }
  });
}

Deno.test("every example in docs/PROTOCOL.md is a conformance script, verbatim", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/PROTOCOL.md", import.meta.url));
  const fence = /^```chat ([\w./-]+)\n([\s\S]*?)^```$/gm;
  const names = new Set(scripts.map((s) => s.name));
  let count = 0;
  for (const m of doc.matchAll(fence)) {
    const [, path, body] = m;
    const name = path.replace(/^tests\/conformance\//, "");
    if (!names.has(name)) throw new Error(`docs/PROTOCOL.md quotes ${path}, which is not a conformance script`);
    const file = await Deno.readTextFile(new URL(`./conformance/${name}`, import.meta.url));
    if (file !== body) throw new Error(`docs/PROTOCOL.md's copy of ${path} differs from the file`);
    count++;
  }
  const quoted = new Set([...doc.matchAll(fence)].map((m) => m[1].replace(/^tests\/conformance\//, "")));
  const missing = [...names].filter((n) => !quoted.has(n));
  if (missing.length) throw new Error(`docs/PROTOCOL.md does not quote ${missing.join(", ")}`);
  if (count !== names.size) throw new Error(`${count} example blocks for ${names.size} scripts`);
  // An example block must name its script: no unnamed chat examples.
  const unnamed = doc.match(/^```chat\s*$/gm);
  if (unnamed) throw new Error("docs/PROTOCOL.md has a chat example that names no script");
});

Deno.test("script format: placeholders and steps parse as documented", () => {
  const s = parseScript(
    "t.chat",
    "@server --replay 2\n# c\n\nalice: join\n[tcp] repeat 2: alice> MSG <x*3><U+0041>\nalice< MSG [<ts:a>] <*>\nalice: closed 1008\n",
  );
  if (s.serverArgs.join(" ") !== "--replay 2") throw new Error("server args");
  if (s.steps.length !== 5 || s.steps[2].only !== "tcp" || s.steps[4].kind !== "closed") {
    throw new Error(JSON.stringify(s.steps));
  }
  if (expandSend("MSG <x*3><U+0041> <name> <😀*2>") !== "MSG xxxA <name> 😀😀") throw new Error("expand");
  const raw = expandSend("MSG <0xFF>");
  if (!(raw instanceof Uint8Array) || raw.join() !== "77,83,71,32,255,10") throw new Error("raw bytes");
  const bound = new Map<string, string>();
  const ts = "2026-11-22T03:11:07.123Z";
  if (!matchExpected("MSG [<ts:a>] a: <*>", `MSG [${ts}] a: hi`, bound)) throw new Error("no match");
  if (matchExpected("MSG [<ts:a>] a: hi", "MSG [2026-11-22T03:11:07.124Z] a: hi", bound)) {
    throw new Error("a bound timestamp matched another");
  }
  if (matchExpected("SYS Send: NICK <name>", "SYS Send: NICK bob", bound)) throw new Error("<name> is not literal");
  for (
    const bad of ["alice:connect", "alice: fly", "alice: closed 10", "alice: join now", "alice: join\n@server --x"]
  ) {
    let threw = false;
    try {
      parseScript("bad.chat", bad);
    } catch {
      threw = true;
    }
    if (!threw) throw new Error(`accepted ${JSON.stringify(bad)}`);
  }
});
