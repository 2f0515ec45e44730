import { assertEquals, assertOk } from "./assert.ts";
import { createFileStore, parseLogLine } from "../server/core/message_log.ts";

async function withDir(fn: (dir: string) => Promise<void> | void) {
  const dir = await Deno.makeTempDir({ prefix: "wirechat-log-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const m = (ts: string, text: string, nick = "alice") => ({ ts, nick, text });

Deno.test("messages go to daily files by UTC date, one line each, written on flush", () =>
  withDir((dir) => {
    const store = createFileStore({ dir });
    store.append(m("2026-11-21T23:59:59.999Z", "late"));
    store.append(m("2026-11-22T00:00:00.000Z", "early"));
    assertEquals([...Deno.readDirSync(dir)].length, 0);
    store.flush();
    assertEquals(Deno.readTextFileSync(`${dir}/2026-11-21-messages.txt`), "[2026-11-21T23:59:59.999Z] alice: late\n");
    assertEquals(Deno.readTextFileSync(`${dir}/2026-11-22-messages.txt`), "[2026-11-22T00:00:00.000Z] alice: early\n");
    store.close();
  }));

Deno.test("load returns the newest lines across day files, oldest first", () =>
  withDir((dir) => {
    Deno.writeTextFileSync(
      `${dir}/2026-11-20-messages.txt`,
      "[2026-11-20T10:00:00.000Z] a: one\n[2026-11-20T11:00:00.000Z] a: two\n",
    );
    Deno.writeTextFileSync(`${dir}/2026-11-21-messages.txt`, "[2026-11-21T10:00:00.000Z] b: three\n");
    Deno.writeTextFileSync(`${dir}/2026-11-22-messages.txt`, "[2026-11-22T10:00:00.000Z] c: four: with colon\n");
    Deno.writeTextFileSync(`${dir}/2026-11-22-server.log`, "not messages\n");
    const store = createFileStore({ dir });
    assertEquals(store.load(3).map((x) => x.text), ["two", "three", "four: with colon"]);
    assertEquals(store.load(10).length, 4);
    assertEquals(store.load(0), []);
    store.close();
  }));

Deno.test("a torn last line is skipped on load and cut off before the next append", () =>
  withDir((dir) => {
    const path = `${dir}/2026-11-22-messages.txt`;
    Deno.writeTextFileSync(path, "[2026-11-22T10:00:00.000Z] a: whole\n[2026-11-22T10:00:01.000Z] a: tor");
    const store = createFileStore({ dir });
    assertEquals(store.load(50).map((x) => x.text), ["whole"]);
    store.append(m("2026-11-22T10:00:02.000Z", "after restart"));
    store.flush();
    assertEquals(
      Deno.readTextFileSync(path),
      "[2026-11-22T10:00:00.000Z] a: whole\n[2026-11-22T10:00:02.000Z] alice: after restart\n",
    );
    store.close();
  }));

Deno.test("load reads only the tail of a large file", () =>
  withDir((dir) => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `[2026-11-22T10:00:00.000Z] n: message number ${i}\n`);
    Deno.writeTextFileSync(`${dir}/2026-11-22-messages.txt`, lines.join(""));
    const store = createFileStore({ dir });
    const got = store.load(50);
    assertEquals(got.length, 50);
    assertEquals(got[0].text, "message number 19950");
    assertEquals(got[49].text, "message number 19999");
    store.close();
  }));

Deno.test("a failed write is reported, not thrown, and the store recovers", () =>
  withDir((dir) => {
    const errors: Error[] = [];
    const sub = `${dir}/sub`;
    const store = createFileStore({ dir: sub, onError: (e) => errors.push(e) });
    store.append(m("2026-11-22T10:00:00.000Z", "one"));
    store.flush();
    Deno.removeSync(sub, { recursive: true });
    Deno.writeTextFileSync(sub, "a file where the folder was");
    store.append(m("2026-11-22T10:00:01.000Z", "two"));
    store.flush(); // the open handle still writes to the unlinked file, or fails: never throws
    store.append(m("2026-11-23T10:00:01.000Z", "next day"));
    store.flush();
    assertOk(errors.length >= 1);
    Deno.removeSync(sub);
    store.append(m("2026-11-23T10:00:02.000Z", "recovered"));
    store.flush();
    assertEquals(
      Deno.readTextFileSync(`${sub}/2026-11-23-messages.txt`),
      "[2026-11-23T10:00:02.000Z] alice: recovered\n",
    );
    store.close();
  }));

Deno.test("log lines parse back; malformed lines are rejected", () => {
  assertEquals(parseLogLine("[2026-11-22T10:00:00.000Z] a:b: x: y"), m("2026-11-22T10:00:00.000Z", "x: y", "a:b"));
  assertEquals(parseLogLine("[nonsense] a: b"), undefined);
  assertEquals(parseLogLine("garbage"), undefined);
  assertEquals(parseLogLine("[2026-11-22T10:00:00.000Z] nocolon"), undefined);
});

Deno.test("load skips and counts lines over the line limit: by code points of the text, and by bytes unread whole", () =>
  withDir((dir) => {
    const file = `${dir}/2026-11-22-messages.txt`;
    const huge = "h".repeat(3 * 64 * 1024 + 7); // spans several read chunks
    Deno.writeTextFileSync(
      file,
      "[2026-11-22T10:00:00.000Z] a: first\n" +
        `[2026-11-22T10:00:01.000Z] a: ${"x".repeat(17)}\n` + // 17 code points: over the limit of 16
        `[2026-11-22T10:00:02.000Z] ${huge}: hi\n` + // a short text, but a line over logLineBound(16) bytes
        `[2026-11-22T10:00:03.000Z] a: ${"é".repeat(16)}\n` + // 16 code points, 32 bytes: kept
        "[2026-11-22T10:00:04.000Z] a: last\n",
    );
    const skipped: number[] = [];
    const store = createFileStore({ dir, maxLine: 16, onSkipped: (n) => skipped.push(n) });
    assertEquals(store.load(10).map((x) => x.text), ["first", "é".repeat(16), "last"]);
    assertEquals(skipped, [2]);
    assertEquals(store.load(2).map((x) => x.text), ["é".repeat(16), "last"], "the newest, skipping none");
    assertEquals(skipped, [2], "nothing skipped when the limit is met first");
    assertEquals(createFileStore({ dir }).load(10).length, 5, "without a line limit nothing is skipped");
    store.close();
  }));
