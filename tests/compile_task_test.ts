/**
 * `deno task compile` itself: when `deno compile` cannot download its Deno
 * runtime (forced here with a proxy that refuses connections, so the test
 * means the same with or without internet) the task prints one sentence and
 * exits 1, writing nothing; if the runtime is already cached it builds a real
 * executable, which must then print the version. A base binary that is not
 * the Deno runtime gives an executable that is not Wirechat: it is removed.
 *
 * @module
 */
import { VERSION } from "../protocol/version.ts";
import { runtimeDownloadFailure } from "../tools/compile.ts";
import { compileArgs, DIST_DIR, EXECUTABLES, outputPath } from "../tools/compile_flags.ts";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

/** What `deno compile` 2.9.6 printed on these machines for an unreachable download. */
const REAL_FAILURE = `Check main.ts
Compile main.ts to dist/wirechat-x86_64-unknown-linux-gnu
Download https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip
error: Writing deno compile executable to temporary file 'dist/wirechat-x86_64-unknown-linux-gnu.tmp-f345107b266f6735'

Caused by:
    0: Setting up base binary.
    1: error sending request for url (https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip): client error (Connect): dns error: failed to lookup address information: Name or service not known
`;

Deno.test("runtimeDownloadFailure finds the runtime URL in deno compile's error, and only there", () => {
  assertEquals(
    runtimeDownloadFailure(REAL_FAILURE),
    "https://dl.deno.land/release/v2.9.6/denort-x86_64-unknown-linux-gnu.zip",
  );
  assertEquals(runtimeDownloadFailure("error: TS2304 Cannot find name 'x'.\n    at file:///main.ts:1:1"), undefined);
});

Deno.test("compileArgs bakes the permissions and names the target and output", () => {
  for (const exe of EXECUTABLES) {
    const args = compileArgs(exe, "x86_64-pc-windows-msvc");
    assertEquals(args.slice(0, 2), ["compile", "--frozen-lockfile"]);
    assertEquals(args.slice(2, 2 + exe.permissions.length), [...exe.permissions]);
    assertEquals(args.at(-1), exe.entry);
    assertOk(args.includes("--target") && args.includes("x86_64-pc-windows-msvc"));
    assertEquals(outputPath(exe, "x86_64-pc-windows-msvc"), `${DIST_DIR}/${exe.name}-x86_64-pc-windows-msvc.exe`);
  }
});

Deno.test("deno task compile without a reachable runtime download: one sentence, exit 1, nothing written", async () => {
  const target = Deno.build.target;
  const outputs = EXECUTABLES.map((e) => `${ROOT}${outputPath(e, target)}`);
  const before = outputs.map(mtimeOf);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile", "--target", "host"],
    cwd: ROOT,
    // A proxy that refuses every connection: the download fails here as it does offline.
    env: { NO_COLOR: "1", HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9" },
    stdin: "null",
  }).output();
  const stderr = decoder.decode(out.stderr).split("\n").filter((l) => l !== "" && !l.startsWith("Task compile"));
  if (out.code === 0) {
    // The runtime was cached already: a real build. It must run and print the version.
    for (const path of outputs) {
      const v = await new Deno.Command(path, { args: ["--version"] }).output();
      assertEquals(decoder.decode(v.stdout), `wirechat ${VERSION}\n`);
      await Deno.remove(path);
    }
    return;
  }
  assertEquals(out.code, 1);
  assertEquals(stderr.length, 1, stderr.join("\n"));
  assertMatch(
    stderr[0],
    new RegExp(
      `^compile: deno compile could not download the Deno runtime for ${target} from https://dl\\.deno\\.land/\\S+/denort-${target}\\.zip, so no executable was written; `,
    ),
  );
  assertEquals(outputs.map(mtimeOf), before, "an executable was written");
  for (const path of outputs) assertEquals(leftovers(path), [], "a temporary file was left behind");
});

Deno.test("an executable that does not run as wirechat is removed, never shipped (deno CLI as DENORT_BIN)", async () => {
  const target = Deno.build.target;
  const output = `${ROOT}${outputPath(EXECUTABLES[0], target)}`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile", "--target", "host"],
    cwd: ROOT,
    // deno compile builds on this file instead of downloading denort: the result runs the Deno CLI, not Wirechat.
    env: { NO_COLOR: "1", DENORT_BIN: Deno.execPath() },
    stdin: "null",
  }).output();
  const stderr = decoder.decode(out.stderr).split("\n").filter((l) => l !== "" && !l.startsWith("Task compile"));
  assertEquals(out.code, 1, stderr.join("\n"));
  assertEquals(stderr, [
    `compile: ${outputPath(EXECUTABLES[0], target)} did not print "wirechat ${VERSION}" when run, so it was removed.`,
  ]);
  assertEquals(mtimeOf(output), undefined, "the executable that is not Wirechat is gone");
  assertEquals(leftovers(output), []);
});

/** The modification time of `path`, or undefined when it does not exist. */
function mtimeOf(path: string): number | undefined {
  try {
    return Deno.statSync(path).mtime?.getTime();
  } catch {
    return undefined;
  }
}

/** Leftover `path.tmp-*` files of an interrupted `deno compile`. */
function leftovers(path: string): string[] {
  const dir = path.slice(0, path.lastIndexOf("/"));
  const base = path.slice(path.lastIndexOf("/") + 1);
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith(`${base}.tmp-`));
  } catch {
    return [];
  }
}
