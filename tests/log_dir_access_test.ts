/**
 * The log folder preflight: a usable folder passes and keeps no probe file;
 * a missing permission or an unusable path is one sentence, with the hint
 * that fits a compiled executable or a `deno run`.
 *
 * @module
 */
import { logDirProblem, STANDALONE_LOG_DIRS } from "../server/ops/log_dir_access.ts";
import { assertEquals } from "./assert.ts";

Deno.test("a usable folder (created if missing) passes and keeps no probe file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-logdir-" });
  try {
    assertEquals(logDirProblem(`${dir}/new/logs`), undefined);
    assertEquals([...Deno.readDirSync(`${dir}/new/logs`)].map((e) => e.name), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing Deno permission: one sentence naming the folders a compiled executable may use", () => {
  const denyWrite = (name: "read" | "write") => name === "write" ? "prompt" : "granted";
  const compiled = logDirProblem("/srv/chat", { standalone: true, permission: denyWrite });
  assertEquals(
    compiled,
    `no permission to write the log folder "/srv/chat": this executable may only use ${
      STANDALONE_LOG_DIRS.join(", ")
    }; pick one with --log-dir or WIRECHAT_LOG_DIR.`,
  );
  const fromSource = logDirProblem("/srv/chat", { standalone: false, permission: () => "denied" });
  assertEquals(
    fromSource,
    `no permission to read the log folder "/srv/chat": this server was started without access to it; pick another folder with --log-dir or WIRECHAT_LOG_DIR.`,
  );
});

Deno.test("a path that cannot be a folder (under a regular file): one sentence with the reason", async () => {
  const file = await Deno.makeTempFile({ prefix: "wirechat-logdir-" });
  try {
    const problem = logDirProblem(`${file}/logs`);
    assertEquals(
      problem,
      `the log folder ${JSON.stringify(`${file}/logs`)} cannot be created because ${
        JSON.stringify(file)
      } is a file; pick another folder with --log-dir.`,
    );
    assertEquals(problem!.includes("\n"), false);
  } finally {
    await Deno.remove(file);
  }
});
