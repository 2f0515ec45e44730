/**
 * Every `deno task` that runs a program answers `--help` with its usage and
 * exit 0 (read from deno.json, so a new task is covered), and the long runs
 * (bench, soak, bench:scaleout) show live progress on request while staying
 * quiet when their stderr is piped.
 */
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { runTask } from "./server_process.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const TASKS: Record<string, string | { command: string }> = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
/** Tasks that are chains of Deno's own subcommands (`deno fmt`, `deno test`), not a program of ours. */
const GATES = new Set(["check", "test"]);

Deno.test("tasks: every task that runs a program prints its usage for --help and exits 0", async () => {
  const programs = Object.keys(TASKS).filter((name) => !GATES.has(name));
  assertOk(programs.length >= 7, `tasks found: ${programs.join(", ")}`);
  for (const name of programs) {
    const r = await runTask(name, ["--help"]);
    assertEquals(r.code, 0, `${name} --help: ${r.stderr}`);
    assertMatch(r.stdout, /^Usage: /, `${name} --help`);
    // Its own usage, not another program's: the usage names the task (or the command it runs).
    const command = typeof TASKS[name] === "string" ? TASKS[name] : TASKS[name].command;
    const word = command.includes("main.ts ") ? `wirechat ${command.split("main.ts ")[1]}` : `deno task ${name}`;
    assertOk(r.stdout.startsWith(`Usage: ${word}`), `${name} --help printed:\n${r.stdout}`);
  }
  const gates = Object.keys(TASKS).filter((name) => GATES.has(name));
  assertEquals(gates.sort(), ["check", "test"]);
});

Deno.test("tasks: an unknown flag names it and points to the usage, exit 2, for every program task", async () => {
  for (const name of Object.keys(TASKS).filter((n) => !GATES.has(n))) {
    const r = await runTask(name, ["--no-such-flag"]);
    assertEquals(r.code, 2, `${name}: ${r.stdout}${r.stderr}`);
    assertMatch(r.stderr, /no-such-flag/, name);
    // The usage itself, or (serve, whose usage is long) a pointer to --help.
    assertMatch(r.stderr, /Usage: |--help/, name);
  }
});

const TINY_BENCH = [
  "--spawn",
  "--clients",
  "2",
  "--senders",
  "1",
  "--rate",
  "20",
  "--warmup",
  "0",
];

Deno.test("tasks: bench is quiet when piped, and shows a live status line every second with --progress", async () => {
  const quiet = await runTask("bench", [...TINY_BENCH, "--duration", "1"]);
  assertEquals(quiet.code, 0, quiet.stderr);
  assertEquals(quiet.stderr, "");
  const loud = await runTask("bench", [...TINY_BENCH, "--duration", "3.5", "--progress"]);
  assertEquals(loud.code, 0, loud.stderr);
  assertMatch(loud.stderr, /^bench: starting the server$/m);
  // At least two ticks of the load status during the 3.5 s of load (three when the machine is not busy).
  const ticks = loud.stderr.split("\n").filter((l) => /^bench: load \[[#-]+\] \d+\/3\.5 s/.test(l));
  assertOk(ticks.length >= 2, loud.stderr);
});

Deno.test("tasks: soak is quiet on stderr when piped, and shows sent/delivered every second with --progress", async () => {
  const args = ["--clients", "2", "--interval", "0.5", "--sample", "2"];
  const quiet = await runTask("soak", [...args, "--seconds", "1"]);
  assertEquals(quiet.code, 0, quiet.stderr);
  assertEquals(quiet.stderr, "");
  assertMatch(quiet.stdout, /^result: server RSS start/m);
  const loud = await runTask("soak", [...args, "--seconds", "3.5", "--progress"]);
  assertEquals(loud.code, 0, loud.stderr);
  const ticks = loud.stderr.split("\n").filter((l) =>
    /^soak: load \[[#-]+\] \d+\/3\.5 s sent \d+ delivered \d+/.test(l)
  );
  assertOk(ticks.length >= 2, loud.stderr);
});
