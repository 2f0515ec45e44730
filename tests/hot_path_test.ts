/**
 * The fan-out path: the outbound scheduler coalesces per task without
 * waiting for more, runs the log hook before any peer is flushed, and a
 * `wirechat.batch` client gets a task's lines in one frame while a plain
 * client gets exactly one line per frame.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { createOutboundScheduler, MAX_QUEUED_PER_TURN } from "../server/core/outbound.ts";
import { createFrameEncoders, textFrame } from "../server/transports/ws_frame.ts";
import { createLineDialects } from "../server/core/dialect.ts";
import { BATCH_SUBPROTOCOL, formatLine, type ServerEvent } from "../protocol/mod.ts";
import { join, startTestServer, WAIT_MS } from "./helpers.ts";

Deno.test("scheduler: one deferred flush per task, hooks first, peers marked during a flush go out in it", () => {
  const deferred: (() => void)[] = [];
  const s = createOutboundScheduler((fn) => deferred.push(fn));
  const order: string[] = [];
  s.beforeFlush(() => order.push("hook"));
  const b = { flush: () => order.push("b") };
  const a = {
    flush() {
      order.push("a");
      s.mark(b); // e.g. a close that makes the room send a leave notice
    },
  };
  s.mark(a);
  s.mark(a);
  assertEquals(deferred.length, 1, "one flush per task however many marks");
  deferred[0]();
  assertEquals(order, ["hook", "a", "hook", "b"]);
  s.mark(a);
  assertEquals(deferred.length, 2, "the next task schedules again");
  // A peer flushed on its own (before a close frame) is not flushed again by the turn's flush, unless marked again,
  // and then once.
  order.length = 0;
  s.flushOne(a);
  s.flushOne(a);
  assertEquals(order, ["hook", "a"], "flushOne flushes a marked peer once");
  deferred[1]();
  assertEquals(order, ["hook", "a", "hook", "b"], "b, marked by a's flush, goes out in the turn's flush; a does not");
  order.length = 0;
  s.mark(b);
  s.flushOne(b);
  s.mark(b);
  deferred[2]();
  assertEquals(order, ["hook", "b", "hook", "b"], "marked again after flushOne: flushed again, once");
});

Deno.test("scheduler: a peer whose flush throws does not take the others' turn away: they go out in the next flush", () => {
  const deferred: (() => void)[] = [];
  const s = createOutboundScheduler((fn) => deferred.push(fn));
  const order: string[] = [];
  let fail = true;
  const bad = {
    pending: false,
    flush() {
      order.push("bad");
      if (fail) throw new Error("a broken socket");
    },
  };
  const good = { pending: false, flush: () => order.push("good") };
  s.mark(bad);
  s.mark(good);
  let thrown = "";
  try {
    deferred[0]();
  } catch (err) {
    thrown = String(err);
  }
  assertOk(thrown.includes("a broken socket"));
  assertEquals(order, ["bad"]);
  assertEquals(deferred.length, 2, "the rest is scheduled again");
  fail = false;
  deferred[1]();
  assertEquals(order, ["bad", "good"], "good goes out once; bad is not flushed again unless marked");
  s.mark(bad);
  deferred[2]();
  assertEquals(order, ["bad", "good", "bad"], "marked again after the throw: flushed again");
});

Deno.test("scheduler: a turn that queues MAX_QUEUED_PER_TURN texts is flushed at once, not at the end of the turn", () => {
  const deferred: (() => void)[] = [];
  const s = createOutboundScheduler((fn) => deferred.push(fn), 3);
  const order: string[] = [];
  s.beforeFlush(() => order.push("hook"));
  const a = { pending: false, flush: () => order.push("a") };
  s.mark(a);
  s.queued();
  s.queued();
  assertEquals(order, [], "below the bound: nothing written yet");
  s.queued();
  assertEquals(order, ["hook", "a"], "at the bound: flushed now");
  s.mark(a);
  s.queued();
  s.queued();
  assertEquals(order, ["hook", "a"], "the count starts again after a flush");
  deferred[0]();
  assertEquals(order, ["hook", "a", "hook", "a"], "the end of the turn flushes the rest");
  assertEquals(MAX_QUEUED_PER_TURN, 2_097_152);
});

Deno.test("shared encoding: peers holding the same lines get the very same buffer, each line framed once", () => {
  const frames = createFrameEncoders();
  const a = "MSG [2026-11-22T03:11:07.123Z] alice: one", b = "SYS bob joined the chat!";
  const first = frames.line([a, b]);
  assertEquals([...first], [...textFrame(a), ...textFrame(b)], "one final unmasked text frame per line");
  assertOk(frames.line([a, b]) === first, "the next peer with the same lines shares the buffer");
  const single = frames.line([a]);
  assertOk(single !== first && frames.line([a]) === single);
  frames.forget();
  const batch = frames.batch([a, b]);
  assertEquals(new TextDecoder().decode(batch.subarray(2)), `${a}\n${b}`, "a batch is one frame");
  assertOk(frames.batch([a, b]) === batch);
  assertEquals(new TextDecoder().decode(frames.batch([b, a]).subarray(2)), `${b}\n${a}`, "another order");
  // Frame headers at the length boundaries (7-bit, 16-bit, 64-bit lengths).
  assertEquals([...textFrame("x".repeat(125)).subarray(0, 2)], [0x81, 125]);
  assertEquals([...textFrame("x".repeat(126)).subarray(0, 4)], [0x81, 126, 0, 126]);
  assertEquals([...textFrame("x".repeat(65536)).subarray(0, 10)], [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
});

Deno.test("line dialect: the codec's line, cached per event (a broadcast formats once), per server", () => {
  const view = { self: undefined };
  const lineOf = (event: ServerEvent) => dialect.encode(event, view);
  const dialect = createLineDialects().line;
  const event = { type: "msg", ts: "2026-11-22T03:11:07.123Z", nick: "alice", text: "hi" } satisfies ServerEvent;
  const other: ServerEvent = { type: "join", nick: "bob" };
  const first = lineOf(event);
  assertEquals(first, formatLine(event));
  assertEquals(lineOf(other), "SYS bob joined the chat!");
  // Formatted once: a change to the event after its first encoding does not show.
  event.text = "changed";
  assertEquals(lineOf(event), first, "cached line comes back");
  // Another server's dialect keeps its own cache.
  assertEquals(createLineDialects().line.encode(event, view), formatLine(event));
});

/** Opens a raw WebSocket that records frames as they arrive. */
async function frames(url: string, protocols?: string[]) {
  const ws = new WebSocket(url, protocols);
  const got: string[] = [];
  let wake: (() => void) | undefined;
  ws.onmessage = (e) => {
    got.push(String(e.data));
    wake?.();
  };
  const closed = new Promise<void>((r) => ws.onclose = () => r());
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("connect failed"));
  });
  return {
    ws,
    got,
    protocol: ws.protocol,
    /** Waits until some frame contains `text`. */
    async until(text: string) {
      const signal = AbortSignal.timeout(WAIT_MS);
      while (!got.some((f) => f.includes(text))) {
        if (signal.aborted) throw new Error(`no frame with ${text}; got ${JSON.stringify(got)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 50);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
      }
    },
    async close() {
      ws.close();
      await closed;
    },
  };
}

Deno.test("a batch client gets its join line and whole replay block in one frame; a plain client one line per frame", async () => {
  await using s = await startTestServer();
  const alice = await join(s.url, "alice");
  for (const text of ["one", "two", "three"]) alice.send(`MSG ${text}`);
  await alice.until(/alice: three$/);

  const batch = await frames(s.url, [BATCH_SUBPROTOCOL]);
  assertEquals(batch.protocol, BATCH_SUBPROTOCOL);
  batch.ws.send("NICK bob");
  await batch.until("SYS Replay end");
  const block = batch.got.find((f) => f.startsWith("SYS bob joined the chat!"))!.split("\n");
  assertEquals(block.length, 6, `one frame: ${JSON.stringify(block)}`);
  assertEquals(block[1], "SYS Replay start (3 messages)");
  assertEquals(block[5], "SYS Replay end");

  const plain = await frames(s.url);
  assertEquals(plain.protocol, "");
  plain.ws.send("NICK carol");
  await plain.until("SYS Replay end");
  assertOk(plain.got.every((f) => !f.includes("\n")), `one line per frame: ${JSON.stringify(plain.got)}`);
  const at = plain.got.indexOf("SYS carol joined the chat!");
  assertEquals(plain.got[at + 1], "SYS Replay start (3 messages)");
  assertEquals(plain.got.length - at, 6, "join line, start, three messages, end: six frames");

  await batch.close();
  await plain.close();
  await alice.close();
});
