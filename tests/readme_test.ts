/**
 * The README cannot go stale: every shell command in its quick start, "by
 * hand" and test sections is run here as a user would type it (the ports
 * 12345/12346 swapped for free ones, `WIRECHAT_PORT`/`WIRECHAT_LOG_DIR` set
 * so the command line stays as printed), or, where running it here makes no
 * sense (installing packages, the whole test suite), its parts are checked
 * against what they refer to. A command this test does not know fails it.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { join, WAIT_MS, waitUntil } from "./helpers.ts";
import { SESSION, startPane, stopTmux, tmux, typeLine, waitScreen } from "./tmux.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const README = Deno.readTextFileSync(`${ROOT}README.md`);
const PYTHON = "/usr/bin/python3";

/** The shell commands of the sections a new user follows (quick start to tests), in order. */
function readmeCommands(): string[] {
  const start = README.indexOf("## Quick start");
  const end = README.indexOf("## Architecture");
  assertOk(start >= 0 && end > start, "README sections moved: update tests/readme_test.ts");
  const commands: string[] = [];
  for (const m of README.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of m[1].split("\n")) if (line.trim() && !line.trim().startsWith("#")) commands.push(line.trim());
  }
  return commands;
}

/** The command's words with the README's example ports replaced by the ones in `ports`. */
function words(command: string, ports: Map<string, string>): string[] {
  return command.split(/\s+/).map((w) => {
    for (const [from, to] of ports) w = w.replace(new RegExp(`(^|:)${from}(?=/|$)`), `$1${to}`);
    return w;
  });
}

/** The one README command starting with `prefix` (and containing `having`). */
function find(commands: string[], prefix: string, having = ""): string {
  const found = commands.filter((c) => c.startsWith(prefix) && c.includes(having));
  assertEquals(found.length, 1, `README commands starting with ${JSON.stringify(prefix)}: ${found.join(" / ")}`);
  return found[0];
}

/** A `deno task serve …` run from the repository, as typed; its banner read from stdout. */
async function serveAsTyped(command: string, logDir: string, ports: Map<string, string>) {
  const args = words(command, ports).slice(1);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { WIRECHAT_PORT: "0", WIRECHAT_LOG_DIR: logDir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let banner = "";
  const signal = AbortSignal.timeout(WAIT_MS * 3);
  while (!banner.includes("Stop with Ctrl-C") && !signal.aborted) {
    const { value, done } = await reader.read();
    if (done) break;
    banner += value;
  }
  const rest = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  const port = /Chat page: +http:\/\/127\.0\.0\.1:(\d+)\//.exec(banner)?.[1];
  if (!port) {
    try {
      child.kill("SIGKILL");
    } catch {
      // it already exited (a bad option)
    }
    await child.status;
    await rest;
    throw new Error(`no banner from ${command}:\n${banner}\n${await stderr}`);
  }
  return {
    banner,
    port,
    async stop() {
      child.kill("SIGTERM");
      assertEquals((await child.status).code, 0);
      await rest;
      await stderr;
    },
  };
}

/**
 * Runs a tool with `input` on stdin until `done` resolves and it has printed
 * `printed` (its input stays open meanwhile), then ends its input and stops it.
 */
async function runTool(
  cmd: string,
  args: string[],
  input: string,
  printed: string,
  done: Promise<unknown>,
): Promise<string> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) out += text;
  };
  const reading = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  try {
    await done;
    await waitUntil(
      `${cmd} to print ${JSON.stringify(printed)} (it printed ${JSON.stringify(out)})`,
      () => out.includes(printed),
    );
  } finally {
    await writer.close().catch(() => {});
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await child.status;
    await reading;
  }
  return out;
}

Deno.test("README: every quick-start, by-hand and test command runs as printed (or its parts are checked)", async () => {
  const commands = readmeCommands();
  const handled = new Set<string>();
  const logDir = await Deno.makeTempDir({ prefix: "wirechat-readme-" });
  const free = () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = l.addr.port;
    l.close();
    return String(port);
  };
  const tcpPort = free();
  const ports = new Map([["12346", tcpPort]]);
  let socketPath: string | undefined;
  try {
    // Deno from npm, the version everything else uses.
    const install = "npm install -g deno@2.9.6";
    assertOk(commands.includes(install), `README lost: ${install}`);
    assertEquals(Deno.version.deno, "2.9.6");
    assertMatch(Deno.readTextFileSync(`${ROOT}.ci/run`), /^DENO_VERSION=2\.9\.6$/m);
    handled.add(install);

    // The server, as printed: its banner names the page, the WebSocket, the client command and the logs.
    const plainServe = commands.filter((c) => c.startsWith("deno task serve") && !c.includes("12346"));
    assertEquals(plainServe.length, 1, plainServe.join(" / "));
    const server = await serveAsTyped(plainServe[0], logDir, ports);
    handled.add(plainServe[0]);
    const page = `http://127.0.0.1:${server.port}/`;
    const ws = `ws://127.0.0.1:${server.port}/`;
    assertOk(server.banner.includes(`Chat page:        ${page}`), server.banner);
    assertOk(server.banner.includes(`WebSocket:        ${ws}`), server.banner);
    assertOk(server.banner.includes(`deno task client --url ${ws}`), server.banner);
    assertOk(server.banner.includes(`Logs:             ${logDir}/`), server.banner);
    const res = await fetch(page);
    assertEquals(res.status, 200);
    assertMatch(res.headers.get("content-type") ?? "", /text\/html/);
    await res.body?.cancel();
    assertOk(README.includes("open <http://127.0.0.1:12345/>"), "the README says to open the page");
    ports.set("12345", server.port);

    await using watcher = await join(ws, "watcher");

    // The terminal client, as printed: it asks for host, port and nickname.
    const client = find(commands, "deno task client");
    socketPath = await startPane(words(client, ports).join(" "));
    await waitScreen("the host prompt", (r) => r.at(-1) === "Host [localhost]:", 15_000);
    await typeLine("127.0.0.1");
    await waitScreen("the port prompt", (r) => r.at(-1) === "Port [12345]:");
    await typeLine(server.port);
    await waitScreen("the nickname prompt", (r) => r.at(-1) === "Nickname:");
    await typeLine("reader");
    await waitScreen("the chat prompt", (r) => r.at(-1) === "reader>");
    await typeLine("hello from the terminal");
    await watcher.until(/ reader: hello from the terminal$/);
    await tmux("send-keys", "-t", SESSION, "C-d");
    await watcher.until("SYS reader left the chat!");
    handled.add(client);

    // By hand over WebSocket: Python's websockets client (the one Debian's python3-websockets installs).
    const py = find(commands, "python3 ");
    await runTool(
      PYTHON,
      words(py, ports).slice(1),
      "NICK pyuser\nMSG hello from python\n",
      "SYS pyuser joined the chat!",
      watcher.until(/ pyuser: hello from python$/),
    );
    handled.add(py);
    await server.stop();
    ports.delete("12345");

    // By hand over plain TCP: the second server with --tcp-port, then nc.
    const tcpServe = find(commands, "deno task serve", "12346");
    const tcp = await serveAsTyped(tcpServe, logDir, ports);
    handled.add(tcpServe);
    assertOk(tcp.banner.includes(`Plain TCP lines:  127.0.0.1:${tcpPort}`), tcp.banner);
    await using watcher2 = await join(`ws://127.0.0.1:${tcp.port}/`, "watcher2");
    const nc = find(commands, "nc ");
    const ncWords = words(nc, ports);
    await runTool(
      ncWords[0],
      ncWords.slice(1),
      "NICK netcat\nMSG hello from nc\n",
      "SYS netcat joined the chat!",
      watcher2.until(/ netcat: hello from nc$/),
    );
    handled.add(nc);
    await tcp.stop();

    // The tests: the same command .ci/run runs, verbatim; the apt-get line installs what .ci/run would.
    const test = "npx -y deno@2.9.6 task test";
    assertOk(commands.includes(test), `README lost: ${test}`);
    assertOk(Deno.readTextFileSync(`${ROOT}.ci/run`).includes(`\n${test} `), ".ci/run must run the README's command");
    handled.add(test);
    const apt = commands.find((c) => c.startsWith("sudo apt-get install "));
    assertOk(apt !== undefined, "README lost the apt-get line");
    const ciPackages = [...Deno.readTextFileSync(`${ROOT}.ci/run`).matchAll(/need_apt\+=\(([a-z0-9-]+)\)/g)].map((m) =>
      m[1]
    );
    assertEquals(apt.split(" ").slice(3).sort(), [...new Set(ciPackages)].sort());
    handled.add(apt);

    assertEquals(commands.filter((c) => !handled.has(c)), [], "commands this test does not run or check");
  } finally {
    await stopTmux(socketPath);
    await Deno.remove(logDir, { recursive: true });
  }
});
