/**
 * The release smoke test (`tools/smoke.ts`, run by the release workflow on
 * the built Linux binary) run here on the `deno run` equivalent of
 * `wirechat-server`: same entry, same baked permissions.
 *
 * @module
 */
import { smoke } from "../tools/smoke.ts";
import { EXECUTABLES } from "../tools/compile_flags.ts";
import { assertEquals, assertMatch } from "./assert.ts";

const ROOT = new URL("..", import.meta.url).pathname;

Deno.test("tools/smoke.ts passes against wirechat-server's entry with the baked permissions", async () => {
  const server = EXECUTABLES.find((e) => e.name === "wirechat-server")!;
  const lines: string[] = [];
  const code = await smoke(
    [Deno.execPath(), "run", "--config", `${ROOT}deno.json`, ...server.permissions, `${ROOT}${server.entry}`],
    (line) => lines.push(line),
  );
  assertEquals(code, 0, lines.join("\n"));
  assertEquals(lines.length, 5, lines.join("\n"));
  assertMatch(lines[4], /^smoke: SIGTERM, clients closed 1001, exit 0 after \d+ ms$/);
});

Deno.test("tools/smoke.ts fails naming the step when the server does not stay up", async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (msg: string) => errors.push(msg);
  let code;
  try {
    // A command that exits at once instead of serving.
    code = await smoke([Deno.execPath(), "eval", "Deno.exit(3)"], () => {});
  } finally {
    console.error = original;
  }
  assertEquals(code, 1);
  assertMatch(errors.join("\n"), /^smoke: start failed: it exited with code 3 before listening/);
});
