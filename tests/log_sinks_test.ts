/**
 * Issue 17 finding 3: the operational log at midnight. The daily file sink
 * alone, fed records stamped on either side of UTC midnight (its clock is
 * the record's timestamp), and a real in-process server with logging
 * configured as `main.ts` does while the wall clock crosses midnight. The
 * server runs as root here, so "unwritable" is a file where the folder was
 * (root ignores permission bits).
 */
import { dispose } from "@logtape/logtape";
import type { LogRecord } from "@logtape/logtape";
import { assertEquals, assertMatch, assertOk } from "./assert.ts";
import { parseExposition } from "./exposition.ts";
import { join, startTestServer, steppableWallClock, waitUntil } from "./helpers.ts";
import {
  configureServerLogging,
  dailyFileSink,
  LOG_BUFFER_BYTES,
  LOG_FLUSH_MS,
  LOG_MAX_PENDING_BYTES,
  utcDay,
} from "../server/ops/log_sinks.ts";

const DAY_MS = 86_400_000;
const MIDNIGHT = Date.UTC(2026, 10, 27); // 2026-11-27T00:00:00Z

function record(text: string, timestamp: number): LogRecord {
  return {
    category: ["wirechat", "test"],
    level: "info",
    message: [text],
    rawMessage: text,
    timestamp,
    properties: {},
  };
}

async function read(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

async function tempLogDir(): Promise<{ root: string; dir: string } & AsyncDisposable> {
  const root = await Deno.makeTempDir({ prefix: "wirechat-oplog-" });
  return {
    root,
    dir: `${root}/logs`,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }).catch(() => {}),
  };
}

/** A sink writing to a fresh temporary folder, its failure reports collected. */
async function sinkInTemp() {
  const tmp = await tempLogDir();
  const reports: string[] = [];
  const sink = dailyFileSink(tmp.dir, { report: (l) => reports.push(l) });
  return {
    dir: tmp.dir,
    sink,
    reports,
    async [Symbol.asyncDispose]() {
      await sink[Symbol.asyncDispose]();
      await tmp[Symbol.asyncDispose]();
    },
  };
}

Deno.test("log sink: crossing UTC midnight after the folder was removed writes the new day's file in a new folder", async () => {
  await using t = await sinkInTemp();
  const { sink, reports } = t;
  sink(record("before midnight", MIDNIGHT - 1));
  await sink.flush();
  assertMatch(await read(`${t.dir}/2026-11-26-server.log`), /before midnight/);

  await Deno.remove(t.dir, { recursive: true });
  sink(record("after midnight", MIDNIGHT));
  sink(record("a late record of the day before", MIDNIGHT - 5));
  await sink.flush();
  assertMatch(await read(`${t.dir}/2026-11-27-server.log`), /after midnight/);
  assertMatch(await read(`${t.dir}/2026-11-26-server.log`), /a late record of the day before/);
  assertOk(!(await read(`${t.dir}/2026-11-27-server.log`)).includes("late record"), "filed by the record's date");
  assertEquals([sink.failures(), sink.dropped(), reports], [0, 0, []]);
});

Deno.test("log sink: a file where the folder was is counted and reported once per streak, never thrown; it resumes", async () => {
  await using t = await sinkInTemp();
  const { sink, reports } = t;
  sink(record("day one", MIDNIGHT - 1000));
  await sink.flush();

  await Deno.remove(t.dir, { recursive: true });
  await Deno.writeTextFile(t.dir, "not a folder");
  sink(record("first after midnight", MIDNIGHT + 1000));
  await sink.flush();
  sink(record("second", MIDNIGHT + 2000));
  sink(record("third", MIDNIGHT + 3000));
  await sink.flush();
  assertEquals([sink.failures(), sink.dropped()], [2, 3]);
  assertEquals(reports.length, 1, reports.join("\n"));
  assertMatch(reports[0], /^wirechat: cannot write the operational log in ".*logs": .*2026-11-27-server\.log/);

  await Deno.remove(t.dir);
  sink(record("back", MIDNIGHT + 4000));
  await sink.flush();
  assertMatch(await read(`${t.dir}/2026-11-27-server.log`), /back/);
  assertEquals(reports.length, 2);
  assertMatch(reports[1], /written again .* after 2 failed writes; 3 records were not written/);
});

Deno.test("log sink: at most LOG_MAX_PENDING_BYTES wait behind a write in flight; the rest is dropped and counted", async () => {
  await using t = await sinkInTemp();
  const { sink, reports } = t;
  const text = "x".repeat(1000);
  const total = Math.ceil((LOG_BUFFER_BYTES + 2 * LOG_MAX_PENDING_BYTES) / text.length);
  // One synchronous burst: the first LOG_BUFFER_BYTES start a write, the rest waits behind it.
  for (let i = 0; i < total; i++) sink(record(text, MIDNIGHT));
  await sink.flush();
  const written = (await read(`${t.dir}/2026-11-27-server.log`)).split("\n").filter((l) => l.endsWith(text)).length;
  const lineLength = (await read(`${t.dir}/2026-11-27-server.log`)).indexOf("\n") + 1;
  assertEquals(written + sink.dropped(), total);
  assertOk(sink.dropped() > 0, "some were dropped");
  assertOk(written * lineLength <= LOG_BUFFER_BYTES + LOG_MAX_PENDING_BYTES + lineLength, `${written} lines kept`);
  assertOk(written * lineLength > LOG_MAX_PENDING_BYTES - lineLength, `${written} lines kept: up to the bound`);
  assertEquals([sink.failures(), reports.length], [0, 2], reports.join("\n"));
  assertMatch(reports[0], /more than \d+ characters wait for a write in flight/);
  assertMatch(reports[1], new RegExp(`after 0 failed writes; ${sink.dropped()} records were not written`));
});

Deno.test("log sink: a record is written off the caller's turn, within LOG_FLUSH_MS", async () => {
  await using tmp = await tempLogDir();
  await using sink = dailyFileSink(tmp.dir);
  const now = Date.now();
  const path = `${tmp.dir}/${utcDay(now)}-server.log`;
  sink(record("buffered", now));
  assertEquals(await read(path), "", "not written on the caller's turn");
  // Generous bound: LOG_FLUSH_MS plus a busy machine.
  await waitUntil("the timed write", () => {
    try {
      return Deno.readTextFileSync(path).includes("buffered");
    } catch {
      return false;
    }
  }, LOG_FLUSH_MS + 5000);
});

Deno.test("server: keeps serving across UTC midnight with its log folder removed, then replaced by a file", async () => {
  await using tmp = await tempLogDir();
  await Deno.mkdir(tmp.dir);
  const clock = steppableWallClock();
  const reports: string[] = [];
  try {
    // A minute before the next UTC midnight (room for a slow start on a busy machine).
    const midnight = Math.ceil(Date.now() / DAY_MS) * DAY_MS + DAY_MS;
    clock.step(midnight - 60_000 - Date.now());
    const sink = await configureServerLogging(tmp.dir, { report: (l) => reports.push(l) });
    try {
      await using srv = await startTestServer({ logDir: tmp.dir }, { serverLog: sink });
      await using alice = await join(srv.url, "alice");
      await sink.flush();
      assertMatch(await read(`${tmp.dir}/${utcDay(midnight - 1)}-server.log`), /Listening on/);

      // The folder is removed during the day; the clock crosses midnight.
      await Deno.remove(tmp.dir, { recursive: true });
      clock.step(65_000);
      await using bob = await join(srv.url, "bob");
      alice.send("MSG after midnight");
      await bob.until(/alice: after midnight$/);
      await sink.flush();
      assertMatch(await read(`${tmp.dir}/${utcDay(midnight)}-server.log`), /bob/);

      // A file where the folder was (unwritable, even for root); the next midnight.
      await Deno.remove(tmp.dir, { recursive: true });
      await Deno.writeTextFile(tmp.dir, "not a folder");
      clock.step(DAY_MS);
      await using carol = await join(srv.url, "carol");
      carol.send("MSG still serving");
      await alice.until(/carol: still serving$/);
      await sink.flush();
      await using dave = await join(srv.url, "dave");
      await sink.flush();
      assertOk(sink.failures() >= 2, `failures ${sink.failures()}`);
      const scraped = parseExposition(await (await fetch(`http://127.0.0.1:${srv.port}/metrics`)).text());
      assertEquals(scraped.get("wirechat_server_log_write_failures_total"), sink.failures());
      assertEquals(scraped.get("wirechat_server_log_records_dropped_total"), sink.dropped());
      assertEquals(reports.length, 1, reports.join("\n"));
      dave.send("MSG and still");
      await carol.until(/dave: and still$/);
    } finally {
      await dispose();
    }
  } finally {
    clock.restore();
  }
});

Deno.test("log sink: files are named by the UTC date in any local time zone (UTC+14 here)", async () => {
  await using tmp = await tempLogDir();
  const sinkModule = new URL("../server/ops/log_sinks.ts", import.meta.url).href;
  // 23:30 UTC on the 26th is already the 27th in Kiritimati: the file must still be the 26th's.
  const script = `
    const { dailyFileSink } = await import(${JSON.stringify(sinkModule)});
    const sink = dailyFileSink(${JSON.stringify(tmp.dir)});
    const at = ${MIDNIGHT - 30 * 60_000};
    sink({ category: ["t"], level: "info", message: ["late evening"], rawMessage: "", timestamp: at, properties: {} });
    await sink[Symbol.asyncDispose]();
    console.log(new Date(at).getDate());`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    env: { TZ: "Pacific/Kiritimati", NO_COLOR: "1" },
    stdin: "null",
    signal: AbortSignal.timeout(30_000),
  }).output();
  assertEquals(new TextDecoder().decode(out.stdout).trim(), "27", "the child runs on UTC+14");
  assertMatch(await read(`${tmp.dir}/2026-11-26-server.log`), /late evening/);
  assertEquals([...Deno.readDirSync(tmp.dir)].map((e) => e.name), ["2026-11-26-server.log"]);
});

Deno.test("stderr sink: info waits for the end of the turn, a warning writes at once with what came before it, exit writes the rest", async () => {
  const sinkModule = new URL("../server/ops/log_sinks.ts", import.meta.url).href;
  const script = `
    import { stderrSink } from "${sinkModule}";
    const sink = stderrSink();
    const at = (level, text) => ({ category: ["wirechat"], level, message: [text], rawMessage: text, timestamp: Date.now(), properties: {} });
    const mode = Deno.args[0];
    sink(at("info", "first-info"));
    if (mode === "kill") {
      sink(at("warning", "the-warning"));
      sink(at("info", "after-warning"));
      Deno.kill(Deno.pid, "SIGKILL"); // no end of turn, no unload: only what was written at once survives
    } else {
      sink(at("info", "second-info"));
      Deno.exit(0);
    }
  `;
  const run = async (mode: string) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=js", script, mode],
      stdout: "null",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stderr);
  };
  const killed = await run("kill");
  assertMatch(killed, /first-info[\s\S]*the-warning/);
  assertEquals(killed.includes("after-warning"), false, "an info record is not written in the turn that logs it");
  const exited = await run("exit");
  assertMatch(exited, /first-info[\s\S]*second-info/);
});
