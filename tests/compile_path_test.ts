/**
 * The compile path without the runtime download: each executable's entry
 * point runs through `deno run` with exactly the permission flags that
 * `deno task compile` bakes in (shared from `tools/compile_flags.ts`), from a
 * working directory outside the source tree. `wirechat-server` may read only
 * its log folders and `/etc/wirechat`, and the source tree is denied to both
 * executables, so any read of a source-tree file (a browser asset, a config)
 * fails here just as it would in the binary.
 *
 * @module
 */
import { WEB_ASSETS } from "../server/ops/web_assets.gen.ts";
import { STANDALONE_LOG_DIRS } from "../server/ops/log_dir_access.ts";
import {
  CONFIG_DIR,
  type Executable,
  EXECUTABLES,
  SERVER_PERMISSIONS,
  SYS_PERMISSION,
  WIRECHAT_PERMISSIONS,
} from "../tools/compile_flags.ts";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { join, WAIT_MS } from "./helpers.ts";
import { startRedis } from "./redis_helpers.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const decoder = new TextDecoder();

function exe(name: string): Executable {
  const found = EXECUTABLES.find((e) => e.name === name);
  if (!found) throw new Error(`no executable ${name} in tools/compile_flags.ts`);
  return found;
}

/**
 * The `deno run` equivalent of running the compiled `exe` with `args`. The
 * source tree is also denied for reading: `wirechat` may read any file (for
 * the client's `--ca`), and must still not need a file from the tree.
 */
function command(e: Executable, args: string[], cwd: string, env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      `${ROOT}deno.json`,
      ...e.permissions,
      `--deny-read=${ROOT}`,
      `${ROOT}${e.entry}`,
      ...args,
    ],
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

async function runOnce(e: Executable, args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = await command(e, args, cwd, env).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

interface Running {
  child: Deno.ChildProcess;
  port: number;
  stderr: () => string;
  stdoutDone: Promise<void>;
}

async function start(e: Executable, args: string[], cwd: string): Promise<Running> {
  const child = command(e, args, cwd).spawn();
  const stdoutDone = child.stdout.pipeTo(new WritableStream());
  let text = "";
  const reader = child.stderr.getReader();
  const signal = AbortSignal.timeout(WAIT_MS * 2);
  let port: number | undefined;
  while (port === undefined && !signal.aborted) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
    const m = /Listening on ws:\/\/[^:]+:(\d+)\//.exec(text);
    if (m) port = Number(m[1]);
  }
  if (port === undefined) {
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stderr.cancel();
    await stdoutDone;
    throw new Error(`server did not start: ${text}`);
  }
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
  })();
  return {
    child,
    port,
    stderr: () => text,
    stdoutDone: Promise.all([stdoutDone, drained]).then(() => {}),
  };
}

async function inTempDir(fn: (cwd: string) => Promise<void>) {
  const cwd = await Deno.makeTempDir({ prefix: "wirechat-compile-path-" });
  try {
    assertOk(!cwd.startsWith(ROOT), "the working directory must be outside the source tree");
    await fn(cwd);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

/** Local paths the page refers to (`src=`/`href=` starting with one `/`). */
function referencedPaths(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)="(\/(?!\/)[^"#?]*)"/g)].map((m) => m[1]);
}

/** A permission failure or an uncaught error anywhere in the server's output. */
const TROUBLE = /NotCapable|Requires \w+ access|PermissionDenied|Uncaught|error:/i;

for (const [name, serveArgs] of [["wirechat-server", []], ["wirechat", ["serve"]]] as const) {
  Deno.test(`${name}: with its baked permissions only, serves every browser asset, chats, exits 0 on SIGTERM`, () =>
    inTempDir(async (cwd) => {
      const server = await start(exe(name), [...serveArgs, "--port", "0"], cwd);
      const base = `http://127.0.0.1:${server.port}`;
      try {
        const paths = Object.keys(WEB_ASSETS);
        assertOk(paths.includes("/"), "the page itself is an asset");
        for (const path of paths) {
          const res = await fetch(base + path);
          const body = await res.text();
          assertEquals(res.status, 200, `GET ${path}`);
          assertEquals(res.headers.get("content-type"), WEB_ASSETS[path].type, `content type of ${path}`);
          assertEquals(body, WEB_ASSETS[path].body, `body of ${path}`);
        }
        const page = await (await fetch(`${base}/`)).text();
        const refs = referencedPaths(page);
        assertOk(refs.length > 0, "the page refers to its script and stylesheet");
        for (const ref of refs) {
          assertOk(ref in WEB_ASSETS, `the page refers to ${ref}, which is not embedded`);
        }

        const health = await fetch(`${base}/healthz`);
        assertEquals(health.status, 200);
        assertEquals((await health.json()).status, "ok");

        const ws = `ws://127.0.0.1:${server.port}/`;
        const alice = await join(ws, "alice");
        const bob = await join(ws, "bob");
        await alice.until("SYS bob joined the chat!");
        alice.send("MSG hello from the compile path");
        const line = await bob.until(/^MSG \[[^\]]+\] alice: hello from the compile path$/);
        assertEquals(await alice.until(/^MSG /), line);
        bob.send("MSG hi alice");
        await alice.until(/^MSG \[[^\]]+\] bob: hi alice$/);

        server.child.kill("SIGTERM");
        await alice.until("SYS Server shutting down");
        assertEquals((await alice.closed).code, 1001);
        assertEquals((await bob.closed).code, 1001);
        assertEquals((await server.child.status).code, 0);
        await server.stdoutDone;
        assertOk(!TROUBLE.test(server.stderr()), `unexpected error output:\n${server.stderr()}`);

        // Everything it wrote is under ./logs in the working directory.
        assertEquals([...Deno.readDirSync(cwd)].map((e) => e.name), ["logs"]);
        const day = new Date().toISOString().slice(0, 10);
        const messages = await Deno.readTextFile(`${cwd}/logs/${day}-messages.txt`);
        assertMatch(messages, /\] alice: hello from the compile path\n/);
        assertMatch(messages, /\] bob: hi alice\n/);
      } finally {
        try {
          server.child.kill("SIGKILL");
        } catch { /* already exited */ }
        await server.child.status;
        await server.stdoutDone;
      }
    }));
}

Deno.test("--redis with the baked permissions: wirechat-server and wirechat serve share one room", () =>
  inTempDir((cwdA) =>
    inTempDir(async (cwdB) => {
      await using redis = await startRedis();
      const a = await start(exe("wirechat-server"), ["--port", "0", "--redis", redis.url], cwdA);
      const b = await start(exe("wirechat"), ["serve", "--port", "0", "--redis", redis.url], cwdB)
        .catch(async (err) => {
          a.child.kill("SIGKILL");
          await a.child.status;
          await a.stdoutDone;
          throw err;
        });
      try {
        const alice = await join(`ws://127.0.0.1:${a.port}/`, "alice");
        const bob = await join(`ws://127.0.0.1:${b.port}/`, "bob");
        await alice.until("SYS bob joined the chat!");
        alice.send("MSG across nodes");
        await bob.until(/^MSG \[[^\]]+\] alice: across nodes$/);
        for (const node of [a, b]) node.child.kill("SIGTERM");
        await alice.closed;
        await bob.closed;
        for (const node of [a, b]) {
          assertEquals((await node.child.status).code, 0, node.stderr());
          await node.stdoutDone;
          assertOk(!TROUBLE.test(node.stderr()), `unexpected error output:\n${node.stderr()}`);
        }
      } finally {
        for (const node of [a, b]) {
          try {
            node.child.kill("SIGKILL");
          } catch { /* already exited */ }
          await node.child.status;
          await node.stdoutDone;
        }
      }
    })
  ));

Deno.test("wirechat-server healthcheck: exit 0 against a running server, 1 with one line when none answers", () =>
  inTempDir(async (cwd) => {
    const server = await start(exe("wirechat-server"), ["--port", "0"], cwd);
    try {
      // Without --url it probes 127.0.0.1 on WIRECHAT_PORT, as in the container.
      const byEnv = await runOnce(exe("wirechat-server"), ["healthcheck"], cwd, { WIRECHAT_PORT: String(server.port) });
      assertEquals(byEnv.code, 0, byEnv.stderr);
      const url = `http://127.0.0.1:${server.port}/healthz`;
      const good = await runOnce(exe("wirechat-server"), ["healthcheck", "--url", url], cwd);
      assertEquals(good.code, 0, good.stderr);
      assertEquals(JSON.parse(good.stdout).status, "ok");
    } finally {
      server.child.kill("SIGTERM");
      assertEquals((await server.child.status).code, 0);
      await server.stdoutDone;
    }
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const bad = await runOnce(
      exe("wirechat-server"),
      ["healthcheck", "--url", `http://127.0.0.1:${deadPort}/healthz`],
      cwd,
    );
    assertEquals(bad.code, 1);
    assertEquals(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assertMatch(bad.stderr, /^wirechat healthcheck: http:\/\/127\.0\.0\.1:\d+\/healthz is not reachable/);
  }));

Deno.test("a log folder outside the baked ones: one sentence, exit 1, nothing written", () =>
  inTempDir(async (cwd) => {
    const elsewhere = `${cwd}/elsewhere`;
    for (const [name, args] of [["wirechat-server", []], ["wirechat", ["serve"]]] as const) {
      const r = await runOnce(exe(name), [...args, "--port", "0", "--log-dir", elsewhere], cwd);
      assertEquals(r.code, 1, r.stderr);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
      assertMatch(r.stderr, /^wirechat serve: no permission to (read|write) the log folder ".*elsewhere": /);
    }
    assertEquals([...Deno.readDirSync(cwd)], []);
  }));

Deno.test("--version prints the version through every entry point, with the baked permissions", () =>
  inTempDir(async (cwd) => {
    const { VERSION } = await import("../protocol/version.ts");
    const runs: [string, string[]][] = [
      ["wirechat", ["--version"]],
      ["wirechat", ["serve", "--version"]],
      ["wirechat", ["client", "--version"]],
      ["wirechat-server", ["--version"]],
    ];
    for (const [name, args] of runs) {
      const r = await runOnce(exe(name), args, cwd);
      assertEquals(r.code, 0, `${name} ${args.join(" ")}: ${r.stderr}`);
      assertEquals(r.stdout, `wirechat ${VERSION}\n`, `${name} ${args.join(" ")}`);
    }
  }));

Deno.test("the baked permissions: no -A, only WIRECHAT_* (and ws and terminal) variables, writes only to the log folders", () => {
  const logDirs = STANDALONE_LOG_DIRS.join(",");
  assertEquals([...STANDALONE_LOG_DIRS], ["./logs", "/data", "/var/lib/wirechat"]);
  for (const perms of [SERVER_PERMISSIONS, WIRECHAT_PERMISSIONS]) {
    assertOk(!perms.some((p) => p === "-A" || p === "--allow-all"), perms.join(" "));
    assertOk(!perms.some((p) => /^--allow-(run|ffi|import)/.test(p)), perms.join(" "));
    assertEquals(perms.filter((p) => p.startsWith("--allow-sys")), [SYS_PERMISSION], "only the Host check's names");
    assertEquals(perms.filter((p) => p.startsWith("--allow-write")), [`--allow-write=${logDirs}`]);
    assertOk(perms.includes("--no-prompt"));
    assertOk(perms.includes("--allow-net"));
  }
  assertEquals(SERVER_PERMISSIONS.filter((p) => p.startsWith("--allow-env")), [
    "--allow-env=WIRECHAT_*,WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE",
  ]);
  assertEquals(WIRECHAT_PERMISSIONS.filter((p) => p.startsWith("--allow-env")), [
    "--allow-env=WIRECHAT_*,WS_NO_BUFFER_UTIL,WS_NO_UTF_8_VALIDATE,NO_COLOR,TERM",
  ]);
  assertEquals(SERVER_PERMISSIONS.filter((p) => p.startsWith("--allow-read")), [
    `--allow-read=${logDirs},${CONFIG_DIR}`,
  ]);
});
