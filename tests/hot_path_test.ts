/**
 * The fan-out path: the outbound scheduler coalesces per task without
 * waiting for more, runs the log hook before any peer is flushed, and a
 * `wirechat.batch` client gets a task's lines in one frame while a plain
 * client gets exactly one line per frame.
 */
import { assertEquals, assertOk } from "./assert.ts";
import { batchFrame, createOutboundScheduler, outboundCharge, PENDING_FRAME_COST } from "../server/core/outbound.ts";
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
});

Deno.test("outboundCharge: pending frames are priced, so small frames meet --max-outbound with fewer unsent bytes", () => {
  const limit = 1024 * 1024;
  assertEquals(outboundCharge(0, 100), 0);
  assertEquals(outboundCharge(1, 100), 1 + PENDING_FRAME_COST);
  // 100-byte frames: the bound is reached at about 93 KB unsent (~1 MiB of server memory), not at 1 MiB unsent.
  assertOk(outboundCharge(93_000, 100) <= limit);
  assertOk(outboundCharge(94_000, 100) > limit);
  // Large frames: the bound is nearly the unsent bytes themselves.
  assertOk(outboundCharge(1_000_000, 64_000) <= limit);
  assertOk(outboundCharge(1_040_000, 64_000) > limit);
});

Deno.test("batchFrame: lines joined by \\n, built once for consecutive peers with the same lines", () => {
  const a = "MSG [2026-11-22T03:11:07.123Z] alice: one", b = "SYS bob joined the chat!";
  const first = batchFrame([a, b]);
  assertEquals(first, `${a}\n${b}`);
  assertOk(batchFrame([a, b]) === first);
  assertEquals(batchFrame([b, a]), `${b}\n${a}`, "another order is another frame");
  assertEquals(batchFrame([a, b, a]), `${a}\n${b}\n${a}`);
  assertEquals(batchFrame([b]), b);
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
